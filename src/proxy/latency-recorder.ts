import { LatencyHistogram } from './latency-histogram.ts';

/** Client statements a window needs before its p99 means anything to the throttle and the reports. */
export const MIN_QUANTILE_SAMPLES = 20;

/**
 * The proxy-wide record of client statement latency: one histogram per
 * second in a ring, so "p99 over the last N seconds" (what the throttle
 * asks) merges at most `windowSeconds` small histograms.
 *
 * @example
 * const recorder = new LatencyRecorder(60);
 * recorder.record(1200); // a 1.2 ms statement
 * recorder.quantileMs(0.99, 5); // p99 over the last 5 s
 */
export class LatencyRecorder {
  private readonly slots: LatencyHistogram[];
  /** Extra histograms that see every statement while attached (a migration's "during" report). */
  readonly taps = new Set<LatencyHistogram>();
  private readonly slotSecond: number[];

  constructor(
    readonly windowSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = Array.from({ length: windowSeconds }, () => new LatencyHistogram());
    this.slotSecond = new Array<number>(windowSeconds).fill(-1);
  }

  record(us: number): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.windowSeconds;
    if (this.slotSecond[i] !== second) {
      this.slots[i]!.reset();
      this.slotSecond[i] = second;
    }
    this.slots[i]!.record(us);
    // Taps are rare (a migration's report): no iterator is made per statement without one.
    if (this.taps.size > 0) for (const tap of this.taps) tap.record(us);
  }

  /** Merged histogram of the last `seconds` seconds (capped at the window). */
  window(seconds: number = this.windowSeconds): LatencyHistogram {
    const merged = new LatencyHistogram();
    const current = Math.floor(this.now() / 1000);
    const span = Math.min(seconds, this.windowSeconds);
    for (let s = current - span + 1; s <= current; s++) {
      const i = ((s % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
      if (this.slotSecond[i] === s) merged.merge(this.slots[i]!);
    }
    return merged;
  }

  /**
   * The histogram of one whole second (epoch seconds), or null once the ring
   * has moved past it: a sampler reads the second that just ended, which no
   * statement will add to any more.
   */
  second(second: number): LatencyHistogram | null {
    const i = ((second % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
    return this.slotSecond[i] === second ? this.slots[i]! : null;
  }

  /** Quantile in milliseconds over the last `seconds`, or null with fewer than `minSamples` statements. */
  quantileMs(q: number, seconds?: number, minSamples = 1): number | null {
    return this.window(seconds).quantileMs(q, minSamples);
  }
}
