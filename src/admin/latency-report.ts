/** Client latency around one migration, kept with its record and shown by SHOW SHIFTGATE MIGRATIONS. */
export interface LatencyReport {
  /** Over the minute before the migration started. */
  beforeP50Ms: number | null;
  beforeP99Ms: number | null;
  /** Every client statement from start until complete. */
  duringP50Ms: number | null;
  duringP99Ms: number | null;
  /** Over the minute after it completed. */
  afterP50Ms: number | null;
  afterP99Ms: number | null;
  /**
   * The throttle's baseline: the worst client p99 among the live proxies
   * before START (null without enough statements to measure). Recorded at
   * START, so a runner that takes the migration over paces against it too;
   * missing in records written before it was kept.
   */
  throttleBaselineP99Ms?: number | null;
}
