import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { MigrationDialect } from '../migrations/dialect.ts';
import type {
  BackfillProgress,
  EngineEvent,
  Migration,
  MigrationStatus,
  SwitchGate,
} from '../migrations/index.ts';
import {
  loadMigrationFile,
  MigrationEngine,
  MigrationError,
  MigrationLockedError,
  MigrationStateError,
  MigrationValidationError,
} from '../migrations/index.ts';
import type { Phase } from '../migrations/state.ts';
import type { BackfillThrottle, BatchReport } from '../migrations/throttle.ts';
import { clientError } from '../proxy/client-error.ts';
import { LatencyHistogram } from '../proxy/latency-histogram.ts';
import { type LatencyRecorder, MIN_QUANTILE_SAMPLES } from '../proxy/latency-recorder.ts';
import { log } from '../proxy/log.ts';
import type { ClientP99, ThrottleController } from '../throttle/controller.ts';
import type { LatencyReport } from './latency-report.ts';

/** A client session bound to a version a completing migration retires. */
export interface RetiringSession {
  /** The fleet id of the proxy it is connected to (null: this proxy, outside any fleet). */
  proxy: string | null;
  id: number;
  user: string | null;
  address: string;
  version: string;
}

/** What the console needs to know about sessions to refuse COMPLETE. */
export interface RetiringSessions {
  /** Sessions (other than admin-only ones) of every live proxy bound to a version the completing migration retires. */
  boundToOtherThan(version: string): Promise<RetiringSession[]>;
}

/**
 * Drives migrations for the admin console: one engine runs the phases (the
 * backfill in the background, throttled), another one on its own
 * connection answers status questions so they never queue behind a batch.
 */
export class MigrationControl {
  /**
   * The START / COMPLETE / ROLLBACK being handled, set before its first
   * await: the runner engine has one connection, on which the migration
   * lock re-enters, so two commands must never interleave their work there.
   */
  private command: string | null = null;
  private running: { name: string; abort: AbortController; done: Promise<void> } | null = null;
  private readonly progress = new Map<string, BackfillProgress>();
  /** Latency of client statements while the migration runs, for its report. */
  private during: LatencyHistogram | null = null;
  /**
   * Client latency before the migration this proxy runs started, and the
   * throttle's baseline: measured here at START, or read from the record
   * when this proxy took the migration over. `recorded` once it is in the
   * record, where a runner that takes over after this one finds it.
   */
  private before: {
    migration: string;
    p50: number | null;
    p99: number | null;
    baseline: number | null;
    recorded: boolean;
  } | null = null;
  /** Settles once the baseline of the run this proxy just took the lease for is known: batches wait for it. */
  private baselineKnown: Promise<void> = Promise.resolve();

  /** State-change listeners, registered again on each new status connection. */
  private readonly stateListeners: (() => void)[] = [];
  /** A status connection being opened in place of a lost one, shared by every caller meanwhile. */
  private reopening: Promise<MigrationEngine> | null = null;
  private closing = false;

  private constructor(
    private readonly config: Config,
    private runner: MigrationEngine,
    private reader: MigrationEngine,
    readonly throttle: ThrottleController,
    private readonly latency: LatencyRecorder,
    private readonly worstClientP99: (seconds: number) => ClientP99 | null,
    private readonly onChange: () => void,
    private readonly connectRunner: () => Promise<MigrationEngine>,
    private readonly connectReader: () => Promise<MigrationEngine>,
  ) {}

  static async open(options: {
    config: Config;
    url: string;
    /** The driver for `url` (the composition root picks it: the console does not know the dialects). */
    dialect: MigrationDialect;
    throttle: ThrottleController;
    latency: LatencyRecorder;
    /** The worst client p99 among the live proxies over the last seconds (the throttle's signal). */
    worstClientP99: (seconds: number) => ClientP99 | null;
    /** Called after every phase change this proxy makes. */
    onChange: () => void;
    /** Every backfill batch: its report (size, duration) and the progress after it, for metrics. */
    onBatch?: (report: BatchReport) => void;
    onProgress?: (progress: BackfillProgress) => void;
    /** Every phase this proxy's runner enters, as it enters it (the dashboard's timeline). */
    onPhase?: (migration: string, phase: Phase) => void;
    /** This proxy's hold around each switch (COMPLETE, ROLLBACK). */
    switchGate?: SwitchGate;
    /** This proxy's fleet id, recorded with the migration each time this proxy's runner takes it on. */
    runner?: () => string;
  }): Promise<MigrationControl> {
    let control: MigrationControl | undefined;
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'batch') options.onProgress?.(e.progress);
      if (e.type === 'phase') options.onPhase?.(e.migration, e.phase);
      control?.onEngineEvent(e);
    };
    // The engine reports each batch to the throttle; the same report feeds the batch metrics.
    const throttle: BackfillThrottle = {
      beforeBatch: async (request) => {
        await control?.baselineKnown;
        return options.throttle.beforeBatch(request);
      },
      afterBatch: (report) => {
        options.onBatch?.(report);
        options.throttle.afterBatch(report);
      },
    };
    const sizing = {
      targetBatchMs: options.config.throttle.target_batch_ms,
      minBatch: options.config.throttle.min_batch,
      maxBatch: options.config.throttle.max_batch,
    };
    const { url, dialect } = options;
    const connectRunner = () =>
      MigrationEngine.connect({
        url,
        dialect,
        throttle,
        sizing,
        onEvent,
        switchGate: options.switchGate,
        runner: options.runner,
      });
    const connectReader = () => MigrationEngine.connect({ url, dialect });
    const runner = await connectRunner();
    const reader = await connectReader();
    control = new MigrationControl(
      options.config,
      runner,
      reader,
      options.throttle,
      options.latency,
      options.worstClientP99,
      options.onChange,
      connectRunner,
      connectReader,
    );
    return control;
  }

  /** The migration this proxy's runner is carrying out now (it holds the migration lock then), if any. */
  get runningMigration(): string | null {
    return this.running?.name ?? null;
  }

  /** Replica lag as last polled (the throttle's second signal), null without replicas. */
  replicaLagMs: number | null = null;
  private lagTimer: NodeJS.Timeout | null = null;

  /** Polls replica lag every second on the status connection. */
  startReplicaLagPolling(): void {
    const poll = () => {
      this.read()
        .then((reader) => reader.replicaLagMs())
        .then((lag) => {
          this.replicaLagMs = lag;
        })
        .catch(() => {})
        .finally(() => {
          if (this.lagTimer) this.lagTimer = setTimeout(poll, 1000).unref();
        });
    };
    this.lagTimer = setTimeout(poll, 0).unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.lagTimer) clearTimeout(this.lagTimer);
    this.lagTimer = null;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = null;
    this.running?.abort.abort();
    await this.running?.done;
    await Promise.all([this.runner.close(), this.reader.close()]);
  }

  private onEngineEvent(e: EngineEvent): void {
    if (e.type === 'batch') this.progress.set(`${e.migration}/${e.progress.table}`, e.progress);
    if (e.type === 'phase' && e.state === 'end') this.onChange();
    if (e.type === 'lease') {
      log.info('this proxy runs the migration', { migration: e.migration, phase: e.phase, runner: e.runner });
      this.baselineKnown = this.settleBaseline(e.migration).catch((err: Error) =>
        log.warn('the latency baseline was not recorded with the migration', {
          migration: e.migration,
          error: err.message,
        }),
      );
    }
    if (e.type === 'error')
      log.error('migration step failed', { migration: e.migration, phase: e.phase, error: e.error.message });
  }

  /** Runs one control command, refusing it while another is in progress on this proxy. */
  private async exclusive<T>(command: string, work: () => Promise<T>): Promise<T> {
    if (this.command) {
      throw clientError(
        'objectInUse',
        `${this.command} is in progress on this proxy; ${command} was not run`,
        'wait until it finishes (SHOW SHIFTGATE STATUS), then run the command again',
      );
    }
    this.command = command;
    try {
      return await work();
    } finally {
      this.command = null;
    }
  }

  /** Loads `<migrations>/<name>.yaml|yml|json`; a missing or invalid file is the operator's error. */
  private load(name: string): Migration {
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) {
      throw clientError(
        'invalidParameter',
        `invalid migration name "${name}"`,
        'use the file name without extension',
      );
    }
    const dir = this.config.migrations;
    const file = ['.yaml', '.yml', '.json']
      .map((ext) => join(dir, `${name}${ext}`))
      .find((f) => existsSync(f));
    if (!file) {
      throw clientError(
        'invalidParameter',
        `no migration file "${name}" in ${dir}`,
        `expected ${name}.yaml, ${name}.yml or ${name}.json in the migrations directory`,
      );
    }
    try {
      return loadMigrationFile(file);
    } catch (err) {
      throw asClientError(err);
    }
  }

  /**
   * Validates the file against the live schema (nothing is written when it
   * fails), then runs expand, backfill and validate in the background.
   */
  start(name: string): Promise<MigrationStatus> {
    return this.exclusive(`SHIFTGATE START '${name}'`, () => this.startExclusive(name));
  }

  private async startExclusive(name: string): Promise<MigrationStatus> {
    if (this.running) {
      throw clientError('stateConflict', `migration "${this.running.name}" is still running on this proxy`);
    }
    const migration = this.load(name);
    try {
      await (await this.read()).dryRun(migration);
    } catch (err) {
      throw asClientError(err);
    }
    const inFlight = await (await this.read()).status();
    if (inFlight && isInFlight(inFlight) && inFlight.name !== name) {
      throw clientError(
        'stateConflict',
        `migration "${inFlight.name}" is ${inFlight.phase}`,
        'complete or roll it back before starting another',
      );
    }
    const minute = this.latency.window(BEFORE_S);
    this.before = {
      migration: name,
      p50: minute.quantileMs(0.5, MIN_QUANTILE_SAMPLES),
      p99: minute.quantileMs(0.99, MIN_QUANTILE_SAMPLES),
      // The controller acts on the worst proxy's p99: its baseline is the same measure, taken before.
      baseline: this.worstClientP99(BEFORE_S)?.ms ?? null,
      recorded: false,
    };
    this.throttle.setBaseline(this.before.baseline);
    this.during = new LatencyHistogram();
    this.latency.taps.add(this.during);
    // A runner whose connection a database restart took is replaced before it is given the work.
    await this.run();
    this.launch(name, (signal) => this.runner.start(migration, { signal }));
    // Give the engine a moment to persist the new record, so the answer shows its phase.
    for (let i = 0; i < 50; i++) {
      const status = await (await this.read()).status();
      if (status?.name === name && isInFlight(status)) return status;
      if (!this.running) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const status = await (await this.read()).status();
    if (status?.name === name) return status;
    throw clientError('internal', `migration "${name}" did not start; see the proxy log`);
  }

  /**
   * Runs `work` in the background as this proxy's running migration. A
   * `takeover` that finds the migration lock held by another runner (a live
   * leader elsewhere) ends quietly: nothing was done, nothing changed.
   */
  private launch(
    name: string,
    work: (signal: AbortSignal) => Promise<unknown>,
    options: { takeover?: boolean; finished?: string } = {},
  ): void {
    const abort = new AbortController();
    let lockedOut = false;
    const done = this.runReconnecting(name, work, abort.signal).then(
      () => {
        log.info(options.finished ?? 'migration is active', { migration: name });
      },
      (err: Error) => {
        if (options.takeover && err instanceof MigrationLockedError) {
          lockedOut = true;
          return;
        }
        if (!abort.signal.aborted) log.error('migration failed', { migration: name, error: err.message });
      },
    );
    this.running = {
      name,
      abort,
      done: done.finally(() => {
        if (this.running?.abort === abort) this.running = null;
        if (!lockedOut) this.onChange();
      }),
    };
  }

  /**
   * This proxy's runner has just taken the migration lock for `migration`.
   * After its own START it records the latency before and the baseline
   * with the migration (the record exists by now). A runner that took the
   * migration over (failover, restart) adopts the recorded baseline: it
   * was measured before the backfill began, while a measure taken now
   * would include the backfill's own cost and let it cost more. A record
   * written without one (by an older Shiftgate) leaves the fleet's worst
   * p99 now as the best guess.
   */
  private async settleBaseline(migration: string): Promise<void> {
    const before = this.before;
    if (before?.migration === migration && !before.recorded) {
      await (await this.read()).saveLatencyReport(migration, this.reportWith(null));
      before.recorded = true;
      return;
    }
    const status = await (await this.read()).status();
    const stored = status?.name === migration ? (status.latencyReport as LatencyReport | null) : null;
    const recorded = stored?.throttleBaselineP99Ms;
    // This proxy's own run carrying on (its runner reconnected): same baseline, the pace goes on.
    if (before?.migration === migration && (recorded === undefined || recorded === before.baseline)) return;
    const baseline = recorded !== undefined ? recorded : (this.worstClientP99(BEFORE_S)?.ms ?? null);
    this.before = {
      migration,
      p50: stored?.beforeP50Ms ?? null,
      p99: stored?.beforeP99Ms ?? null,
      baseline,
      recorded: recorded !== undefined,
    };
    this.throttle.setBaseline(baseline);
    // Its report's during: this proxy's clients from the takeover on.
    this.stopDuring();
    this.during = new LatencyHistogram();
    this.latency.taps.add(this.during);
  }

  private leaseTimer: NodeJS.Timeout | null = null;
  private rollbackRequested: string | null = null;

  /**
   * Failover of the migration's runner across the fleet. The runner holds
   * the migration lock (a session-level advisory lock / GET_LOCK) from
   * START until the migration is active, and for COMPLETE and ROLLBACK;
   * when its proxy dies (SIGKILL, host gone, connection cut) the database
   * releases the lock with the session. Every `intervalMs` each proxy that
   * runs nothing itself looks for a migration left in a runner's phase and
   * tries the lock: the one that gets it resumes from the stored phase and
   * checkpoint; while the leader lives the try fails at once.
   */
  startLeaseWatch(intervalMs: number): void {
    const watch = () => {
      this.takeOverOrphan()
        .catch((err: Error) => log.debug('migration lease check failed', { error: err.message }))
        .finally(() => {
          if (this.leaseTimer) this.leaseTimer = setTimeout(watch, intervalMs).unref();
        });
    };
    this.leaseTimer = setTimeout(watch, intervalMs).unref();
  }

  private idle(): boolean {
    // A command in progress may hold the (re-entrant) lock on the runner's connection: never try it then.
    return !this.running && !this.command && !this.closing;
  }

  private async takeOverOrphan(): Promise<void> {
    if (!this.idle()) return;
    const status = await (await this.read()).status();
    if (!status || !RUNNER_PHASES.includes(status.phase) || !this.idle()) return;
    const rollback = this.rollbackRequested === status.name;
    // A step that failed recorded its error: that migration waits for the operator (START again, or
    // ROLLBACK), it lost no runner. A runner that died or lost its connection could record none.
    if (status.error !== null && !rollback) return;
    if (rollback) {
      this.launch(status.name, () => this.runner.rollback(), {
        takeover: true,
        finished: 'migration rolled back',
      });
      return;
    }
    this.launch(status.name, (signal) => this.runner.resume({ signal }), { takeover: true });
  }

  /**
   * Runs `work` on the runner; when the runner's connection is lost under it
   * (the database restarted, the network dropped it), connects a new runner
   * with backoff and resumes the migration from its stored phase and
   * checkpoint. The migration stays this proxy's running one meanwhile, so
   * ROLLBACK and COMPLETE wait for it (or abort it) as for a running one.
   */
  private async runReconnecting(
    name: string,
    work: (signal: AbortSignal) => Promise<unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    let resuming = 0;
    for (;;) {
      try {
        await work(signal);
        return;
      } catch (err) {
        if (signal.aborted || this.closing) throw err;
        // Right after a reconnect the old session may still hold the migration lock until the server
        // notices it is gone (no restart, just a dropped connection): that is waited out too, for a while.
        const lockedAfterReconnect = err instanceof MigrationLockedError && resuming > 0 && resuming < 30;
        if (!this.runner.connectionLost && !lockedAfterReconnect) throw err;
        resuming++;
        if (this.runner.connectionLost) {
          log.warn('the migration runner lost its database connection; resuming from the checkpoint', {
            migration: name,
            error: (err as Error).message,
          });
          await this.reconnectRunner(signal);
        } else {
          log.info('waiting for the lost runner session to release the migration lock', { migration: name });
          await sleep(1000, signal);
        }
        work = (s) => this.runner.resume({ signal: s });
      }
    }
  }

  /** Opens a new runner connection, retrying with capped exponential backoff until it works or `signal` aborts. */
  private async reconnectRunner(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        const next = await this.connectRunner();
        const old = this.runner;
        this.runner = next;
        await old.close();
        log.info('migration runner reconnected', { attempts: attempt });
        return;
      } catch (err) {
        const delay = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
        log.debug('migration runner reconnect failed', { attempt, error: (err as Error).message });
        await sleep(delay, signal);
      }
    }
  }

  /** The runner for a control command, opened again first when its connection was lost (one try). */
  private async run(): Promise<MigrationEngine> {
    if (!this.runner.connectionLost) return this.runner;
    const next = await this.connectRunner();
    const old = this.runner;
    this.runner = next;
    await old.close();
    return next;
  }

  /**
   * The status connection, opened again first when it was lost: a database
   * restart must not leave SHOW SHIFTGATE STATUS failing until the proxy
   * restarts. When the database is still down, the error says so.
   */
  private async read(): Promise<MigrationEngine> {
    if (!this.reader.connectionLost || this.closing) return this.reader;
    this.reopening ??= this.connectReader()
      .then(async (next) => {
        const old = this.reader;
        this.reader = next;
        await old.close();
        for (const listener of this.stateListeners) {
          await next
            .onStateChange(listener)
            .catch((err: Error) =>
              log.warn('state change announcements unavailable', { error: err.message }),
            );
        }
        // Announcements missed while the connection was down: listeners read the state again.
        for (const listener of this.stateListeners) listener();
        return next;
      })
      .finally(() => {
        this.reopening = null;
      });
    return this.reopening;
  }

  /** Calls `listener` whenever any runner changes a migration record, across reconnects of the status connection. */
  async onStateChange(listener: () => void): Promise<void> {
    this.stateListeners.push(listener);
    await (await this.read()).onStateChange(listener);
  }

  /** The status engine (read-only questions), reconnected first when its connection was lost. */
  readEngine(): Promise<MigrationEngine> {
    return this.read();
  }

  /** After a restart: carry on with a migration that was interrupted between expand and active. */
  async resumeInterrupted(): Promise<void> {
    const status = await (await this.read()).status();
    if (!status || !['pending', 'expanding', 'backfilling', 'validating'].includes(status.phase)) return;
    log.info('resuming an interrupted migration', { migration: status.name, phase: status.phase });
    this.during = new LatencyHistogram();
    this.latency.taps.add(this.during);
    // Another proxy of the fleet may be running it: then the lock is taken and this ends quietly.
    this.launch(status.name, (signal) => this.runner.resume({ signal }), { takeover: true });
  }

  pause(): void {
    this.throttle.pause();
  }

  resume(): void {
    this.throttle.resume();
  }

  /** Contracts the migration in flight; refused while sessions are bound to the version it retires. */
  complete(force: boolean, sessions: RetiringSessions): Promise<MigrationStatus> {
    return this.exclusive(`SHIFTGATE COMPLETE${force ? ' FORCE' : ''}`, () =>
      this.completeExclusive(force, sessions),
    );
  }

  private async completeExclusive(force: boolean, sessions: RetiringSessions): Promise<MigrationStatus> {
    const status = await (await this.read()).status();
    if (!status || !isInFlight(status)) throw clientError('stateConflict', 'no migration is in flight');
    if (status.phase !== 'active' && status.phase !== 'contracting') {
      throw clientError(
        'stateConflict',
        `migration "${status.name}" is ${status.phase}`,
        'wait until SHOW SHIFTGATE STATUS shows it active (backfill and validation done)',
      );
    }
    const old = force ? [] : await sessions.boundToOtherThan(status.name);
    if (old.length > 0) {
      const list = old
        .slice(0, 10)
        .map(
          (s) =>
            `#${s.id} ${s.user ?? '?'}@${s.address} (version ${s.version}${s.proxy === null ? '' : `, proxy ${s.proxy}`})`,
        )
        .join(', ');
      throw clientError(
        'objectInUse',
        `${old.length} session(s) are still bound to the version "${status.name}" retires: ${list}${old.length > 10 ? ', ...' : ''}`,
        'disconnect them or bind them to the new version, or run SHIFTGATE COMPLETE FORCE',
      );
    }
    await this.running?.done;
    let done: MigrationStatus;
    try {
      done = await (await this.run()).complete();
    } catch (err) {
      throw asClientError(err);
    }
    await this.finishReport(done);
    this.onChange();
    return done;
  }

  /**
   * Undoes the migration in flight, stopping its backfill first. With
   * `requestOnFleet`, the request is recorded for the fleet first: when
   * another proxy's runner holds the migration lock, that runner stops and
   * rolls back at its next heartbeat (or whichever proxy takes the lock
   * over), and this waits until the record says rolled back.
   */
  rollback(options: { requestOnFleet?: (name: string) => Promise<void> } = {}): Promise<MigrationStatus> {
    return this.exclusive('SHIFTGATE ROLLBACK', () => this.rollbackExclusive(options.requestOnFleet));
  }

  private async rollbackExclusive(
    requestOnFleet?: (name: string) => Promise<void>,
  ): Promise<MigrationStatus> {
    let requested: string | null = null;
    if (requestOnFleet) {
      const inFlight = await this.status();
      if (inFlight) {
        await requestOnFleet(inFlight.name).then(
          () => {
            requested = inFlight.name;
          },
          (err: Error) => log.warn('rollback request not recorded for the fleet', { error: err.message }),
        );
      }
    }
    if (this.running) {
      this.running.abort.abort();
      this.throttle.resume();
      await this.running.done;
    }
    let done: MigrationStatus;
    try {
      done = await (await this.run()).rollback();
    } catch (err) {
      if (!(err instanceof MigrationLockedError) || requested === null) throw asClientError(err);
      done = await this.rolledBackElsewhere(requested);
    }
    // A rolled-back migration keeps its latency report too: what it cost while it ran, and the minute after.
    if (this.during) {
      await this.finishReport(done).catch((err: Error) =>
        log.warn('latency report not saved', { migration: done.name, error: err.message }),
      );
    }
    this.onChange();
    return done;
  }

  /** Waits until another proxy's runner has rolled `name` back (it applies the request at its next heartbeat). */
  private async rolledBackElsewhere(name: string): Promise<MigrationStatus> {
    const deadline = Date.now() + ROLLBACK_ELSEWHERE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const record = (await (await this.read()).history()).find((s) => s.name === name);
      if (record?.phase === 'rolled_back') return record;
      if (!record || record.phase === 'completed')
        throw clientError(
          'stateConflict',
          `migration "${name}" is ${record?.phase ?? 'gone'}; nothing to roll back`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    throw clientError(
      'objectInUse',
      `the rollback of "${name}" is recorded, but the proxy running it has not carried it out within ${ROLLBACK_ELSEWHERE_TIMEOUT_MS / 1000} s`,
      'it still will (or the proxy that takes the migration over); SHOW SHIFTGATE STATUS shows the phase',
    );
  }

  /**
   * The migration whose rollback the fleet asked for (null: none), as read
   * at each heartbeat. The runner carrying it on stops and rolls it back;
   * a proxy taking an orphaned migration over rolls it back instead of
   * resuming it.
   */
  setRollbackRequest(name: string | null): void {
    this.rollbackRequested = name;
    if (name !== null && this.running?.name === name && !this.command) {
      log.info('rolling back at the request of another proxy', { migration: name });
      this.rollback().catch((err: Error) =>
        // Another proxy got the lock in between: it rolls back, as it was asked to.
        log.warn('rollback requested by the fleet did not run here', { migration: name, error: err.message }),
      );
    }
  }

  async status(): Promise<MigrationStatus | null> {
    const status = await (await this.read()).status();
    return status && isInFlight(status) ? status : null;
  }

  /** Live backfill progress of this proxy's run, by table. */
  liveProgress(name: string): BackfillProgress[] {
    return [...this.progress.entries()].filter(([k]) => k.startsWith(`${name}/`)).map(([, v]) => v);
  }

  async history(): Promise<{ status: MigrationStatus; report: LatencyReport | null }[]> {
    const all = await (await this.read()).history();
    return all.map((status) => ({ status, report: (status.latencyReport as LatencyReport | null) ?? null }));
  }

  /**
   * The latency report so far of the migration this proxy is running (before
   * and during; null when it runs none): its stored report holds only the
   * before until it completes or rolls back.
   */
  liveReport(): LatencyReport | null {
    return this.during ? this.reportWith(this.during) : null;
  }

  /** The report of the migration this proxy runs: the before, `during` as given, no after yet. */
  private reportWith(during: LatencyHistogram | null): LatencyReport {
    return {
      beforeP50Ms: this.before?.p50 ?? null,
      beforeP99Ms: this.before?.p99 ?? null,
      duringP50Ms: during?.quantileMs(0.5) ?? null,
      duringP99Ms: during?.quantileMs(0.99) ?? null,
      afterP50Ms: null,
      afterP99Ms: null,
      throttleBaselineP99Ms: this.before?.baseline ?? null,
    };
  }

  get engine(): MigrationEngine {
    return this.reader;
  }

  private stopDuring(): void {
    if (this.during) this.latency.taps.delete(this.during);
    this.during = null;
  }

  /** Stores before / during now and measures "after" over the next minute. */
  private async finishReport(done: MigrationStatus): Promise<void> {
    const name = done.name;
    const during = this.during;
    this.stopDuring();
    const report = this.reportWith(during);
    this.before = null;
    await (await this.run()).saveLatencyReport(name, report);
    const after = new LatencyHistogram();
    this.latency.taps.add(after);
    setTimeout(() => {
      this.latency.taps.delete(after);
      if (after.count === 0) return;
      report.afterP50Ms = after.quantileMs(0.5);
      report.afterP99Ms = after.quantileMs(0.99);
      this.read()
        .then(async (reader) => {
          // A rolled-back name started again meanwhile is another run's record: this report is not its.
          const now = (await reader.history()).find((s) => s.name === name);
          if (now?.createdAt.getTime() !== done.createdAt.getTime()) return;
          await reader.saveLatencyReport(name, report);
        })
        .catch((err: Error) => log.warn('latency report not saved', { error: err.message }));
    }, 60_000).unref();
  }
}

/** The window (seconds) the latency before START is measured over. */
const BEFORE_S = 60;

/** Phases a runner carries a migration through holding the migration lock; one found there without a holder lost its runner. */
const RUNNER_PHASES: readonly Phase[] = [
  'pending',
  'expanding',
  'backfilling',
  'validating',
  'contracting',
  'rolling_back',
];

/** How long a ROLLBACK waits for the proxy running the migration to carry it out. */
const ROLLBACK_ELSEWHERE_TIMEOUT_MS = 60_000;

function isInFlight(status: MigrationStatus): boolean {
  return !['completed', 'rolled_back'].includes(status.phase);
}

/** Engine errors become client errors that say what to do; anything else stays internal. */
function asClientError(err: unknown): Error {
  if (err instanceof MigrationValidationError) {
    return clientError('invalidParameter', err.message, 'fix the migration file; nothing was changed');
  }
  if (err instanceof MigrationLockedError) {
    return clientError(
      'objectInUse',
      err.message,
      'another runner holds the migration lock; try again when it is done',
    );
  }
  if (err instanceof MigrationStateError) return clientError('stateConflict', err.message);
  if (err instanceof MigrationError) return clientError('internal', err.message);
  return err as Error;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
