/**
 * The AIMD law (`throttle.controller: aimd`), the throttle's first
 * controller, kept so it can be compared with the pacing one: every
 * congested reading halves the batch ceiling and doubles the delay, every
 * healthy one grows the ceiling additively and halves the delay.
 */

import type { ThrottleKnobs } from './knobs.ts';
import { clientP99Text, type ThrottleState } from './state.ts';

const MAX_DELAY_MS = 3000;
/** Below this a healthy reading clears the delay altogether. */
const MIN_DELAY_MS = 20;
/** How often a paused backfill looks again (RESUME wakes it at once). */
export const PAUSED_POLL_MS = 250;

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
  signals: {
    clientP99Ms: number | null;
    /** The proxy whose clients' p99 `clientP99Ms` is, when not this one's (the worst of the fleet). */
    clientP99Proxy?: string | null;
    replicaLagMs: number | null;
    paused: boolean;
  },
): ThrottleState {
  const next: ThrottleState = { ...state, clientP99Ms: signals.clientP99Ms };
  const p99 = signals.clientP99Ms;
  const base = state.baselineP99Ms;
  const p99Text = (ms: number) => clientP99Text({ ms, proxy: signals.clientP99Proxy ?? null }, fmt);
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
    reason = `${p99Text(p99)} > ceiling ${fmt(knobs.max_client_p99_ms)}ms`;
    label = 'client_p99_ceiling';
  } else if (p99 !== null && base !== null && p99 > knobs.latency_headroom * base) {
    reason = `${p99Text(p99)} > ${knobs.latency_headroom} x baseline ${fmt(base)}ms`;
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

export function fmt(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}
