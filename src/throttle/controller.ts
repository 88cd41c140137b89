import type { BackfillThrottle, BatchGrant, BatchReport, BatchRequest } from '../migrations/throttle.ts';
import type { ThrottleKnobs } from './knobs.ts';

/** The sliding window (seconds) of the client p99 the throttle compares with its baseline. */
export const CLIENT_P99_WINDOW_S = 5;

/** What the controller reads before every batch. */
export interface ThrottleSignals {
  /** Client statement p99 (ms) over the sliding window, or null with too few statements to tell. */
  clientP99Ms(): number | null;
  /** Replica lag (ms) as last measured, or null with no replicas. */
  replicaLagMs(): number | null;
}

/** The controller's state after a decision: visible in SHOW SHIFTGATE STATUS and metrics. */
export interface ThrottleState {
  /** Largest batch the controller allows now (multiplicatively cut on congestion). */
  ceiling: number;
  /** Batch size the target batch time asks for. */
  size: number;
  /** Pause before the next batch. */
  delayMs: number;
  throttled: boolean;
  /** Why, in words: `client p99 41ms > 1.2 x baseline 30ms`; null when running freely. */
  reason: string | null;
  /** Short label of the reason for metrics: client_p99, client_p99_ceiling, replica_lag, paused. */
  reasonLabel: 'client_p99' | 'client_p99_ceiling' | 'replica_lag' | 'paused' | null;
  /** Client p99 baseline (ms) measured before the backfill started. */
  baselineP99Ms: number | null;
  clientP99Ms: number | null;
}

const MAX_DELAY_MS = 3000;
/** Below this a healthy reading clears the delay altogether. */
const MIN_DELAY_MS = 20;
const PAUSED_POLL_MS = 250;

/**
 * One AIMD step, pure: given the state, the knobs and the signals, the next
 * state. Congestion (client p99 above headroom x baseline or above the
 * ceiling, replica lag above its maximum) halves the batch ceiling and
 * doubles the inter-batch delay (up to 3 s); a healthy reading raises the
 * ceiling additively by a twentieth of `max_batch` and halves the delay, so a
 * backfill that backed off recovers its pace within a few batches while its
 * batch size creeps back up.
 */
export function decide(
  state: ThrottleState,
  knobs: ThrottleKnobs,
  signals: { clientP99Ms: number | null; replicaLagMs: number | null; paused: boolean },
): ThrottleState {
  const next: ThrottleState = { ...state, clientP99Ms: signals.clientP99Ms };
  const p99 = signals.clientP99Ms;
  const base = state.baselineP99Ms;
  let reason: string | null = null;
  let label: ThrottleState['reasonLabel'] = null;
  if (signals.paused) {
    return {
      ...next,
      throttled: true,
      reason: 'paused by operator',
      reasonLabel: 'paused',
      delayMs: PAUSED_POLL_MS,
    };
  }
  if (signals.replicaLagMs !== null && signals.replicaLagMs > knobs.max_replica_lag_ms) {
    reason = `replica lag ${fmt(signals.replicaLagMs)}ms > max ${fmt(knobs.max_replica_lag_ms)}ms`;
    label = 'replica_lag';
  } else if (p99 !== null && knobs.max_client_p99_ms !== null && p99 > knobs.max_client_p99_ms) {
    reason = `client p99 ${fmt(p99)}ms > ceiling ${fmt(knobs.max_client_p99_ms)}ms`;
    label = 'client_p99_ceiling';
  } else if (p99 !== null && base !== null && p99 > knobs.latency_headroom * base) {
    reason = `client p99 ${fmt(p99)}ms > ${knobs.latency_headroom} x baseline ${fmt(base)}ms`;
    label = 'client_p99';
  }
  if (reason) {
    next.ceiling = Math.max(knobs.min_batch, Math.floor(state.ceiling / 2));
    next.delayMs = Math.min(MAX_DELAY_MS, Math.max(state.delayMs * 2, 100));
    next.throttled = true;
  } else {
    next.ceiling = Math.min(
      knobs.max_batch,
      state.ceiling + Math.max(knobs.min_batch, Math.ceil(knobs.max_batch / 20)),
    );
    next.delayMs = state.delayMs / 2 < MIN_DELAY_MS ? 0 : Math.round(state.delayMs / 2);
    next.throttled = next.delayMs > 0;
    if (next.throttled && state.reason) {
      reason = `recovering: ${state.reason.replace(/^recovering: /, '')}`;
      label = state.reasonLabel;
    }
  }
  next.ceiling = Math.min(Math.max(next.ceiling, knobs.min_batch), knobs.max_batch);
  next.reason = reason;
  next.reasonLabel = label;
  return next;
}

/** The batch size that makes a batch take about `target_batch_ms`, given the last batch. */
export function sizeForTarget(size: number, durationMs: number, knobs: ThrottleKnobs): number {
  const factor = Math.min(2, Math.max(0.5, knobs.target_batch_ms / Math.max(durationMs, 0.1)));
  return Math.round(Math.min(knobs.max_batch, Math.max(knobs.min_batch, size * factor)));
}

function fmt(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}

/**
 * The latency-aware backfill throttle (DESIGN.md section 5): asked before
 * every batch, it waits and sizes the batch from the client latency the
 * proxy measures, replica lag, manual pause and the live knobs.
 *
 * @example
 * const throttle = new ThrottleController(config.throttle, { clientP99Ms: () => recorder.quantileMs(0.99, 5), replicaLagMs: () => null });
 * throttle.setBaseline(recorder.quantileMs(0.99, 60));
 * const engine = await MigrationEngine.connect({ url, throttle });
 */
export class ThrottleController implements BackfillThrottle {
  private current: ThrottleState;
  private paused = false;
  private wake: (() => void) | null = null;

  constructor(
    private knobValues: ThrottleKnobs,
    private readonly signals: ThrottleSignals,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
  ) {
    this.current = {
      ceiling: knobValues.max_batch,
      size: Math.min(knobValues.max_batch, Math.max(knobValues.min_batch, 1000)),
      delayMs: 0,
      throttled: false,
      reason: null,
      reasonLabel: null,
      baselineP99Ms: null,
      clientP99Ms: null,
    };
  }

  get knobs(): ThrottleKnobs {
    return this.knobValues;
  }

  set knobs(knobs: ThrottleKnobs) {
    this.knobValues = knobs;
    this.current = {
      ...this.current,
      ceiling: Math.min(Math.max(this.current.ceiling, knobs.min_batch), knobs.max_batch),
    };
  }

  get state(): ThrottleState {
    return this.current;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Client p99 before the backfill started; null when there was no traffic to measure. */
  setBaseline(p99Ms: number | null): void {
    this.current = { ...this.current, baselineP99Ms: p99Ms };
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  async beforeBatch(request: BatchRequest): Promise<BatchGrant> {
    for (;;) {
      this.current = decide(this.current, this.knobValues, {
        clientP99Ms: this.signals.clientP99Ms(),
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

  afterBatch(report: BatchReport): void {
    if (report.rows > 0) {
      this.current = {
        ...this.current,
        size: sizeForTarget(report.batchSize, report.durationMs, this.knobValues),
      };
    }
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
