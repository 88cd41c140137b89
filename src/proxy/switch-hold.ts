import { performance } from 'node:perf_hooks';
import type { SwitchGate, SwitchInfo, SwitchLease } from '../migrations/switch-gate.ts';
import { TouchMatcher } from '../versions/touch-matcher.ts';
import { type ClientError, clientError } from './client-error.ts';
import type { ProxySession, SessionInfo } from './session.ts';

/** How a held statement ends: go on (translated by the map then in force), or fail with this error. */
export type HoldOutcome = ClientError | null;

interface Waiter {
  session: SessionInfo;
  resolve: (outcome: HoldOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * Statements on the tables of a migration whose switch (the contract or
 * rollback transaction) is under way, held back until this proxy has the
 * version map of the schema that comes out of it.
 *
 * Between the commit of the switch and the moment the new map is in force,
 * a statement translated by the old map would reach the new physical
 * schema and fail; one sent while the switch waits for its locks would
 * queue behind it and fail the same way once it commits. Held, it is
 * translated after the release instead. Every wait is bounded: a statement
 * held `boundMs` gets a retryable error, and the hold itself ends
 * `boundMs` after it began whatever happens to the switch (a runner that
 * died mid-switch must not leave clients waiting).
 */
export class SwitchHold {
  private readonly matcher: TouchMatcher;
  private readonly waiters = new Set<Waiter>();
  /** performance.now() at which the hold ends on its own (unless pinned). */
  readonly deadline: number;
  private expiry: NodeJS.Timeout;
  private readonly expire: () => void;
  private ended = false;
  /**
   * Sessions whose open transaction held a lock on the tables when the
   * hold began, each with its count of ended transactions then: until that
   * transaction ends, the switch waits for it, so holding its statements
   * would only deadlock. Null until known (then every statement waits).
   */
  private exempt: ReadonlyMap<number, number> | null = null;

  constructor(
    readonly migration: string,
    /** Logical and physical names of the switching tables, in every version. */
    readonly tables: ReadonlySet<string>,
    private readonly boundMs: number,
    /** Called once when the hold ends by itself at its deadline. */
    onExpired: (hold: SwitchHold) => void,
  ) {
    this.matcher = new TouchMatcher(tables);
    this.deadline = performance.now() + boundMs;
    this.expire = () => {
      this.fail();
      onExpired(this);
    };
    this.expiry = setTimeout(this.expire, boundMs);
    this.expiry.unref();
  }

  /** True when `sql` may name a switching table (false positives only cost a short wait). */
  touches(sql: string): boolean {
    return this.matcher.test(sql);
  }

  /** Released, failed or expired: statements on the tables flow. */
  get hasEnded(): boolean {
    return this.ended;
  }

  get held(): number {
    return this.waiters.size;
  }

  /** True while `session`'s transaction is one the switch waits for: its statements are not held. */
  exempts(session: SessionInfo): boolean {
    return this.exempt?.get(session.id) === session.transactionsEnded;
  }

  /**
   * The transactions holding locks on the tables are known (when the server
   * cannot tell, every transaction open now is taken as one). Their
   * statements held meanwhile go on: the switch cannot commit before they
   * end. A transaction begun later is held like any statement.
   */
  exemptTransactions(holders: readonly SessionInfo[]): void {
    this.exempt = new Map(holders.map((s) => [s.id, s.transactionsEnded]));
    for (const w of this.waiters) {
      if (!w.session.inTransaction || !this.exempts(w.session)) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(null);
    }
  }

  /** Waits for the release; resolves with the error when the bound passes first. */
  wait(session: SessionInfo): Promise<HoldOutcome> {
    if (this.ended) return Promise.resolve(null);
    return new Promise<HoldOutcome>((resolve) => {
      const waiter: Waiter = {
        session,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(this.timeoutError());
        }, this.boundMs),
      };
      waiter.timer.unref();
      this.waiters.add(waiter);
    });
  }

  /**
   * The switch cannot go back: the hold no longer ends at its deadline but
   * when the switch ends, or after `backstopMs` should nobody end it. Each
   * statement held still gets its retryable error at the bound.
   */
  pin(backstopMs: number): void {
    if (this.ended) return;
    // The switch's first action had the tables to itself, so no transaction exempted then holds a
    // lock on them now; one that takes its first lock from here on would meet the next action's
    // schema with the old translation: held, like any statement.
    this.exempt = new Map();
    clearTimeout(this.expiry);
    this.expiry = setTimeout(this.expire, backstopMs);
    this.expiry.unref();
  }

  /** Takes over the statements another hold of the same switch still holds (a retried switch). */
  adopt(other: SwitchHold): void {
    for (const w of other.waiters) this.waiters.add(w);
    other.waiters.clear();
    other.end();
  }

  /** The new schema (or the old one, when the switch did not happen) is in force: held statements go on. */
  release(): void {
    this.finish(null);
  }

  /** Ends the hold with the retryable error for every statement still held. */
  fail(): void {
    this.finish(this.timeoutError());
  }

  private finish(outcome: HoldOutcome): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    this.end();
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve(outcome);
    }
  }

  private end(): void {
    this.ended = true;
    clearTimeout(this.expiry);
  }

  private timeoutError(): ClientError {
    const names = [...this.tables].sort().join(', ');
    return clientError(
      'lockNotAvailable',
      `Shiftgate held this statement for up to ${this.boundMs} ms while migration "${this.migration}" switched the schema of ${names}, and the switch did not finish in time; the statement was not run, retry it`,
      'retry the statement (or the transaction); the proxy setting proxy.switch_hold_ms bounds this wait',
    );
  }
}

/**
 * Longest wait, at the start of a hold, for client statements already sent
 * to be answered: one that reached the server after the switch's lock
 * request would queue behind it and fail once it commits. A long-running
 * one is left to the switch's lock timeout (and its transaction, if any,
 * is seen holding its locks).
 */
const IN_FLIGHT_WAIT_MS = 250;

/**
 * Longest wait, at the start of a hold the server cannot name lock holders
 * for, for the transactions open then to end. A longer one is left to the
 * switch's lock timeout, which rolls the attempt back and retries.
 */
const OPEN_TRANSACTION_WAIT_MS = 500;

/** Settles once each of `open` has ended the transaction it had (or after `maxMs`). */
async function transactionsEnded(open: readonly SessionInfo[], maxMs: number): Promise<void> {
  const ended = open.map((s) => s.transactionsEnded);
  const until = performance.now() + maxMs;
  const stillOpen = () => open.some((s, i) => s.inTransaction && s.transactionsEnded === ended[i]);
  while (stillOpen() && performance.now() < until) await new Promise((r) => setTimeout(r, 2));
}

/** What the gate needs of the proxy: the router that holds, the sessions, and a fresh read of the state store. */
export interface SwitchGateTarget {
  router: SwitchingRouter;
  registry: { list(): ProxySession[] };
  /** Settles after a read of the state store that began after the call (and after the new map, if any, is in force). */
  refresh(): Promise<void>;
}

interface SwitchingRouter {
  beginSwitch(migration: string, tables: readonly string[]): SwitchHold;
  endSwitch(hold: SwitchHold): void;
}

interface ProxyLease extends SwitchLease {
  hold: SwitchHold;
}

/**
 * A pinned hold (a switch that cannot go back) ends when the switch does;
 * should the runner hang mid-switch, this bounds it. Each statement held
 * still gets its retryable error after `proxy.switch_hold_ms`.
 */
const PINNED_HOLD_BACKSTOP_MS = 60_000;

/**
 * The switch gate of the proxy the engine runs in: the router holds the
 * migration's tables for the attempt, except for the transactions the
 * server reports holding locks on them (the switch waits for those, and
 * they must be able to finish); after it, the state store is read
 * again (a committed switch installs its new map, which releases the held
 * statements translated by it) and whatever is still held goes on with the
 * map in force, which an attempt that rolled back left unchanged.
 */
export class ProxySwitchGate implements SwitchGate {
  constructor(private readonly target: SwitchGateTarget) {}

  async hold(info: SwitchInfo): Promise<SwitchLease> {
    const hold = this.target.router.beginSwitch(info.migration, info.tables);
    const sessions = this.target.registry.list();
    const answered: Promise<void>[] = [];
    for (const session of sessions) {
      const p = session.requestsAnswered?.();
      if (p) answered.push(p);
    }
    if (answered.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(answered),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, IN_FLIGHT_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    // Asked after the statements in flight were answered, so locks they took are counted.
    const holders = await info.lockHolders?.().catch(() => null);
    const open = sessions.map((s) => s.info).filter((s) => s.inTransaction);
    if (holders) {
      const pids = new Set(holders);
      hold.exemptTransactions(open.filter((s) => s.backendId !== null && pids.has(s.backendId)));
    } else {
      // Without the server's word every open transaction is taken as a holder, and the switch starts
      // once they have ended: one that takes its first lock on the tables after the switch's first
      // statement (MySQL DDL commits statement by statement) would meet the next with the old schema.
      hold.exemptTransactions(open);
      await transactionsEnded(open, OPEN_TRANSACTION_WAIT_MS);
    }
    const lease: ProxyLease = { deadline: hold.deadline, hold };
    return lease;
  }

  pin(info: SwitchInfo, lease: SwitchLease): void {
    const proxyLease = lease as ProxyLease;
    // Past its deadline the hold has let statements flow again: hold anew, the switch is under way.
    if (proxyLease.hold.hasEnded)
      proxyLease.hold = this.target.router.beginSwitch(info.migration, info.tables);
    proxyLease.hold.pin(PINNED_HOLD_BACKSTOP_MS);
  }

  end(_info: SwitchInfo, lease: SwitchLease): void {
    const { hold } = lease as ProxyLease;
    this.target.refresh().then(
      () => this.target.router.endSwitch(hold),
      // Without a fresh read nothing says which schema is in force: the hold's bound ends it.
      () => {},
    );
  }
}
