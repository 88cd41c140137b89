import type { LatencyReport } from '../admin/latency-report.ts';
import type { BackfillProgress, MigrationStatus } from '../migrations/index.ts';
import { MIN_QUANTILE_SAMPLES } from '../proxy/latency-recorder.ts';
import { CLIENT_P99_WINDOW_S } from '../throttle/controller.ts';
import { maskError } from './mask-error.ts';
import { isPhase, type PhaseLog, type TimelineStep } from './phase-log.ts';
import type { SeriesPoint, SeriesRing } from './series.ts';
import type { DashboardSources } from './sources.ts';
import { within } from './within.ts';

/** How long one read of the state store answers every page polling meanwhile. */
const STATE_TTL_MS = 500;
/** A state read slower than this is answered from the last one that came back (the database may be down). */
const STATE_WAIT_MS = 2000;

const IN_FLIGHT_DONE = ['completed', 'rolled_back'];

export interface TableProgress {
  table: string;
  rowsDone: number;
  rowsTotal: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
  batchSize: number;
  done: boolean;
}

export interface StatusAnswer {
  time: string;
  dialect: string;
  /** Null when the migration engine is connected; otherwise why migrations are unavailable. */
  unavailable: string | null;
  /** Why the migration state could not be read just now (the migration shown is the last one read); null when it was. */
  stateError: string | null;
  /** The migration in flight, or else the latest one; null before the first migration. */
  migration: null | {
    name: string;
    phase: string;
    inFlight: boolean;
    parent: string | null;
    startedAt: string;
    activeAt: string | null;
    completedAt: string | null;
    error: string | null;
    timeline: TimelineStep[];
    tables: TableProgress[];
    rowsDone: number | null;
    rowsTotal: number | null;
    /** rowsDone / rowsTotal, 0..1 (1 for an empty table). */
    progress: number | null;
    rowsPerSecond: number | null;
    etaSeconds: number | null;
    batchSize: number | null;
  };
  throttle: {
    /** A backfill is running, so the throttle's decisions matter now. */
    backfilling: boolean;
    throttled: boolean;
    paused: boolean;
    reason: string | null;
    reasonLabel: string | null;
    delayMs: number;
    batchCeiling: number;
    /** Which law paces the backfill (`throttle.controller`). */
    controller: string;
    /** Pace: the target rate in rows/s. */
    targetRate: number | null;
    /** Client p99 the last decision acted on over the baseline (1.05 = +5%). */
    latencyCost: number | null;
    /** Pace: the client p99 (ms) a doubled rate did not raise: the limit is headroom x the higher of it and the baseline. */
    floorP99Ms: number | null;
    /** Pace: the last change of the rate and why. */
    lastChange: string | null;
    knobs: Record<string, number | string | null>;
  };
  latency: {
    windowSeconds: number;
    p50Ms: number | null;
    p99Ms: number | null;
    baselineP99Ms: number | null;
  };
  sessions: SessionCounts;
}

export interface SessionCounts {
  /** Sessions that ran client statements, by the version they are bound to ("(none)": the schema before any migration). */
  byVersion: { version: string; sessions: number }[];
  clients: number;
  /** Sessions that ran nothing but admin commands (or nothing yet): clients of no version. */
  adminOnly: number;
}

/**
 * The JSON behind the dashboard, for scripts too. Read-only: every answer is
 * built from what the admin console reads, with nothing that could carry a
 * secret (no upstream URL, no statement text, error literals masked).
 */
export class DashboardApi {
  private stateRead: { at: number; value: Promise<MigrationStatus | null> } | null = null;
  private historyRead: { at: number; value: Promise<MigrationStatus[]> } | null = null;
  /** The last state read that came back, for answers while the database does not. */
  lastKnown: MigrationStatus | null = null;

  constructor(
    readonly sources: DashboardSources,
    private readonly series: SeriesRing,
    private readonly phases: PhaseLog,
  ) {}

  /** The migration in flight or the latest, shared by every caller for `STATE_TTL_MS`. */
  latest(): Promise<MigrationStatus | null> {
    const control = this.sources.control();
    if (typeof control === 'string') return Promise.resolve(null);
    const now = Date.now();
    if (this.stateRead && now - this.stateRead.at < STATE_TTL_MS) return this.stateRead.value;
    const value = control.readEngine().then((engine) => engine.status());
    value.then(
      (s) => {
        this.lastKnown = s;
        if (s && isPhase(s.phase)) this.phases.observe(s.name, s.phase);
      },
      () => {},
    );
    this.stateRead = { at: now, value };
    return value;
  }

  /** Live progress of this proxy's backfill where it runs one, else the stored checkpoints. */
  progress(status: MigrationStatus): TableProgress[] {
    const control = this.sources.control();
    const live =
      typeof control === 'string'
        ? new Map<string, BackfillProgress>()
        : new Map(control.liveProgress(status.name).map((p) => [p.table, p]));
    return status.backfill.map((stored) => {
      const p = live.get(stored.table) ?? stored;
      return {
        table: p.table,
        rowsDone: p.rowsDone,
        rowsTotal: p.rowsTotal,
        rowsPerSecond: p.rowsPerSecond,
        etaSeconds: p.etaSeconds,
        batchSize: p.batchSize,
        done: p.done,
      };
    });
  }

  async status(): Promise<StatusAnswer> {
    const control = this.sources.control();
    let stateError: string | null = null;
    const s = await within(this.latest(), STATE_WAIT_MS).catch((err: Error) => {
      stateError = err.message;
      return this.lastKnown;
    });
    const throttle = this.sources.throttle;
    const backfilling = s?.phase === 'backfilling';
    const window = this.sources.latency.window(CLIENT_P99_WINDOW_S);
    return {
      time: new Date().toISOString(),
      dialect: this.sources.dialect,
      unavailable: typeof control === 'string' ? control : null,
      stateError,
      migration: s ? this.migration(s) : null,
      throttle: {
        backfilling,
        throttled: backfilling && (throttle.isPaused || throttle.state.throttled),
        paused: throttle.isPaused,
        reason: !backfilling ? null : throttle.isPaused ? 'paused by operator' : throttle.state.reason,
        reasonLabel: !backfilling ? null : throttle.isPaused ? 'paused' : throttle.state.reasonLabel,
        delayMs: backfilling ? throttle.state.delayMs : 0,
        batchCeiling: throttle.state.ceiling,
        controller: throttle.state.controller,
        targetRate: backfilling ? throttle.state.targetRate : null,
        latencyCost: backfilling ? throttle.state.latencyCost : null,
        floorP99Ms: backfilling ? throttle.state.floorP99Ms : null,
        lastChange: backfilling ? throttle.state.lastChange : null,
        knobs: { ...throttle.knobs },
      },
      latency: {
        windowSeconds: CLIENT_P99_WINDOW_S,
        p50Ms: window.quantileMs(0.5, MIN_QUANTILE_SAMPLES),
        p99Ms: window.quantileMs(0.99, MIN_QUANTILE_SAMPLES),
        baselineP99Ms: throttle.state.baselineP99Ms,
      },
      sessions: this.sessionCounts(),
    };
  }

  private migration(s: MigrationStatus): NonNullable<StatusAnswer['migration']> {
    const tables = this.progress(s);
    const sum = (f: (t: TableProgress) => number) => tables.reduce((a, t) => a + f(t), 0);
    const rowsDone = tables.length ? sum((t) => t.rowsDone) : null;
    const rowsTotal = tables.length ? sum((t) => t.rowsTotal) : null;
    const running = tables.filter((t) => !t.done);
    const etas = running.map((t) => t.etaSeconds);
    return {
      name: s.name,
      phase: s.phase,
      inFlight: !IN_FLIGHT_DONE.includes(s.phase),
      parent: s.parent,
      startedAt: s.createdAt.toISOString(),
      activeAt: s.activeAt?.toISOString() ?? null,
      completedAt: s.completedAt?.toISOString() ?? null,
      error: maskError(s.error),
      timeline: isPhase(s.phase) ? this.phases.timeline(s.name, s.phase, s) : [],
      tables,
      rowsDone,
      rowsTotal,
      progress: rowsTotal === null ? null : rowsTotal === 0 ? 1 : Math.min(1, (rowsDone ?? 0) / rowsTotal),
      rowsPerSecond: tables.length ? sum((t) => (t.done ? 0 : t.rowsPerSecond)) : null,
      etaSeconds:
        running.length === 0
          ? tables.length
            ? 0
            : null
          : etas.some((e) => e === null)
            ? null
            : Math.max(...(etas as number[])),
      batchSize: running[0]?.batchSize ?? tables.at(-1)?.batchSize ?? null,
    };
  }

  sessionCounts(): SessionCounts {
    const byVersion = new Map<string, number>();
    let adminOnly = 0;
    for (const { info } of this.sources.sessions.list()) {
      if (!info.ranClientStatements) {
        adminOnly++;
        continue;
      }
      const v = info.boundVersion ?? '(none)';
      byVersion.set(v, (byVersion.get(v) ?? 0) + 1);
    }
    const list = [...byVersion.entries()].map(([version, sessions]) => ({ version, sessions }));
    list.sort((a, b) => b.sessions - a.sessions || a.version.localeCompare(b.version));
    return { byVersion: list, clients: list.reduce((a, v) => a + v.sessions, 0), adminOnly };
  }

  sessions() {
    return {
      ...this.sessionCounts(),
      sessions: this.sources.sessions.list().map(({ info: i }) => ({
        id: i.id,
        user: i.user,
        database: i.database,
        clientAddress: i.clientAddress,
        applicationName: i.applicationName,
        version: i.boundVersion,
        connectedAt: i.connectedAt.toISOString(),
        statements: i.statements,
        p99Ms: i.latency.quantileMs(0.99),
        adminOnly: !i.ranClientStatements,
      })),
    };
  }

  async migrations() {
    const control = this.sources.control();
    if (typeof control === 'string') return { unavailable: control, migrations: [] };
    const now = Date.now();
    if (!this.historyRead || now - this.historyRead.at >= STATE_TTL_MS) {
      this.historyRead = { at: now, value: control.readEngine().then((e) => e.history()) };
    }
    const history = await within(this.historyRead.value, STATE_WAIT_MS);
    return {
      unavailable: null,
      migrations: history.map((s) => {
        const stored = (s.latencyReport as LatencyReport | null) ?? null;
        // In flight, the record holds only the before: the running proxy's report so far has the during too.
        const r = (IN_FLIGHT_DONE.includes(s.phase) ? null : control.liveReport()) ?? stored;
        return {
          name: s.name,
          phase: s.phase,
          parent: s.parent,
          startedAt: s.createdAt.toISOString(),
          activeAt: s.activeAt?.toISOString() ?? null,
          completedAt: s.completedAt?.toISOString() ?? null,
          error: maskError(s.error),
          latency: {
            beforeP50Ms: r?.beforeP50Ms ?? null,
            beforeP99Ms: r?.beforeP99Ms ?? null,
            duringP50Ms: r?.duringP50Ms ?? null,
            duringP99Ms: r?.duringP99Ms ?? null,
            afterP50Ms: r?.afterP50Ms ?? null,
            afterP99Ms: r?.afterP99Ms ?? null,
          },
        };
      }),
    };
  }

  seriesSince(since: number): { intervalMs: number; capacity: number; points: SeriesPoint[] } {
    return { intervalMs: 1000, capacity: this.series.capacity, points: this.series.list(since) };
  }
}
