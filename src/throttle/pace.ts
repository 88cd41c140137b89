/**
 * The pacing control law (`throttle.controller: pace`): the backfill runs at
 * a target rate in rows/s, and once a second this law moves the rate on the
 * client p99 it reads, pure and clock-free so recorded and synthetic latency
 * series can drive it in tests.
 *
 * Why it is shaped this way:
 * - A single p99 reading over a second or two is noisy; the law acts on the
 *   median of the last five readings (the lowest until there are five), so
 *   a slow second, which shows in the two overlapping readings that cover
 *   it, moves nothing: a rise counts once it lasts about three seconds.
 *   While the rate still doubles every second (the ramp) it acts on the
 *   median of three, so the ramp stops before it overshoots fourfold.
 * - Hysteresis: it cuts above the limit (headroom x baseline, or the
 *   ceiling) and raises only below a lower mark (half the headroom), and
 *   holds in between, so a p99 that sits near the limit does not make the
 *   rate saw up and down.
 * - Bounded steps: a cut is proportional to how far the p99 is above the
 *   limit but between x0.5 and x0.8; after a cut the next one waits until
 *   the readings can reflect it (the p99 window lags), unless the p99 is
 *   far above the limit and the rate still above half of where the
 *   congestion began.
 * - Gradient check: once the rate is down to half of where a congestion
 *   episode began, a further cut must follow one that worked: if the p99
 *   has not fallen by a tenth since the last cut (once the readings can
 *   show it), the latency is not the backfill's doing (what the backfill
 *   costs falls with its rate: a checkpoint, the sync trigger's own cost,
 *   another job); cutting further would only starve the backfill, so the
 *   rate holds there (a p99 climbing past 1.5 x still cuts).
 * - Floor: with the migration in place, client latency can sit above the
 *   pre-START baseline whatever the backfill's rate (the sync trigger runs
 *   on every client write, rows are wider, the WAL grows). Cutting cannot
 *   lower that part, and judged against the baseline it keeps the rate at
 *   the bottom for the whole backfill. So when the rate is deep in a
 *   congestion the cuts did not relieve, the law pauses the backfill for
 *   FLOOR_QUIET_MS and reads the p99 without it: the floor. From then on
 *   the limit is headroom x the higher of baseline and floor, which is the
 *   backfill's own cost, the one thing the rate controls. A floor counts
 *   for FLOOR_STALE_MS; it is measured again then if the p99 is still
 *   above the baseline's limit (a pause of 3 s a minute at most), and it
 *   follows the level down at once (the p99 without the backfill is never
 *   above the p99 with it), so a floor an easing load left does not last.
 * - Ramp-up: the rate starts small and doubles on each healthy reading
 *   until latency first rises, so the first seconds after START never see
 *   a full-speed burst before any reading exists.
 * - Recovery: after a cut the rate comes back in steps that shrink near the
 *   rate latency last rose at (the knee): x2 far below it, x1.5 below half
 *   of it, x1.2 close to it, then above it probes from x1.25 up to x2 in
 *   steps of 0.25 while latency stays low, since the load has eased.
 */
import type { ThrottleKnobs } from './knobs.ts';
import { type ClientP99, clientP99Text } from './state.ts';

/** How often the law decides, in ms: readings in between see the same second of traffic. */
export const DECISION_PERIOD_MS = 1000;
/** The p99 window (seconds) each reading covers: short, because the median of five smooths it. */
export const PACE_P99_WINDOW_S = 2;
/** Readings the median is taken over (odd): five in steady state, three while ramping. */
const MEDIAN_OF = 5;
const RAMP_MEDIAN_OF = 3;
/** Healthy readings in a row needed before a raise after a cut. */
const HEALTHY_TO_RAISE = 2;
/**
 * After a cut, the readings still hold the old rate's latency for this
 * long (the median of five 2 s readings): no second cut before it.
 */
const CUT_COOLDOWN_MS = 4000;
/** A p99 this many times the limit cuts again even within the cooldown. */
const SEVERE = 2;
/**
 * Cut by this factor within one episode, a further cut needs the last one
 * to have lowered the p99 by at least FOLLOWED (it stays above the limit
 * but follows the rate) or the p99 to climb past CLIMBING x its level then.
 */
const NOT_FOLLOWING_AT = 2;
const FOLLOWED = 0.9;
const CLIMBING = 1.5;
/**
 * A floor probe pauses the backfill this long: the reading at its end
 * covers its last PACE_P99_WINDOW_S, a second after the last batch ended.
 */
export const FLOOR_QUIET_MS = 3000;
/** A floor counts this long; it is measured again then while the p99 stays above the baseline's limit. */
export const FLOOR_STALE_MS = 60_000;

export type PaceReasonLabel = 'client_p99' | 'client_p99_ceiling' | 'replica_lag';

export interface PaceState {
  /** Target rows per second. */
  rate: number;
  /** `ramp` until latency first rises, then `steady`. */
  mode: 'ramp' | 'steady';
  /** The rate at which latency last rose; null before it did or once the rate probed past it. */
  knee: number | null;
  /** The last readings, oldest first, for the median. */
  readings: ClientP99[];
  /** Median of `readings`, the p99 the law acts on; null without readings. */
  levelMs: number | null;
  /** The proxy whose clients the median reading is of; null when this proxy's own. */
  levelProxy: string | null;
  healthyStreak: number;
  /** Raises in a row above the knee: each probes a little harder (x1.25, x1.5, ... up to x2). */
  probes: number;
  lastCutAtMs: number | null;
  /** The p99 level the last cut of the congestion in force was made at. */
  cutLevelMs: number | null;
  /** A congestion signal is in force: set by a cut, cleared once the rate is back at the knee. */
  throttled: boolean;
  /** The congestion behind `throttled`, in the AIMD controller's words. */
  reason: string | null;
  reasonLabel: PaceReasonLabel | null;
  /** The last change of the rate and why: `cut 40,000 -> 24,000 rows/s: client p99 ...`. */
  lastChange: string | null;
  /** The last change as metric labels: `cut/client_p99`, `raised/ramp_up`, `raised/recovering`, `raised/probing`. */
  lastChangeKey: string | null;
  /** Latency the migration costs the clients: the p99 level over the baseline (1.05 = 5% above). */
  latencyCost: number | null;
  /** Client p99 with the migration in place and the backfill paused (the last floor probe); null before one. */
  floorMs: number | null;
  /** When the last floor probe ended (its reading may have been null). */
  floorAtMs: number | null;
  /** A floor probe runs until then: no batch starts. */
  quietUntilMs: number | null;
  /** Readings until then overlap the probe's quiet and are left out of the median. */
  skipReadingsUntilMs: number | null;
}

export interface PaceReading {
  nowMs: number;
  /** Client p99 over the last PACE_P99_WINDOW_S (the worst live proxy's), null with too few statements. */
  clientP99Ms: number | null;
  /** The proxy whose clients `clientP99Ms` is of, when not this one's. */
  clientP99Proxy?: string | null;
  replicaLagMs: number | null;
  baselineP99Ms: number | null;
  /** The highest rate batches can deliver (rows/s of batch work), null before the first batch. */
  capacity: number | null;
}

export function initialPace(knobs: ThrottleKnobs): PaceState {
  return {
    rate: clampRate(knobs.start_rate, knobs, null),
    mode: 'ramp',
    knee: null,
    readings: [],
    levelMs: null,
    levelProxy: null,
    healthyStreak: 0,
    probes: 0,
    lastCutAtMs: null,
    cutLevelMs: null,
    throttled: false,
    reason: null,
    reasonLabel: null,
    lastChange: null,
    lastChangeKey: null,
    latencyCost: null,
    floorMs: null,
    floorAtMs: null,
    quietUntilMs: null,
    skipReadingsUntilMs: null,
  };
}

/** The highest rate the knobs allow: `max_rate`, or `max_batch` rows every interval. */
export function rateCeiling(knobs: ThrottleKnobs): number {
  return knobs.max_rate ?? (knobs.max_batch * 1000) / knobs.pace_interval_ms;
}

function clampRate(rate: number, knobs: ThrottleKnobs, capacity: number | null): number {
  // Above what batches can deliver a higher target changes nothing, and a later cut would first
  // have to come down through that empty range before it slowed anything.
  const hi = Math.max(knobs.min_rate, Math.min(rateCeiling(knobs), capacity ?? Number.POSITIVE_INFINITY));
  return Math.min(hi, Math.max(knobs.min_rate, rate));
}

/**
 * The reading the law acts on: the median of the last `of` (odd) readings,
 * and until there are that many the lowest: always one actual reading, so
 * the proxy it came from can be named.
 */
function levelOf(readings: ClientP99[], of: number): ClientP99 | null {
  const sorted = readings.slice(-of).sort((a, b) => a.ms - b.ms);
  return sorted.length >= of ? sorted[Math.floor(sorted.length / 2)]! : (sorted[0] ?? null);
}

function fmtMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}

export function fmtRate(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}

/**
 * What the backfill's latency is judged against: the baseline before START,
 * or the floor measured with the migration in place when that is higher.
 */
function referenceOf(baseline: number | null, floor: number | null): { ms: number; what: string } | null {
  if (floor !== null && (baseline === null || floor > baseline)) return { ms: floor, what: 'floor' };
  return baseline === null ? null : { ms: baseline, what: 'baseline' };
}

/** The latency limit and the healthy mark below which the rate may rise, with the reason text for a breach. */
function limitsOf(
  level: ClientP99,
  knobs: ThrottleKnobs,
  reference: { ms: number; what: string } | null,
): { high: number; low: number; reason: string; label: PaceReasonLabel } | null {
  const bounds: { high: number; low: number; reason: string; label: PaceReasonLabel }[] = [];
  if (knobs.max_client_p99_ms !== null) {
    bounds.push({
      high: knobs.max_client_p99_ms,
      low: 0.85 * knobs.max_client_p99_ms,
      reason: `${clientP99Text(level, fmtMs)} > ceiling ${fmtMs(knobs.max_client_p99_ms)}ms`,
      label: 'client_p99_ceiling',
    });
  }
  if (reference !== null) {
    bounds.push({
      high: knobs.latency_headroom * reference.ms,
      low: (1 + (knobs.latency_headroom - 1) / 2) * reference.ms,
      reason: `${clientP99Text(level, fmtMs)} > ${knobs.latency_headroom} x ${reference.what} ${fmtMs(reference.ms)}ms`,
      label: 'client_p99',
    });
  }
  if (bounds.length === 0) return null;
  // The tighter bound decides: it is the one breached first.
  return bounds.reduce((a, b) => (b.high < a.high ? b : a));
}

/**
 * The end of a floor probe: the reading covers the quiet alone. A floor
 * above the level the probe began at says the backfill was not the cause
 * at all; it is capped there, so a slow second in the quiet does not open
 * the limit wider than the latency the backfill ran at.
 */
function endFloorProbe(state: PaceState, reading: PaceReading): PaceState {
  const quiet = reading.clientP99Ms;
  const floorMs = quiet === null ? state.floorMs : Math.min(quiet, state.levelMs ?? quiet);
  return {
    ...state,
    floorMs,
    floorAtMs: reading.nowMs,
    quietUntilMs: null,
    skipReadingsUntilMs: reading.nowMs + PACE_P99_WINDOW_S * 1000,
  };
}

/**
 * Whether to pause the backfill now and read the floor: the p99 is above
 * the baseline's limit and the floor is unknown or stale, and either a
 * congestion the cuts did not relieve (`deepCongestion`) or an earlier
 * floor is what lets that p99 stand.
 */
function floorProbeDue(
  state: PaceState,
  knobs: ThrottleKnobs,
  reading: PaceReading,
  levelMs: number | null,
  deepCongestion: boolean,
): boolean {
  const baseline = reading.baselineP99Ms;
  if (baseline === null || levelMs === null || levelMs <= knobs.latency_headroom * baseline) return false;
  const stale = state.floorAtMs === null || reading.nowMs - state.floorAtMs >= FLOOR_STALE_MS;
  return stale && (deepCongestion || (state.floorMs !== null && state.floorMs > baseline));
}

/**
 * One decision: the state after reading the signals once. Called once per
 * DECISION_PERIOD_MS by the controller; tests call it with series.
 */
export function paceStep(state: PaceState, knobs: ThrottleKnobs, reading: PaceReading): PaceState {
  if (state.quietUntilMs !== null)
    return reading.nowMs < state.quietUntilMs ? state : endFloorProbe(state, reading);
  const overlapsQuiet = state.skipReadingsUntilMs !== null && reading.nowMs < state.skipReadingsUntilMs;
  const readings =
    reading.clientP99Ms === null || overlapsQuiet
      ? state.readings
      : [...state.readings, { ms: reading.clientP99Ms, proxy: reading.clientP99Proxy ?? null }].slice(
          -MEDIAN_OF,
        );
  // Until there are five (three while ramping) readings, the lowest one: a rise counts only once
  // every reading shows it (the first readings after START also hold the expand's DDL).
  const level = levelOf(readings, state.mode === 'ramp' ? RAMP_MEDIAN_OF : MEDIAN_OF);
  const levelMs = level?.ms ?? null;
  const baseline = reading.baselineP99Ms;
  const next: PaceState = {
    ...state,
    readings,
    levelMs,
    levelProxy: level?.proxy ?? null,
    latencyCost: levelMs !== null && baseline !== null && baseline > 0 ? levelMs / baseline : null,
    // The p99 without the backfill is never above the p99 with it: a level under the floor says
    // the load that raised it has eased.
    floorMs: state.floorMs !== null && levelMs !== null ? Math.min(state.floorMs, levelMs) : state.floorMs,
  };
  const from = state.rate;

  // Congestion: replica lag first (the AIMD controller's order), then client latency.
  let congestion: { reason: string; label: PaceReasonLabel; factor: number; severe: boolean } | null = null;
  const floorFresh = state.floorAtMs !== null && reading.nowMs - state.floorAtMs < FLOOR_STALE_MS;
  const limits =
    level === null ? null : limitsOf(level, knobs, referenceOf(baseline, floorFresh ? next.floorMs : null));
  if (reading.replicaLagMs !== null && reading.replicaLagMs > knobs.max_replica_lag_ms) {
    congestion = {
      reason: `replica lag ${fmtMs(reading.replicaLagMs)}ms > max ${fmtMs(knobs.max_replica_lag_ms)}ms`,
      label: 'replica_lag',
      factor: 0.5,
      severe: reading.replicaLagMs > SEVERE * knobs.max_replica_lag_ms,
    };
  } else if (limits && levelMs !== null && levelMs > limits.high && readings.length > 1) {
    congestion = {
      reason: limits.reason,
      label: limits.label,
      // Proportional to the overshoot, bounded: one bad stretch never takes more than half.
      factor: Math.min(0.8, Math.max(0.5, limits.high / levelMs)),
      severe: levelMs > SEVERE * limits.high,
    };
  }

  // Down to half of where the episode began: the cuts so far did not relieve the latency.
  const deep = state.throttled && state.knee !== null && from <= state.knee / NOT_FOLLOWING_AT;
  if (
    state.mode === 'steady' &&
    floorProbeDue(state, knobs, reading, levelMs, deep && congestion?.label === 'client_p99')
  ) {
    next.quietUntilMs = reading.nowMs + FLOOR_QUIET_MS;
    return next;
  }

  if (congestion) {
    next.healthyStreak = 0;
    next.probes = 0;
    const cooling = state.lastCutAtMs !== null && reading.nowMs - state.lastCutAtMs < CUT_COOLDOWN_MS;
    next.throttled = true;
    next.reason = congestion.reason;
    next.reasonLabel = congestion.label;
    // Down to half of where the episode began, a severe p99 cuts within the cooldown only while it
    // still climbs (past CLIMBING x the level of the last cut); a steady one waits for the readings.
    const cutLevel = state.throttled ? state.cutLevelMs : null;
    const climbing = cutLevel !== null && levelMs !== null && levelMs > CLIMBING * cutLevel;
    if (cooling && !(congestion.severe && (!deep || climbing))) return next;
    // Gradient check: down to half of where the episode began, the last cut did not lower the p99.
    // What holds latency up is not the backfill's rate: cutting further would only starve it.
    if (deep && !climbing && cutLevel !== null && levelMs !== null && levelMs > FOLLOWED * cutLevel)
      return next;
    // Leaving the ramp, the readings lag the doubling: halve, as a slow start does. A ramp held at
    // the rate ceiling has not doubled lately: it is cut as a steady rate is.
    const doubled = state.mode === 'ramp' && from < rateCeiling(knobs);
    const factor = doubled ? 0.5 : congestion.factor;
    next.rate = clampRate(from * factor, knobs, null);
    next.mode = 'steady';
    // The knee is the rate the episode began at: cuts that follow within it do not lower it.
    next.knee = doubled ? from / 2 : state.throttled && state.knee !== null ? state.knee : from;
    next.lastCutAtMs = reading.nowMs;
    next.cutLevelMs = levelMs;
    if (next.rate !== from) {
      next.lastChange = `cut ${fmtRate(from)} -> ${fmtRate(next.rate)} rows/s: ${congestion.reason}`;
      next.lastChangeKey = `cut/${congestion.label}`;
    }
    return next;
  }

  const healthy = levelMs === null || limits === null || levelMs < limits.low;
  if (!healthy) {
    // Within the hysteresis band: hold the rate, and the congestion flag as it is.
    next.healthyStreak = 0;
    next.probes = 0;
    return next;
  }
  next.healthyStreak = state.healthyStreak + 1;
  const why =
    level === null
      ? 'too few client statements to measure'
      : limits === null
        ? 'no baseline or ceiling to compare with'
        : `${clientP99Text(level, fmtMs)} < ${fmtMs(limits.low)}ms`;
  let factor: number;
  let how: string;
  if (state.mode === 'ramp') {
    factor = 2;
    how = 'ramp-up';
  } else if (next.healthyStreak < HEALTHY_TO_RAISE) {
    return next;
  } else if (state.knee === null || from >= state.knee) {
    // Latency stays low as the rate passes where it last rose: the load has eased, so each
    // probe steps harder, like a slow start that begins gently.
    factor = Math.min(2, 1.25 + 0.25 * state.probes);
    next.probes = state.probes + 1;
    how = 'probing';
  } else if (from < state.knee / 4) {
    factor = 2;
    how = 'recovering';
  } else if (from < state.knee / 2) {
    factor = 1.5;
    how = 'recovering';
  } else {
    factor = 1.2;
    how = 'recovering near the last congested rate';
  }
  // Never lowered by a raise: a capacity measured below the rate only stops it rising further.
  next.rate = Math.max(Math.min(from, rateCeiling(knobs)), clampRate(from * factor, knobs, reading.capacity));
  if (state.knee !== null && next.rate >= state.knee) {
    // Back at the rate latency rose at: the congestion is over.
    next.throttled = false;
    next.reason = null;
    next.reasonLabel = null;
    if (from >= state.knee) next.knee = null;
  }
  if (state.knee === null) {
    next.throttled = false;
    next.reason = null;
    next.reasonLabel = null;
  }
  if (next.rate !== from) {
    next.lastChange = `raised ${fmtRate(from)} -> ${fmtRate(next.rate)} rows/s (${how}): ${why}`;
    next.lastChangeKey = `raised/${how === 'ramp-up' ? 'ramp_up' : how === 'probing' ? 'probing' : 'recovering'}`;
  }
  return next;
}
