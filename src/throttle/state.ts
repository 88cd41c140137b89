import type { ThrottleKnobs } from './knobs.ts';

/**
 * A client p99 reading and whose clients it is of: the throttle acts on the
 * worst proxy of the fleet, and its reasons name that proxy.
 */
export interface ClientP99 {
  ms: number;
  /** The fleet id of the proxy whose clients these are; null for this proxy's own. */
  proxy: string | null;
}

/** This proxy's own reading (null with too few statements). */
export function ownClientP99(ms: number | null): ClientP99 | null {
  return ms === null ? null : { ms, proxy: null };
}

/** `client p99 41ms`, naming the proxy when the reading is another proxy's. */
export function clientP99Text(p99: ClientP99, fmt: (ms: number) => string): string {
  return `client p99 ${fmt(p99.ms)}ms${p99.proxy === null ? '' : ` on proxy ${p99.proxy}`}`;
}

/** The controller's state after a decision: visible in SHOW SHIFTGATE STATUS and metrics. */
export interface ThrottleState {
  /** Which law runs: `throttle.controller`. */
  controller: ThrottleKnobs['controller'];
  /** Largest batch the controller allows now (AIMD: multiplicatively cut on congestion). */
  ceiling: number;
  /** Batch size the target batch time asks for (pace: the size of the next batch). */
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
  /** The client p99 (ms) the last decision acted on: the worst live proxy's. */
  clientP99Ms: number | null;
  /** Pace: the target rate in rows/s; null for the other controllers. */
  targetRate: number | null;
  /** The client p99 the last decision acted on over the baseline: what the migration costs (1.05 = +5%). */
  latencyCost: number | null;
  /**
   * Pace: the client p99 (ms) that cuts deep in a congestion did not lower
   * (the migration's own cost, another load); the limit is headroom x the
   * higher of it and the baseline. Null until then and for the other
   * controllers.
   */
  floorP99Ms: number | null;
  /** Pace: the last change of the rate and why; null before the first change. */
  lastChange: string | null;
}
