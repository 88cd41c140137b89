import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BackfillProgress } from '../migrations/index.ts';
import { PHASES } from '../migrations/state.ts';
import type { BatchReport } from '../migrations/throttle.ts';
import type { SessionRegistry } from '../proxy/session-registry.ts';
import type { ThrottleState } from '../throttle/controller.ts';
import { SHARED_STATE } from './worker-aggregation.ts';

/** Where the migration metrics read their values at scrape time. */
export interface MigrationMetricSources {
  /** The migration in flight, if any. */
  inFlight(): Promise<{ name: string; phase: string } | null>;
  throttle(): ThrottleState & { paused: boolean };
  /** Pace rate changes since START, keyed `cut/client_p99`, `raised/ramp` ... */
  throttleChanges?(): ReadonlyMap<string, number>;
  /** Client p99 over the throttle's window, in ms (null: too few statements). */
  clientP99Ms(): number | null;
  sessions: SessionRegistry;
}

const THROTTLE_REASONS = ['client_p99', 'client_p99_ceiling', 'replica_lag', 'paused'] as const;

/**
 * A gauge of one value read at scrape time, the same on every worker
 * (SHARED_STATE): NaN while the value is unknown, so a scrape tells it
 * from zero.
 */
function valueGauge(registry: Registry, name: string, help: string, read: () => number | null): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    aggregator: SHARED_STATE,
    collect() {
      const value = read();
      this.set(value === null ? Number.NaN : value);
    },
  });
}

/** Milliseconds as seconds, the unit of Prometheus durations; null stays null. */
const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

/**
 * Migration and throttle metrics (issue names, Prometheus conventions: base
 * units, `_total` counters). Gauges are read at scrape time; the backfill
 * counters and the batch histogram are fed by `onBatch` / `onProgress`.
 * Under `proxy.workers` the migration, throttle and p99 gauges (the same
 * shared state in every worker) count once: the highest value a worker knows.
 */
export class MigrationMetrics {
  private readonly rowsTotal: Counter<'migration' | 'table'>;
  private readonly rowsRemaining: Gauge<'migration' | 'table'>;
  private readonly batchSize: Gauge<'migration' | 'table'>;
  private readonly batchDuration: Histogram<'migration' | 'table'>;
  private readonly rowsSeen = new Map<string, number>();

  constructor(registry: Registry, sources: MigrationMetricSources) {
    new Gauge({
      name: 'shiftgate_migration_phase',
      help: 'Phase of the migration in flight: 1 for its current phase, 0 for the others',
      labelNames: ['migration', 'phase'] as const,
      registers: [registry],
      aggregator: SHARED_STATE,
      async collect() {
        this.reset();
        const m = await sources.inFlight().catch(() => null);
        if (m) for (const phase of PHASES) this.labels(m.name, phase).set(phase === m.phase ? 1 : 0);
      },
    });
    this.rowsTotal = new Counter({
      name: 'shiftgate_backfill_rows_total',
      help: 'Rows backfilled',
      labelNames: ['migration', 'table'] as const,
      registers: [registry],
    });
    this.rowsRemaining = new Gauge({
      name: 'shiftgate_backfill_rows_remaining',
      help: 'Rows left to backfill',
      labelNames: ['migration', 'table'] as const,
      registers: [registry],
    });
    this.batchSize = new Gauge({
      name: 'shiftgate_backfill_batch_size',
      help: 'Rows in the last backfill batch',
      labelNames: ['migration', 'table'] as const,
      registers: [registry],
    });
    this.batchDuration = new Histogram({
      name: 'shiftgate_backfill_batch_duration_seconds',
      help: 'Duration of backfill batches',
      labelNames: ['migration', 'table'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    });
    new Gauge({
      name: 'shiftgate_throttle_active',
      help: 'Whether the backfill throttle holds back, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
      aggregator: SHARED_STATE,
      collect() {
        const t = sources.throttle();
        for (const reason of THROTTLE_REASONS) {
          const active = reason === 'paused' ? t.paused : t.throttled && t.reasonLabel === reason;
          this.labels(reason).set(active ? 1 : 0);
        }
      },
    });
    valueGauge(
      registry,
      'shiftgate_throttle_target_rate_rows_per_second',
      'Backfill rate the pacing controller aims at (NaN for the other controllers)',
      () => sources.throttle().targetRate,
    );
    valueGauge(
      registry,
      'shiftgate_throttle_latency_cost_ratio',
      'Client p99 the throttle last acted on over the pre-START baseline p99 (1.05: the migration, backfill and sync triggers together, costs clients 5%)',
      () => sources.throttle().latencyCost,
    );
    valueGauge(
      registry,
      'shiftgate_throttle_floor_p99_seconds',
      "Client p99 that a doubled backfill rate did not raise (the pacing controller's floor): its limit is headroom x the higher of this and the baseline",
      () => seconds(sources.throttle().floorP99Ms),
    );
    new Gauge({
      name: 'shiftgate_throttle_rate_changes',
      help: 'Rate changes of the pacing controller since START, by direction and reason (the reason of the last change is the one that moved)',
      labelNames: ['direction', 'reason'] as const,
      registers: [registry],
      aggregator: SHARED_STATE,
      collect() {
        this.reset();
        for (const [key, n] of sources.throttleChanges?.() ?? []) {
          const [direction, reason] = key.split('/') as [string, string];
          this.labels(direction, reason).set(n);
        }
      },
    });
    valueGauge(
      registry,
      'shiftgate_client_p99_seconds',
      'Client statement p99 over the throttle window',
      () => seconds(sources.clientP99Ms()),
    );
    valueGauge(
      registry,
      'shiftgate_client_p99_baseline_seconds',
      'Client statement p99 measured before the backfill started',
      () => seconds(sources.throttle().baselineP99Ms),
    );
    new Gauge({
      name: 'shiftgate_sessions',
      help: 'Client sessions by the schema version they are bound to',
      labelNames: ['version'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of sources.sessions.list()) this.labels(s.info.boundVersion ?? '(none)').inc();
      },
    });
  }

  /** One finished backfill batch. */
  onBatch(report: BatchReport): void {
    this.batchSize.labels(report.migration, report.table).set(report.batchSize);
    this.batchDuration.labels(report.migration, report.table).observe(report.durationMs / 1000);
  }

  /** Progress after a batch: rows counted once even across restarts of the backfill. */
  onProgress(p: BackfillProgress): void {
    const key = `${p.migration}/${p.table}`;
    const seen = this.rowsSeen.get(key);
    if (seen !== undefined && p.rowsDone > seen)
      this.rowsTotal.labels(p.migration, p.table).inc(p.rowsDone - seen);
    else if (seen === undefined && p.rowsDone > 0)
      this.rowsTotal.labels(p.migration, p.table).inc(p.rowsDone);
    this.rowsSeen.set(key, p.rowsDone);
    this.rowsRemaining.labels(p.migration, p.table).set(Math.max(0, p.rowsTotal - p.rowsDone));
  }
}
