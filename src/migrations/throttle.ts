/**
 * What the backfill asks before every batch. The latency-aware controller
 * (DESIGN.md section 5) implements this later; `passThroughThrottle` lets
 * every batch run at the size the backfill proposes.
 */
export interface BatchRequest {
  migration: string;
  table: string;
  /** The size the backfill would use: adapted toward the target batch time. */
  proposedBatchSize: number;
  rowsDone: number;
  rowsTotal: number;
  signal?: AbortSignal | undefined;
}

export interface BatchGrant {
  /** Rows for this batch; clamped by the backfill to at least 1. */
  batchSize: number;
  /** Why the throttle held or shrank the batch (shown in status), or null. */
  reason: string | null;
}

export interface BatchReport {
  migration: string;
  table: string;
  rows: number;
  batchSize: number;
  durationMs: number;
}

export interface BackfillThrottle {
  /** May wait (pause, latency above baseline) before resolving. */
  beforeBatch(request: BatchRequest): Promise<BatchGrant>;
  afterBatch(report: BatchReport): void;
}

export const passThroughThrottle: BackfillThrottle = {
  async beforeBatch(request) {
    return { batchSize: request.proposedBatchSize, reason: null };
  },
  afterBatch() {},
};
