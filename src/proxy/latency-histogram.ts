/**
 * A log-bucketed latency histogram: 16 buckets per power of two from 1 us up,
 * so any quantile is known to within ~4.4% with a fixed 512-slot array and
 * O(1) recording. Small enough to keep one per session and one per second.
 */
const SUB_BUCKETS = 16;
const MAX_EXPONENT = 32; // 2^32 us ~ 71 minutes: anything longer lands in the last bucket
const SLOTS = SUB_BUCKETS * MAX_EXPONENT;
const LIMIT_US = 2 ** MAX_EXPONENT;

export class LatencyHistogram {
  readonly counts = new Uint32Array(SLOTS);
  count = 0;
  sumUs = 0;

  record(us: number): void {
    this.counts[slotOf(us)]! += 1;
    this.count += 1;
    this.sumUs += us;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < SLOTS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sumUs += other.sumUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumUs = 0;
  }

  /** The q-quantile in milliseconds, or null with fewer than `minSamples` statements to tell from. */
  quantileMs(q: number, minSamples = 1): number | null {
    if (this.count < Math.max(1, minSamples)) return null;
    return this.quantileUs(q)! / 1000;
  }

  /** The q-quantile (0..1) in microseconds, or null when nothing was recorded. */
  quantileUs(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < SLOTS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return upperBoundOf(i);
    }
    return upperBoundOf(SLOTS - 1);
  }
}

function slotOf(us: number): number {
  if (us < 1) return 0;
  if (us >= LIMIT_US) return SLOTS - 1;
  // floor(log2(us)) and 2^exp in integer arithmetic: Math.log2 and ** are library calls, and this runs per statement.
  const exp = 31 - Math.clz32(us);
  const base = exp === 31 ? 2 ** 31 : 1 << exp;
  const sub = Math.floor(((us - base) / base) * SUB_BUCKETS);
  return exp * SUB_BUCKETS + Math.min(sub, SUB_BUCKETS - 1);
}

function upperBoundOf(slot: number): number {
  const exp = Math.floor(slot / SUB_BUCKETS);
  const sub = slot % SUB_BUCKETS;
  return 2 ** exp * (1 + (sub + 1) / SUB_BUCKETS);
}
