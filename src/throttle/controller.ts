import type { BackfillThrottle, BatchGrant, BatchReport, BatchRequest } from '../migrations/throttle.ts';
import { decide, PAUSED_POLL_MS, sizeForTarget } from './aimd.ts';
import type { ThrottleKnobs } from './knobs.ts';
import {
  DECISION_PERIOD_MS,
  initialPace,
  PACE_P99_WINDOW_S,
  type PaceState,
  paceStep,
  rateCeiling,
} from './pace.ts';
import type { ClientP99, ThrottleState } from './state.ts';

export { decide, sizeForTarget } from './aimd.ts';
export { type ClientP99, ownClientP99, type ThrottleState } from './state.ts';

/** The sliding window (seconds) of the client p99 shown in status and read by the AIMD controller. */
export const CLIENT_P99_WINDOW_S = 5;

/** What the controller reads before every batch. */
export interface ThrottleSignals {
  /**
   * Client statement p99 over the last `windowSeconds` (default
   * CLIENT_P99_WINDOW_S) of the proxy whose clients fare worst (this one's
   * or, in a fleet, another live proxy's), or null with too few statements
   * to tell anywhere.
   */
  clientP99(windowSeconds?: number): ClientP99 | null;
  /** Replica lag (ms) as last measured, or null with no replicas. */
  replicaLagMs(): number | null;
}

/** Weight of the newest batch in the measured batch throughput. */
const CAPACITY_EWMA = 0.3;
/** A pacing wait is cut into slices this long, so a lowered rate or PAUSE applies within one. */
const PACE_WAIT_SLICE_MS = 250;

/**
 * The latency-aware backfill throttle (DESIGN.md section 5): asked before
 * every batch, it waits and sizes the batch from the client latency the
 * proxy measures, replica lag, manual pause and the live knobs. The law is
 * the `controller` knob's: `pace` (default; src/throttle/pace.ts), `aimd`
 * (src/throttle/aimd.ts) or `fixed` (no latency feedback, a `nice_ratio`
 * sleep after each batch: what operators of other tools run today).
 *
 * @example
 * const own = (s = 5) => recorder.quantileMs(0.99, s, MIN_QUANTILE_SAMPLES);
 * const throttle = new ThrottleController(config.throttle, {
 *   clientP99: (s) => ownClientP99(own(s)),
 *   replicaLagMs: () => null,
 * });
 * throttle.setBaseline(recorder.quantileMs(0.99, 60));
 * const engine = await MigrationEngine.connect({ url, throttle });
 */
export class ThrottleController implements BackfillThrottle {
  /** The AIMD and fixed controllers' state. */
  private current: ThrottleState;
  private pace: PaceState;
  private lastDecisionAt: number | null = null;
  /** Start and size of the last paced batch: the next one starts size / rate seconds later. */
  private lastStart: number | null = null;
  private lastSize = 0;
  /** Rows per second of batch work (time inside batches only), smoothed. */
  private capacity: number | null = null;
  private lastDurationMs = 0;
  private paused = false;
  /** Rate changes since START by `direction/reason`, for metrics. */
  readonly changes = new Map<string, number>();
  private wake: (() => void) | null = null;

  constructor(
    private knobValues: ThrottleKnobs,
    private readonly signals: ThrottleSignals,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.current = {
      controller: knobValues.controller,
      ceiling: knobValues.max_batch,
      size: Math.min(knobValues.max_batch, Math.max(knobValues.min_batch, 1000)),
      delayMs: 0,
      throttled: false,
      reason: null,
      reasonLabel: null,
      baselineP99Ms: null,
      clientP99Ms: null,
      targetRate: null,
      latencyCost: null,
      floorP99Ms: null,
      lastChange: null,
    };
    this.pace = initialPace(knobValues);
  }

  get knobs(): ThrottleKnobs {
    return this.knobValues;
  }

  set knobs(knobs: ThrottleKnobs) {
    this.knobValues = knobs;
    this.current = {
      ...this.current,
      ceiling: Math.min(Math.max(this.current.ceiling, knobs.min_batch), knobs.max_batch),
      size: Math.min(Math.max(this.current.size, knobs.min_batch), knobs.max_batch),
    };
    // A changed min_rate / max_rate / max_batch bounds the pace at once, not at the next decision.
    const rate = Math.min(rateCeiling(knobs), Math.max(knobs.min_rate, this.pace.rate));
    if (rate !== this.pace.rate) this.pace = { ...this.pace, rate };
  }

  get state(): ThrottleState {
    const controller = this.knobValues.controller;
    if (controller !== 'pace') {
      const cost =
        this.current.clientP99Ms !== null && this.current.baselineP99Ms
          ? this.current.clientP99Ms / this.current.baselineP99Ms
          : null;
      return { ...this.current, controller, latencyCost: cost };
    }
    const size = this.paceSize();
    return {
      ...this.current,
      controller,
      ceiling: size,
      size,
      delayMs: Math.round((size / this.pace.rate) * 1000),
      throttled: this.paused || this.pace.throttled,
      reason: this.paused ? 'paused by operator' : this.pace.reason,
      reasonLabel: this.paused ? 'paused' : this.pace.reasonLabel,
      clientP99Ms: this.pace.levelMs,
      targetRate: this.pace.rate,
      latencyCost: this.pace.latencyCost,
      floorP99Ms: this.pace.floorMs,
      lastChange: this.pace.lastChange,
    };
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Client p99 before the backfill started; null when there was no traffic
   * to measure. Called at START: the pace begins again from `start_rate`.
   */
  setBaseline(p99Ms: number | null): void {
    this.current = { ...this.current, baselineP99Ms: p99Ms };
    this.pace = initialPace(this.knobValues);
    this.lastDecisionAt = null;
    this.lastStart = null;
    this.changes.clear();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  beforeBatch(request: BatchRequest): Promise<BatchGrant> {
    switch (this.knobValues.controller) {
      case 'aimd':
        return this.aimdBatch(request);
      case 'fixed':
        return this.fixedBatch(request);
      default:
        return this.pacedBatch(request);
    }
  }

  afterBatch(report: BatchReport): void {
    if (report.rows <= 0) return;
    this.lastDurationMs = report.durationMs;
    const rowsPerSecond = (report.rows / Math.max(report.durationMs, 0.1)) * 1000;
    this.capacity =
      this.capacity === null
        ? rowsPerSecond
        : CAPACITY_EWMA * rowsPerSecond + (1 - CAPACITY_EWMA) * this.capacity;
    this.current = {
      ...this.current,
      size: sizeForTarget(report.batchSize, report.durationMs, this.knobValues),
    };
  }

  /** The next paced batch: the rate's share of one interval, kept under the target batch time. */
  private paceSize(): number {
    const k = this.knobValues;
    const byRate = (this.pace.rate * k.pace_interval_ms) / 1000;
    // Short batches hold their row locks briefly: a batch never aims past target_batch_ms.
    const byTime = this.capacity === null ? byRate : (this.capacity * k.target_batch_ms) / 1000;
    return Math.round(Math.min(k.max_batch, Math.max(k.min_batch, Math.min(byRate, byTime))));
  }

  private decidePace(): void {
    const now = this.now();
    if (this.lastDecisionAt === null) {
      // The first batches run at start_rate, and the first reading is taken once its window covers
      // the backfill alone: the seconds before hold the expand's DDL (ALTER and CREATE TRIGGER take
      // locks client statements wait for), which the rate has no say in.
      this.lastDecisionAt = now + PACE_P99_WINDOW_S * 1000 - DECISION_PERIOD_MS;
      return;
    }
    if (now - this.lastDecisionAt < DECISION_PERIOD_MS) return;
    this.lastDecisionAt = now;
    const before = this.pace.rate;
    const p99 = this.recentClientP99();
    this.pace = paceStep(this.pace, this.knobValues, {
      nowMs: now,
      clientP99Ms: p99?.ms ?? null,
      clientP99Proxy: p99?.proxy ?? null,
      replicaLagMs: this.signals.replicaLagMs(),
      baselineP99Ms: this.current.baselineP99Ms,
      capacity: this.capacity,
    });
    const key = this.pace.lastChangeKey;
    if (this.pace.rate !== before && key) this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
  }

  /**
   * The p99 over the shortest window with enough statements: slow
   * statements are few, and a latency rise must not hide behind a short
   * window that has too few of them to measure.
   */
  private recentClientP99(): ClientP99 | null {
    for (const seconds of [PACE_P99_WINDOW_S, CLIENT_P99_WINDOW_S, 3 * CLIENT_P99_WINDOW_S]) {
      const p99 = this.signals.clientP99(seconds);
      if (p99 !== null) return p99;
    }
    return null;
  }

  /**
   * Waits until the rate allows the next batch: batch starts are spaced by
   * size / rate, counted from the last start, so the batch's own time is
   * part of its interval and a slow batch is never followed by a catch-up
   * burst (the next start is never earlier than now).
   */
  private async pacedBatch(request: BatchRequest): Promise<BatchGrant> {
    for (;;) {
      this.decidePace();
      if (request.signal?.aborted) break;
      if (this.paused) {
        await this.wait(PAUSED_POLL_MS, request.signal);
        continue;
      }
      const due = this.lastStart === null ? 0 : this.lastStart + (this.lastSize / this.pace.rate) * 1000;
      const waitMs = due - this.now();
      if (waitMs <= 0) break;
      await this.wait(Math.min(waitMs, PACE_WAIT_SLICE_MS), request.signal);
    }
    const batchSize = this.paceSize();
    this.lastStart = this.now();
    this.lastSize = batchSize;
    return { batchSize, reason: this.pace.reason };
  }

  private async aimdBatch(request: BatchRequest): Promise<BatchGrant> {
    for (;;) {
      const p99 = this.signals.clientP99();
      this.current = decide(this.current, this.knobValues, {
        clientP99Ms: p99?.ms ?? null,
        clientP99Proxy: p99?.proxy ?? null,
        replicaLagMs: this.signals.replicaLagMs(),
        paused: this.paused,
      });
      if (this.current.delayMs > 0) await this.wait(this.current.delayMs, request.signal);
      if (request.signal?.aborted) break;
      if (!this.paused) break;
    }
    const batchSize = Math.max(1, Math.min(this.current.size, this.current.ceiling));
    return { batchSize, reason: this.current.reason };
  }

  /** No latency feedback: batches sized by the target batch time, then a nice_ratio sleep. */
  private async fixedBatch(request: BatchRequest): Promise<BatchGrant> {
    const nice = this.knobValues.nice_ratio * this.lastDurationMs;
    this.current = {
      ...this.current,
      clientP99Ms: this.signals.clientP99()?.ms ?? null,
      delayMs: Math.round(nice),
      throttled: this.paused,
      reason: this.paused ? 'paused by operator' : null,
      reasonLabel: this.paused ? 'paused' : null,
    };
    if (nice > 0) await this.wait(nice, request.signal);
    while (this.paused && !request.signal?.aborted) await this.wait(PAUSED_POLL_MS, request.signal);
    this.current = { ...this.current, throttled: false, reason: null, reasonLabel: null };
    const batchSize = Math.max(1, Math.min(this.current.size, this.knobValues.max_batch));
    return { batchSize, reason: null };
  }

  private async wait(ms: number, signal?: AbortSignal): Promise<void> {
    const resumed = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    await Promise.race([this.sleep(ms, signal), resumed]);
    this.wake = null;
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
