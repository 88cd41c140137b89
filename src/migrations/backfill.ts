/**
 * The backfill loop: keyset batches over each table's key, one short
 * transaction per batch that also advances the checkpoint, so a process
 * killed at any moment resumes at the next batch without redoing or skipping
 * a row. The batch size adapts toward a target batch time, within bounds,
 * and the throttle is asked before every batch.
 */
import type { BackfillTask } from './actions.ts';
import type { LockPolicy, MigrationConnection, RetryNotice } from './dialect.ts';
import { BackfillKeyError } from './errors.ts';
import type { CheckpointRecord } from './state.ts';
import type { BackfillThrottle } from './throttle.ts';

export interface BatchSizing {
  /** The batch time the size adapts toward (config `throttle.target_batch_ms`). */
  targetBatchMs: number;
  minBatch: number;
  maxBatch: number;
}

export const DEFAULT_SIZING: BatchSizing = { targetBatchMs: 100, minBatch: 100, maxBatch: 10000 };

export interface BackfillProgress {
  migration: string;
  table: string;
  rowsDone: number;
  rowsTotal: number;
  batchSize: number;
  /** Rows per second of this run, counting waits; 0 before the first batch. */
  rowsPerSecond: number;
  /** Seconds left at the current rate; null when unknown. */
  etaSeconds: number | null;
  throttleReason: string | null;
  done: boolean;
}

export interface BackfillOptions {
  sizing: BatchSizing;
  throttle: BackfillThrottle;
  policy: LockPolicy;
  signal?: AbortSignal | undefined;
  onBatch?: (progress: BackfillProgress) => void;
  onRetry?: (notice: RetryNotice) => void;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/**
 * The next batch size: proportional to how far the last batch was from the
 * target time, at most doubling or halving per batch so one slow batch (a
 * checkpoint, a vacuum) does not collapse the size.
 */
export function nextBatchSize(size: number, durationMs: number, sizing: BatchSizing): number {
  const factor = clamp(sizing.targetBatchMs / Math.max(durationMs, 1), 0.5, 2);
  return Math.round(clamp(size * factor, sizing.minBatch, sizing.maxBatch));
}

export function progressOf(migration: string, cp: CheckpointRecord): BackfillProgress {
  const left = Math.max(0, cp.rowsTotal - cp.rowsDone);
  return {
    migration,
    table: cp.table,
    rowsDone: cp.rowsDone,
    rowsTotal: cp.rowsTotal,
    batchSize: cp.batchSize,
    rowsPerSecond: cp.rowsPerSecond,
    etaSeconds: cp.done ? 0 : cp.rowsPerSecond > 0 ? left / cp.rowsPerSecond : null,
    throttleReason: cp.throttleReason,
    done: cp.done,
  };
}

export async function runBackfill(
  conn: MigrationConnection,
  schema: string,
  migration: string,
  tasks: BackfillTask[],
  options: BackfillOptions,
): Promise<void> {
  const { sizing, throttle, policy, signal } = options;
  for (const task of tasks) {
    if (task.key.length === 0) throw new BackfillKeyError(task.table);
    const scope = { schema, migration, task };
    let cp = (await conn.state.checkpoints(schema, migration)).find((c) => c.table === task.table);
    if (!cp) {
      // The bound is fixed once: rows above it arrive with the sync triggers in place.
      const measured = await conn.measure(scope);
      cp = await conn.state.initCheckpoint(schema, migration, task.table, {
        keyColumns: task.key,
        upTo: measured.maxKey,
        rowsTotal: measured.rows,
        batchSize: clamp(1000, sizing.minBatch, sizing.maxBatch),
      });
    }
    let size = clamp(cp.batchSize || sizing.minBatch, sizing.minBatch, sizing.maxBatch);
    const began = performance.now();
    let rowsThisRun = 0;
    let rate = 0;
    while (!cp.done) {
      signal?.throwIfAborted();
      const grant = await throttle.beforeBatch({
        migration,
        table: task.table,
        proposedBatchSize: size,
        rowsDone: cp.rowsDone,
        rowsTotal: cp.rowsTotal,
        signal,
      });
      signal?.throwIfAborted();
      const limit = Math.max(1, Math.round(grant.batchSize));
      const t0 = performance.now();
      const outcome = await conn.batch(
        scope,
        { limit, lastKey: cp.lastKey, upTo: cp.upTo, rowsPerSecond: rate, throttleReason: grant.reason },
        policy,
        options.onRetry,
      );
      const durationMs = performance.now() - t0;
      throttle.afterBatch({ migration, table: task.table, rows: outcome.rows, batchSize: limit, durationMs });
      cp = outcome.checkpoint;
      rowsThisRun += outcome.rows;
      rate = rowsThisRun / Math.max((performance.now() - began) / 1000, 1e-3);
      size = nextBatchSize(limit, durationMs, sizing);
      options.onBatch?.({ ...progressOf(migration, cp), rowsPerSecond: rate, batchSize: limit });
    }
  }
}
