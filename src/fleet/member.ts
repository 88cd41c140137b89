import { log } from '../proxy/log.ts';
import type { ControlsChange, FleetControls } from './controls.ts';
import type { FleetStore, FleetView, LiveProxy, ProxyHeartbeat } from './heartbeat.ts';

/** Who this proxy is; fixed for its lifetime. */
export type ProxyIdentity = Pick<
  ProxyHeartbeat,
  'id' | 'host' | 'listen' | 'peer' | 'shiftgateVersion' | 'pid' | 'startedAt'
>;

export interface FleetMemberOptions {
  /** The upstream database the fleet serves (rows of other databases' fleets are not ours). */
  scope: string;
  identity: ProxyIdentity;
  /** Opens a fleet store on a connection of its own (never one that carries client traffic). */
  connect: () => Promise<FleetStore>;
  /** This proxy's state now: read at every heartbeat. */
  snapshot: () => Pick<ProxyHeartbeat, 'sessions' | 'latency' | 'running'>;
  intervalMs: number;
  /** A heartbeat older than this is a proxy gone. */
  timeoutMs: number;
  /**
   * The fleet's controls as read at each heartbeat; `changed` when their
   * revision moved since the last read (the first read counts as a change).
   */
  onControls?: (controls: FleetControls, changed: boolean) => void;
}

/** Gone proxies' rows are deleted this many timeouts after their last heartbeat, every tenth beat. */
const SWEEP_AFTER_TIMEOUTS = 3;
const SWEEP_EVERY_BEATS = 10;
/** How many heartbeat intervals a fresh view waits for the other proxies' next heartbeats. */
const FRESH_WAIT_INTERVALS = 3;
/** SIGTERM waits at most this long for the last heartbeat and the removal of the row. */
const STOP_TIMEOUT_MS = 2000;

/**
 * This proxy as a member of the fleet: writes its heartbeat every
 * `intervalMs` and answers what the live proxies are. Runs beside the relay
 * and never in its way: its own connection, timers that keep no process
 * alive, every failure logged (once per streak) and retried at the next
 * beat, none fatal.
 */
export class FleetMember implements FleetView {
  private store: FleetStore | null = null;
  private connecting: Promise<FleetStore> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  private failing = false;
  private beats = 0;
  private controlsRevision: number | null = null;
  /** The live proxies as of the last successful heartbeat (metrics, dashboard and throttle read this). */
  lastView: LiveProxy[] = [];
  /** When `lastView` was read (performance.now()): its heartbeat ages were measured then. */
  private viewReadAt = performance.now();

  constructor(private readonly options: FleetMemberOptions) {}

  get id(): string {
    return this.options.identity.id;
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = null;
        if (!this.stopped) this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** The store, connected (and its table created) first when there is none. */
  private connected(): Promise<FleetStore> {
    if (this.store && !this.store.lost) return Promise.resolve(this.store);
    this.connecting ??= (async () => {
      const old = this.store;
      this.store = null;
      await old?.close().catch(() => {});
      const next = await this.options.connect();
      try {
        await next.init();
      } catch (err) {
        await next.close().catch(() => {});
        throw err;
      }
      this.store = next;
      return next;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async beat(): Promise<void> {
    const { scope, identity, timeoutMs } = this.options;
    try {
      const store = await this.connected();
      await store.beat(scope, { ...identity, ...this.options.snapshot() });
      this.see(await store.live(scope, timeoutMs));
      const controls = await store.controls(scope);
      if (controls && this.options.onControls) {
        const changed = controls.revision !== this.controlsRevision;
        this.controlsRevision = controls.revision;
        this.options.onControls(controls, changed);
      }
      if (++this.beats % SWEEP_EVERY_BEATS === 0) await store.sweep(scope, timeoutMs * SWEEP_AFTER_TIMEOUTS);
      if (this.failing) log.info('fleet heartbeat written again', { proxy: identity.id });
      this.failing = false;
    } catch (err) {
      const fields = { proxy: identity.id, error: (err as Error).message };
      if (this.failing) log.debug('fleet heartbeat failed again', fields);
      else log.warn('fleet heartbeat failed; retrying every beat', fields);
      this.failing = true;
    }
  }

  /** The live proxies now (this one included once it has written a heartbeat), read from the store. */
  async live(): Promise<LiveProxy[]> {
    const store = await this.connected();
    const view = await store.live(this.options.scope, this.options.timeoutMs);
    this.see(view);
    return view;
  }

  private see(view: LiveProxy[]): void {
    this.lastView = view;
    this.viewReadAt = performance.now();
  }

  /** Milliseconds since `lastView` was read: add it to a heartbeat's age there for its age now. */
  viewAgeMs(): number {
    return performance.now() - this.viewReadAt;
  }

  /**
   * Waits (at most a few heartbeat intervals) until every other live proxy
   * has beaten since the first read, or is gone. A proxy that stays silent
   * that long keeps its last heartbeat in the answer until it times out.
   */
  async fresh(): Promise<LiveProxy[]> {
    let view = await this.live();
    const before = new Map(view.filter((p) => p.id !== this.id).map((p) => [p.id, p.heartbeatAt.getTime()]));
    const deadline = Date.now() + this.options.intervalMs * FRESH_WAIT_INTERVALS;
    const stale = () =>
      [...before].some(([id, at]) => {
        const now = view.find((p) => p.id === id);
        return now !== undefined && now.heartbeatAt.getTime() <= at;
      });
    while (stale() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(100, this.options.intervalMs)));
      view = await this.live();
    }
    return view;
  }

  async changeControls(change: ControlsChange): Promise<void> {
    const store = await this.connected();
    await store.changeControls(this.options.scope, change);
  }

  /** Stops the heartbeat and removes this proxy's row, so the fleet forgets it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const leave = async () => {
      await this.beating;
      await this.connecting?.catch(() => {});
      if (!this.store || this.store.lost) return;
      await this.store.remove(this.options.scope, this.options.identity.id);
    };
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      leave().catch((err: Error) =>
        log.warn('fleet row not removed; it expires with its heartbeat', { error: err.message }),
      ),
      new Promise<void>((resolve) => {
        bound = setTimeout(resolve, STOP_TIMEOUT_MS);
        bound.unref();
      }),
    ]);
    clearTimeout(bound);
    await this.store?.close().catch(() => {});
    this.store = null;
  }
}
