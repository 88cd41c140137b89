/**
 * The phase runner and the programmatic API of the migration engine, used by
 * the CLI (`shiftgate migrate ...`), the admin console and the proxy.
 *
 *   pending -> expanding -> backfilling -> validating -> active
 *           -> contracting -> completed
 *   (any phase before contracting) -> rolling_back -> rolled_back
 *
 * Every transition is written to the state store before its work starts
 * (phase, done = false) and after it ends (done = true), and each action
 * advances a step counter, so a runner killed anywhere resumes where it
 * stopped; every action is idempotent, so redoing the interrupted one is
 * safe. The switch (contracting, rolling back) commits all its actions and
 * its final phase together where the database has transactional DDL. A
 * session-level advisory lock keeps a second runner out.
 */
import { performance } from 'node:perf_hooks';
import { type NameResolution, NO_HOMONYMS } from '../versions/name-resolution.ts';
import {
  type BackfillProgress,
  type BatchSizing,
  DEFAULT_SIZING,
  progressOf,
  runBackfill,
} from './backfill.ts';
import {
  backoffDelay,
  DEFAULT_LOCK_POLICY,
  type LockPolicy,
  type MigrationConnection,
  type MigrationDialect,
  type RetryNotice,
  type Statement,
} from './dialect.ts';
import {
  LockTimeoutError,
  MigrationError,
  MigrationLockedError,
  MigrationStateError,
  MigrationStepError,
} from './errors.ts';
import type { Migration } from './format.ts';
import type { SchemaModel } from './model.ts';
import { parseMigration } from './parse.ts';
import { type MigrationPlan, type PlannedAction, planMigration } from './planner.ts';
import type { MigrationRecord, Phase } from './state.ts';
import type { SwitchGate, SwitchInfo, SwitchLease } from './switch-gate.ts';
import { type BackfillThrottle, passThroughThrottle } from './throttle.ts';
import { describePlan, type VersionHistory, versionHistory } from './version-history.ts';

/**
 * A switch attempt still uncommitted this close to its lease's end rolls
 * back and tries again: the proxies stop holding at the deadline, and the
 * COMMIT itself takes a moment.
 */
const SWITCH_COMMIT_MARGIN_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type SwitchPhase = Extract<Phase, 'contracting' | 'rolling_back'>;

/**
 * Actions after which a client statement translated for the schema before
 * them fails or loses a write: the sync triggers go (an old-version write
 * no longer reaches the new column), a column or table goes or takes its
 * new name.
 */
const SWITCHING_KINDS: ReadonlySet<PlannedAction['action']['kind']> = new Set([
  'remove_sync',
  'drop_column',
  'drop_table',
  'rename_column',
  'rename_table',
]);

/**
 * Where a switch phase's switching tail begins on an engine without
 * transactional DDL: the first action that changes what a client statement
 * meets. From there to the end the proxies hold statements on the
 * migration's tables, so none meets a half-switched schema; the actions
 * before it (setting NOT NULL, which the planner puts first) run outside.
 */
export function switchingTail(list: readonly PlannedAction[]): number {
  const at = list.findIndex((planned) => SWITCHING_KINDS.has(planned.action.kind));
  return at < 0 ? list.length : at;
}

/** JSON with sorted keys: the state store's jsonb does not keep key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export interface EngineOptions {
  /** The database, as the dialect's driver connects to it. */
  url: string;
  /**
   * The engine's driver, chosen by the caller (the composition root resolves
   * it from the URL with `migrationDialectFor` in src/dialects): the engine
   * sits below the dialects and never looks them up itself.
   */
  dialect: MigrationDialect;
  /** The database schema migrations apply to (default: the dialect's, `public` on PostgreSQL, the URL's database on MySQL). */
  schema?: string;
  lock?: Partial<LockPolicy>;
  /** Batch sizing (config `throttle.target_batch_ms`, `min_batch`, `max_batch`). */
  sizing?: Partial<BatchSizing>;
  throttle?: BackfillThrottle;
  onEvent?: (event: EngineEvent) => void;
  /** The proxies' hold around the switch (contract / rollback transaction); see SwitchGate. */
  switchGate?: SwitchGate;
  /**
   * Who runs this engine (a proxy's fleet id), asked each time it takes the
   * migration lock to carry a migration on: recorded as a `lease` event, so
   * the migration's record shows which runner did what, and every handover.
   */
  runner?: () => string;
  /**
   * Test hook, never set in production: awaited at each point of a phase
   * where a crash leaves a distinct state behind (after an action ran but
   * before its step is recorded, after the last step, after the phase is
   * recorded done), numbered from 1 within each run of a phase. The crash
   * tests SIGKILL the process while it waits here.
   */
  crashPointForTests?: (at: { phase: Phase; boundary: number }) => unknown;
}

export type EngineEvent =
  | { type: 'phase'; migration: string; phase: Phase; state: 'begin' | 'end' }
  | { type: 'action'; migration: string; phase: Phase; op: number; kind: string; sql: string[] }
  | { type: 'retry'; migration: string; phase: Phase; notice: RetryNotice }
  | { type: 'batch'; migration: string; progress: BackfillProgress }
  | { type: 'error'; migration: string; phase: Phase; error: Error }
  /** This engine took the migration lock to carry `migration` on from `phase`. */
  | { type: 'lease'; migration: string; phase: Phase; runner: string | null };

export interface MigrationStatus {
  name: string;
  schema: string;
  parent: string | null;
  phase: Phase;
  phaseDone: boolean;
  error: string | null;
  createdAt: Date;
  activeAt: Date | null;
  completedAt: Date | null;
  /** Client latency before / during / after, as the proxy that ran the migration recorded it. */
  latencyReport: unknown;
  backfill: BackfillProgress[];
}

export interface DryRunAction {
  op: number;
  kind: string;
  /** The statements the action runs, in order. */
  sql: string[];
}

/** What every phase of a migration would run, without running anything. */
export interface DryRun {
  migration: string;
  plan: MigrationPlan;
  start: DryRunAction[];
  backfill: { table: string; key: string[]; sql: string }[];
  verify: DryRunAction[];
  complete: DryRunAction[];
  rollback: DryRunAction[];
}

export interface StartOptions {
  /** Aborting stops the backfill between batches; `start` resumes it later. */
  signal?: AbortSignal;
}

/**
 * Runs migrations against one database schema.
 *
 * @example
 * const engine = await MigrationEngine.connect({ url, dialect: migrationDialectFor(url) });
 * await engine.start(loadMigrationFile('migrations/02_add_email.yaml'));
 * // ... deploy the new application version ...
 * await engine.complete();
 * await engine.close();
 */
export class MigrationEngine {
  readonly schema: string;
  private readonly policy: LockPolicy;
  private readonly sizing: BatchSizing;
  private readonly throttle: BackfillThrottle;

  private constructor(
    readonly dialect: MigrationDialect,
    private readonly conn: MigrationConnection,
    private readonly options: EngineOptions,
  ) {
    this.schema = options.schema ?? dialect.defaultSchema(options.url);
    this.policy = { ...DEFAULT_LOCK_POLICY, ...options.lock };
    this.sizing = { ...DEFAULT_SIZING, ...options.sizing };
    this.throttle = options.throttle ?? passThroughThrottle;
  }

  static async connect(options: EngineOptions): Promise<MigrationEngine> {
    const dialect = options.dialect;
    const conn = await dialect.connect(options.url);
    return new MigrationEngine(dialect, conn, options);
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  /** The engine's database connection is gone: a new engine must be connected to carry on. */
  get connectionLost(): boolean {
    return this.conn.lost;
  }

  private boundary = 0;

  private async crashPoint(phase: Phase): Promise<void> {
    await this.options.crashPointForTests?.({ phase, boundary: ++this.boundary });
  }

  private emit(event: EngineEvent): void {
    this.options.onEvent?.(event);
  }

  private async locked<T>(work: () => Promise<T>): Promise<T> {
    if (!(await this.conn.tryLock(this.schema))) throw new MigrationLockedError(this.schema);
    try {
      return await work();
    } finally {
      await this.conn.unlock(this.schema).catch(() => {});
    }
  }

  /** Records and announces that this engine now carries `record` on (it holds the migration lock). */
  private async leased(record: MigrationRecord): Promise<void> {
    const runner = this.options.runner?.() ?? null;
    if (runner !== null) {
      await this.conn.state.event(this.schema, record.name, record.phase, 'lease', { runner });
    }
    this.emit({ type: 'lease', migration: record.name, phase: record.phase, runner });
  }

  private plan(migration: Migration, before: SchemaModel): MigrationPlan {
    return planMigration(migration, before, this.dialect.capabilities);
  }

  private replan(record: MigrationRecord): MigrationPlan {
    return this.plan(parseMigration(record.migration, `${record.name}.json`), record.schemaBefore);
  }

  /** The live schema model (read only). */
  introspect(): Promise<SchemaModel> {
    return this.conn.introspect(this.schema);
  }

  /** Other schemas' relations named like `names`, and default search paths (read only). */
  async nameResolution(names: readonly string[]): Promise<NameResolution> {
    return (await this.conn.nameResolution?.(this.schema, names)) ?? NO_HOMONYMS;
  }

  /** Validates `migration` against the live schema and renders every phase. Touches nothing. */
  async dryRun(migration: Migration): Promise<DryRun> {
    const before = await this.conn.introspect(this.schema);
    const plan = this.plan(migration, before);
    const render = (list: PlannedAction[]): DryRunAction[] =>
      list.map((p) => ({
        op: p.op,
        kind: p.kind,
        sql: this.dialect.render(p.action, this.schema).map((s) => s.sql),
      }));
    return {
      migration: migration.name,
      plan,
      start: render(plan.start),
      backfill: plan.backfill.map((t) => ({
        table: t.table,
        key: t.key,
        sql: this.dialect.describeBackfill(t, this.schema),
      })),
      verify: render(plan.verify),
      complete: render(plan.complete),
      rollback: render(plan.rollback),
    };
  }

  /**
   * Starts `migration` and runs it to `active` (expand, backfill, validate),
   * or resumes it when it was interrupted. Validation errors are thrown
   * before anything is written to the database.
   */
  async start(migration: Migration, options: StartOptions = {}): Promise<MigrationStatus> {
    return this.locked(async () => {
      const state = this.conn.state;
      let record = await state.get(this.schema, migration.name);
      if (record?.phase === 'rolled_back') record = null;
      if (record?.phase === 'completed')
        throw new MigrationStateError(
          migration.name,
          record.phase,
          `migration "${migration.name}" is already completed`,
        );
      if (record && (record.phase === 'contracting' || record.phase === 'rolling_back'))
        throw new MigrationStateError(
          migration.name,
          record.phase,
          `migration "${migration.name}" is ${record.phase}; finish it with ${record.phase === 'contracting' ? 'complete' : 'rollback'}`,
        );
      if (record && canonical(record.migration) !== canonical(migration.raw))
        throw new MigrationStateError(
          migration.name,
          record.phase,
          `migration "${migration.name}" was started from a different file; roll it back before changing it`,
        );
      const other = await state.inFlight(this.schema);
      if (other && other.name !== migration.name)
        throw new MigrationStateError(
          other.name,
          other.phase,
          `migration "${other.name}" is ${other.phase}; complete or roll it back before starting "${migration.name}"`,
        );
      let plan: MigrationPlan;
      if (!record) {
        const before = await this.conn.introspect(this.schema);
        plan = this.plan(migration, before);
        await state.init();
        await state.remove(this.schema, migration.name);
        await state.create({
          schema: this.schema,
          name: migration.name,
          parent: await state.latestCompleted(this.schema),
          migration: migration.raw,
          schemaBefore: before,
        });
        record = (await state.get(this.schema, migration.name))!;
      } else {
        plan = this.replan(record);
      }
      await this.leased(record);
      await this.forward(record, plan, options.signal);
      return (await this.statusOf(migration.name))!;
    });
  }

  /** Continues the migration in flight from its stored phase, whichever direction it was going. */
  async resume(options: StartOptions = {}): Promise<MigrationStatus | null> {
    // The record is read under the lock: another runner may finish or roll it back while this one waits.
    return this.locked(async () => {
      const record = await this.conn.state.inFlight(this.schema);
      if (!record) return null;
      await this.leased(record);
      if (record.phase === 'contracting') return this.contract();
      if (record.phase === 'rolling_back') return this.undo();
      await this.forward(record, this.replan(record), options.signal);
      return (await this.statusOf(record.name))!;
    });
  }

  /** Contracts the active migration: the new version becomes the only one. */
  complete(): Promise<MigrationStatus> {
    return this.locked(() => this.contract());
  }

  /** `complete` under the lock. */
  private async contract(): Promise<MigrationStatus> {
    const record = await this.conn.state.inFlight(this.schema);
    if (!record) throw new MigrationStateError(null, null, 'no migration is in flight');
    if (record.phase !== 'active' && record.phase !== 'contracting')
      throw new MigrationStateError(
        record.name,
        record.phase,
        `migration "${record.name}" is ${record.phase}; only an active migration can be completed`,
      );
    // A contract recorded done must not run again: its renames have moved the new columns into the old
    // names, and replaying "drop the old column" would drop them.
    if (record.phase !== 'contracting' || !record.phaseDone) {
      const plan = this.replan(record);
      const step = record.phase === 'contracting' ? record.step : 0;
      await this.phase(record, 'contracting', step, () =>
        this.actions(record, 'contracting', plan.complete, step, () =>
          this.conn.state.setPhase(this.schema, record.name, 'completed', { phaseDone: true }),
        ),
      );
    }
    await this.conn.state.setPhase(this.schema, record.name, 'completed', { phaseDone: true });
    this.emit({ type: 'phase', migration: record.name, phase: 'completed', state: 'end' });
    return (await this.statusOf(record.name))!;
  }

  /** Undoes everything the migration in flight created; the schema ends as it was before it started. */
  rollback(): Promise<MigrationStatus> {
    return this.locked(() => this.undo());
  }

  /** `rollback` under the lock. */
  private async undo(): Promise<MigrationStatus> {
    const record = await this.conn.state.inFlight(this.schema);
    if (!record) throw new MigrationStateError(null, null, 'no migration is in flight');
    if (record.phase === 'contracting')
      throw new MigrationStateError(
        record.name,
        record.phase,
        `migration "${record.name}" is contracting: the old version is already gone; run complete to finish it`,
      );
    const plan = this.replan(record);
    let step = record.phase === 'rolling_back' ? record.step : 0;
    if (record.phase === 'pending' || (record.phase === 'expanding' && !record.phaseDone)) {
      // Undo only the operations whose expand began: a raw `down` must not run for an `up` that never
      // ran. An action commits with its step (raw SQL included), so the one at `step` has not run; an
      // online one may have run in part, and undoing its operation is harmless.
      const next = plan.start[record.step];
      const reached =
        record.phase === 'pending'
          ? -1
          : Math.max(
              record.step > 0 ? plan.start[record.step - 1]!.op : -1,
              next && next.action.kind !== 'raw_sql' ? next.op : -1,
              next ? -1 : Number.POSITIVE_INFINITY,
            );
      // The rollback list undoes the last operation first: the operations not reached are a prefix,
      // skipped by starting after it, so the recorded step stays an index into the same list on restart.
      const first = plan.rollback.findIndex((a) => a.op <= reached);
      step = first < 0 ? plan.rollback.length : first;
    }
    // A rollback recorded done must not run again: a raw `down` would run twice.
    if (record.phase !== 'rolling_back' || !record.phaseDone) {
      await this.phase(record, 'rolling_back', step, () =>
        this.actions(record, 'rolling_back', plan.rollback, step, () =>
          this.conn.state.setPhase(this.schema, record.name, 'rolled_back', { phaseDone: true }),
        ),
      );
    }
    await this.conn.state.setPhase(this.schema, record.name, 'rolled_back', { phaseDone: true });
    this.emit({ type: 'phase', migration: record.name, phase: 'rolled_back', state: 'end' });
    return (await this.statusOf(record.name))!;
  }

  /** The migration in flight, else the latest one; null when there is none. */
  async status(): Promise<MigrationStatus | null> {
    const inFlight = await this.conn.state.inFlight(this.schema);
    if (inFlight) return this.statusOf(inFlight.name);
    const all = await this.conn.state.list(this.schema);
    const last = all.at(-1);
    return last ? this.statusOf(last.name) : null;
  }

  /** Every migration of the schema, oldest first. */
  async history(): Promise<MigrationStatus[]> {
    const all = await this.conn.state.list(this.schema);
    return Promise.all(all.map((r) => this.statusOf(r.name) as Promise<MigrationStatus>));
  }

  /** Calls `listener` whenever any runner, anywhere, changes a migration record. */
  onStateChange(listener: () => void): Promise<void> {
    return this.conn.onStateChange(listener);
  }

  /** The worst replica's replay lag in ms, or null without replicas (the throttle's second signal). */
  replicaLagMs(): Promise<number | null> {
    return this.conn.replicaLagMs();
  }

  /** Keeps the proxy's client latency report with the migration's record. */
  async saveLatencyReport(name: string, report: unknown): Promise<void> {
    await this.conn.state.setLatencyReport(this.schema, name, report);
  }

  /** The schema versions and what each changed: see `version-history.ts`. */
  async versions(): Promise<VersionHistory> {
    return versionHistory(this.schema, await this.conn.state.list(this.schema), this.dialect.capabilities);
  }

  private async statusOf(name: string): Promise<MigrationStatus | null> {
    const r = await this.conn.state.get(this.schema, name);
    if (!r) return null;
    const checkpoints = await this.conn.state.checkpoints(this.schema, name);
    return {
      name: r.name,
      schema: r.schema,
      parent: r.parent,
      phase: r.phase,
      phaseDone: r.phaseDone,
      error: r.error,
      createdAt: r.createdAt,
      activeAt: r.activeAt,
      completedAt: r.completedAt,
      latencyReport: r.latencyReport,
      backfill: checkpoints.map((c) => progressOf(name, c)),
    };
  }

  private async forward(record: MigrationRecord, plan: MigrationPlan, signal?: AbortSignal): Promise<void> {
    const order: Phase[] = ['expanding', 'backfilling', 'validating'];
    const at = order.indexOf(record.phase);
    const from = record.phase === 'pending' ? 0 : at < 0 ? order.length : record.phaseDone ? at + 1 : at;
    for (let i = from; i < order.length; i++) {
      const phase = order[i]!;
      const step = i === at && !record.phaseDone ? record.step : 0;
      await this.phase(record, phase, step, async () => {
        if (phase === 'expanding') await this.actions(record, phase, plan.start, step);
        else if (phase === 'validating') await this.actions(record, phase, plan.verify, step);
        else
          await runBackfill(this.conn, this.schema, record.name, plan.backfill, {
            sizing: this.sizing,
            throttle: this.throttle,
            policy: this.policy,
            signal,
            onBatch: (progress) => this.emit({ type: 'batch', migration: record.name, progress }),
            onRetry: (notice) => this.emit({ type: 'retry', migration: record.name, phase, notice }),
          });
      });
    }
    if (record.phase !== 'active') {
      await this.conn.state.setPhase(this.schema, record.name, 'active', { phaseDone: true });
      this.emit({ type: 'phase', migration: record.name, phase: 'active', state: 'end' });
    }
  }

  /** Persists the transition before and after `work`, and the error when it fails. */
  private async phase(
    record: MigrationRecord,
    phase: Phase,
    step: number,
    work: () => Promise<void>,
  ): Promise<void> {
    const state = this.conn.state;
    this.boundary = 0;
    await state.setPhase(this.schema, record.name, phase, { phaseDone: false, step });
    await state.event(this.schema, record.name, phase, 'begin', { step });
    this.emit({ type: 'phase', migration: record.name, phase, state: 'begin' });
    const t0 = performance.now();
    try {
      await work();
    } catch (err) {
      const error = err as Error;
      await state.update(this.schema, record.name, { error: error.message }).catch(() => {});
      await state.event(this.schema, record.name, phase, 'error', { message: error.message }).catch(() => {});
      this.emit({ type: 'error', migration: record.name, phase, error });
      throw err;
    }
    await this.crashPoint(phase);
    await state.update(this.schema, record.name, { phaseDone: true, error: null });
    await state.event(this.schema, record.name, phase, 'end', { ms: Math.round(performance.now() - t0) });
    await this.crashPoint(phase);
    this.emit({ type: 'phase', migration: record.name, phase, state: 'end' });
  }

  /**
   * Runs `list` from `from` on, recording each step as it commits. In the
   * switch phases (contracting, rolling back) on an engine with
   * transactional DDL, consecutive actions run as one transaction, and
   * `finish` (the phase's final record) commits with the last of them: no
   * client ever sees a half-switched schema, and proxies learn of the new
   * schema from the same commit that makes it. Raw SQL and online
   * statements stay in transactions of their own (raw SQL may refuse a
   * transaction block; CONCURRENTLY cannot run in one). Without
   * transactional DDL the actions commit one by one, and the switching tail
   * (see `switchingTail`) runs inside one hold of the proxies instead.
   */
  private async actions(
    record: MigrationRecord,
    phase: Phase,
    list: PlannedAction[],
    from: number,
    finish?: () => Promise<void>,
  ): Promise<void> {
    const switchPhase = phase === 'contracting' || phase === 'rolling_back';
    const switching = switchPhase && this.dialect.capabilities.transactionalDdl;
    const rendered = list.map((planned) => this.dialect.render(planned.action, this.schema));
    const joinable = (i: number) =>
      switching && list[i]!.action.kind !== 'raw_sql' && rendered[i]!.every((s) => !s.online);
    const gate = this.options.switchGate;
    const tail = switchPhase && !switching && gate ? switchingTail(list) : list.length;
    /** Runs actions [i, end) as one step (one transaction where joined), recorded as it commits. */
    const run = async (i: number, end: number, policy: LockPolicy, committed?: () => void) => {
      for (let k = i; k < end; k++) {
        this.emit({
          type: 'action',
          migration: record.name,
          phase,
          op: list[k]!.op,
          kind: list[k]!.kind,
          sql: rendered[k]!.map((s) => s.sql),
        });
      }
      const statements = rendered.slice(i, end).flat();
      const onRetry = (notice: RetryNotice) => this.retried(record, phase, notice);
      const recordStep = async () => {
        committed?.();
        await this.crashPoint(phase);
        await this.conn.state.update(this.schema, record.name, { step: end });
        if (end === list.length) await finish?.();
      };
      try {
        if (gate && joinable(i)) {
          await this.gatedSwitch(gate, record, phase as SwitchPhase, statements, recordStep);
        } else {
          await this.conn.runAction(statements, policy, onRetry, recordStep);
        }
      } catch (err) {
        if (err instanceof MigrationError) throw err;
        throw new MigrationStepError(record.name, phase, statements.map((s) => s.sql).join(';\n'), err);
      }
    };
    for (let i = from; i < list.length; ) {
      if (i >= tail) {
        await this.gatedTail(gate!, record, phase as SwitchPhase, i, list.length, run);
        return;
      }
      let end = i + 1;
      if (joinable(i)) while (end < list.length && joinable(end)) end++;
      await run(i, end, this.policy);
      i = end;
    }
  }

  /**
   * One switch transaction, each attempt inside a hold of the proxies: they
   * hold new statements on the migration's tables while it waits for its
   * locks and until they have the map of the schema it leaves, so no
   * client statement translated for the old schema meets the new one.
   * Attempts are short (lock timeout per statement, and rolled back when
   * the hold's lease runs out before COMMIT); the proxies let statements
   * flow again between attempts.
   */
  private async gatedSwitch(
    gate: SwitchGate,
    record: MigrationRecord,
    phase: SwitchPhase,
    statements: Statement[],
    recordStep: () => Promise<void>,
  ): Promise<void> {
    await this.underHold(gate, record, phase, '55P03', async (lease, single) => {
      // A short hold bound must still leave an attempt most of it.
      const margin = Math.min(SWITCH_COMMIT_MARGIN_MS, (lease.deadline - performance.now()) / 4);
      await this.conn.runAction(statements, single, undefined, async () => {
        await recordStep();
        if (performance.now() > lease.deadline - margin) {
          throw Object.assign(
            new Error('the proxies stopped holding statements before the switch could commit'),
            {
              code: '55P03',
            },
          );
        }
      });
    });
  }

  /**
   * The switching tail of a phase on an engine without transactional DDL
   * (actions [from, end), each committing on its own), inside one hold of
   * the proxies. Until its first action commits nothing has changed, so a
   * lock timeout there ends the hold and the attempt is tried again after a
   * pause, as a switch transaction is. Once it has committed there is no
   * way back: the hold is pinned (it lasts until the tail ends, while each
   * held statement still gets its retryable error at the bound), and the
   * rest runs under the usual lock policy. The last action's record is the
   * phase's end, so the proxies' fresh read at the end of the hold finds
   * the new schema's map.
   */
  private async gatedTail(
    gate: SwitchGate,
    record: MigrationRecord,
    phase: SwitchPhase,
    from: number,
    end: number,
    run: (i: number, end: number, policy: LockPolicy, committed?: () => void) => Promise<void>,
  ): Promise<void> {
    let began = false;
    await this.underHold(
      gate,
      record,
      phase,
      'lock_timeout',
      async (lease, single, info) => {
        await run(from, from + 1, single, () => {
          began = true;
          gate.pin?.(info, lease);
        });
        for (let i = from + 1; i < end; i++) await run(i, i + 1, this.policy);
      },
      () => !began,
    );
  }

  /**
   * Attempts of a switch, each inside a hold of the proxies: `attempt` runs
   * with a single-attempt lock policy; a lock timeout ends the hold and,
   * while `retryable` says nothing has changed yet, the next attempt follows
   * a pause (the proxies let statements flow in between).
   */
  private async underHold(
    gate: SwitchGate,
    record: MigrationRecord,
    phase: SwitchPhase,
    retryCode: string,
    attempt: (lease: SwitchLease, single: LockPolicy, info: SwitchInfo) => Promise<void>,
    retryable: () => boolean = () => true,
  ): Promise<void> {
    const tables = this.switchTables(record);
    const single: LockPolicy = { ...this.policy, maxAttempts: 1 };
    for (let n = 1; ; n++) {
      const info = this.switchInfo(record, phase, tables, n);
      // The marker other readers of the state store see (the proxies of this process hear it directly).
      await this.conn.state.event(this.schema, record.name, phase, 'switch', { attempt: n, tables });
      const lease = await gate.hold(info);
      try {
        await attempt(lease, single, info);
      } catch (err) {
        gate.end(info, lease);
        if (!(err instanceof LockTimeoutError) || !retryable() || n >= this.policy.maxAttempts) throw err;
        const delayMs = backoffDelay(n, this.policy);
        this.retried(record, phase, { sql: err.statement, attempt: n, delayMs, code: retryCode });
        await sleep(delayMs);
        continue;
      }
      gate.end(info, lease);
      return;
    }
  }

  private switchInfo(
    record: MigrationRecord,
    phase: SwitchPhase,
    tables: string[],
    attempt: number,
  ): SwitchInfo {
    const conn = this.conn;
    return {
      schema: this.schema,
      migration: record.name,
      phase,
      tables,
      attempt,
      ...(conn.lockHolders ? { lockHolders: () => conn.lockHolders!(this.schema, tables) } : {}),
    };
  }

  /** A step is tried again after a pause: told to the listeners and recorded with the migration. */
  private retried(record: MigrationRecord, phase: Phase, notice: RetryNotice): void {
    this.emit({ type: 'retry', migration: record.name, phase, notice });
    void this.conn.state.event(this.schema, record.name, phase, 'retry', notice).catch(() => {});
  }

  /** Every name of the tables the migration changes: logical in both versions, and physical. */
  private switchTables(record: MigrationRecord): string[] {
    const plan = this.replan(record);
    const version = describePlan(record, plan.changes, plan.before, plan.after);
    const names = new Set<string>();
    for (const t of [...version.before, ...version.after]) {
      names.add(t.name);
      names.add(t.physical);
    }
    return [...names];
  }
}
