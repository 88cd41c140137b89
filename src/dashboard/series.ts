/** One second of the dashboard's time series. */
export interface SeriesPoint {
  /** End of the sampled second, ms since the epoch. */
  t: number;
  /** Client statement latency over that second (null: no statement finished in it). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Client statements that finished in that second. */
  statements: number;
  /** Backfill rows per second since the previous point (null: no backfill running). */
  rowsPerSecond: number | null;
  /** Rows done of the migration in flight, summed over its tables. */
  rowsDone: number | null;
  baselineP99Ms: number | null;
  throttled: boolean;
  /** Short reason label, as in the `shiftgate_throttle_active` metric. */
  throttleReason: string | null;
  migration: string | null;
  phase: string | null;
}

/**
 * A fixed-size ring of the latest points, so a page opened now shows the
 * last minutes at once and memory stays bounded however long the proxy runs.
 */
export class SeriesRing {
  private readonly points: (SeriesPoint | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.points = new Array(capacity);
  }

  push(point: SeriesPoint): void {
    this.points[this.next] = point;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Points oldest first, only those after `since` (ms since the epoch) when given. */
  list(since = Number.NEGATIVE_INFINITY): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (let k = 0; k < this.size; k++) {
      const p = this.points[(this.next - this.size + k + this.capacity) % this.capacity]!;
      if (p.t > since) out.push(p);
    }
    return out;
  }

  get length(): number {
    return this.size;
  }
}
