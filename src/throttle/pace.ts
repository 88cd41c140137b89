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
 * - Floor, by trial: with the migration in place, client latency can sit
 *   above the pre-START baseline whatever the backfill's rate: the sync
 *   trigger runs on every client write, and any backfill at all (batches
 *   overlapping 1% of client statements) lifts a p99 by a step that does
 *   not shrink with the rate. Judged against the baseline, that keeps the
 *   rate at the bottom for the whole backfill. So when the gradient check
 *   holds, the law tries once: it doubles the rate for TRIAL_MS. If the
 *   p99 does not rise past the hysteresis band, it does not follow the
 *   rate: it becomes the floor, the limit is headroom x the higher of
 *   baseline and floor from then on (the backfill's cost the rate does
 *   control), and the rate climbs on. If it rises, the rate goes back and
 *   the law holds, trying again after TRIAL_SPACING_MS. The floor follows
 *   the level down once the level is clearly under it (an easing load).
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
/** A trial doubles the rate this long: the median of five readings then shows the doubled rate. */
const TRIAL_MS = 5000;
/** After a trial the p99 followed, the next one waits this long. */
const TRIAL_SPACING_MS = 60_000;

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
  /** The last change as metric labels: `cut/client_p99`, `cut/trial`, `raised/ramp_up`, `raised/recovering`, `raised/probing`, `raised/trial`. */
  lastChangeKey: string | null;
  /** Latency the migration costs the clients: the p99 level over the baseline (1.05 = 5% above). */
  latencyCost: number | null;
  /** The client p99 a doubled rate did not raise (see the file comment); null before a trial found one. */
  floorMs: number | null;
  /** A trial in progress: the rate it doubled and the level before; null otherwise. */
  trial: { fromRate: number; levelMs: number; untilMs: number } | null;
  /** No trial before then: the last one found the p99 following the rate. */
  trialAfterMs: number | null;
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
    trial: null,
    trialAfterMs: null,
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
 * The hysteresis band's upper edge as a multiple of a reference: halfway to
 * the headroom. Below it the rate may rise; a p99 that moved by no more
 * than it (a trial, the floor) is taken as not having moved.
 */
function bandOf(knobs: ThrottleKnobs): number {
  return 1 + (knobs.latency_headroom - 1) / 2;
}

/**
 * What the backfill's latency is judged against: the baseline before START,
 * or the floor a trial found when that is higher.
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
      low: bandOf(knobs) * reference.ms,
      reason: `${clientP99Text(level, fmtMs)} > ${knobs.latency_headroom} x ${reference.what} ${fmtMs(reference.ms)}ms`,
      label: 'client_p99',
    });
  }
  if (bounds.length === 0) return null;
  // The tighter bound decides: it is the one breached first.
  return bounds.reduce((a, b) => (b.high < a.high ? b : a));
}

/** The gradient check held: double the rate for TRIAL_MS to see whether the p99 follows it. */
function startTrial(next: PaceState, knobs: ThrottleKnobs, reading: PaceReading, levelMs: number): PaceState {
  const from = next.rate;
  const up = clampRate(from * 2, knobs, reading.capacity);
  if (up <= from) return next;
  next.rate = up;
  next.trial = { fromRate: from, levelMs, untilMs: reading.nowMs + TRIAL_MS };
  next.lastChange = `raised ${fmtRate(from)} -> ${fmtRate(up)} rows/s (trial: cuts did not lower client p99 ${fmtMs(levelMs)}ms; does it follow the rate?)`;
  next.lastChangeKey = 'raised/trial';
  return next;
}

/**
 * The end of a trial: a p99 that did not rise past the hysteresis band
 * with the rate doubled is the floor, and the rate stays; one that rose is
 * the backfill's, and the rate goes back (`levelMs` infinite: replica lag
 * ended the trial).
 */
function endTrial(
  next: PaceState,
  trial: NonNullable<PaceState['trial']>,
  knobs: ThrottleKnobs,
  reading: PaceReading,
  levelMs: number,
): PaceState {
  next.trial = null;
  if (levelMs <= bandOf(knobs) * trial.levelMs) {
    next.floorMs = Math.max(next.floorMs ?? 0, levelMs);
    return next;
  }
  const why = Number.isFinite(levelMs)
    ? `client p99 rose ${fmtMs(trial.levelMs)} -> ${fmtMs(levelMs)}ms with the rate`
    : 'replica lag';
  next.lastChange = `cut ${fmtRate(next.rate)} -> ${fmtRate(trial.fromRate)} rows/s (trial: ${why})`;
  next.trialAfterMs = reading.nowMs + TRIAL_SPACING_MS;
  next.lastCutAtMs = reading.nowMs;
  next.rate = trial.fromRate;
  next.lastChangeKey = 'cut/trial';
  return next;
}

/**
 * The floor after a reading: it follows the level down once the level is
 * clearly (past the hysteresis band) under it, since the p99 at any rate
 * is never below the p99 the rate could not lower; noise within the band
 * leaves it.
 */
function floorAfter(floorMs: number | null, levelMs: number | null, knobs: ThrottleKnobs): number | null {
  if (floorMs === null || levelMs === null) return floorMs;
  return levelMs * bandOf(knobs) < floorMs ? levelMs : floorMs;
}

/**
 * One decision: the state after reading the signals once. Called once per
 * DECISION_PERIOD_MS by the controller; tests call it with series.
 */
export function paceStep(state: PaceState, knobs: ThrottleKnobs, reading: PaceReading): PaceState {
  const readings =
    reading.clientP99Ms === null
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
    floorMs: floorAfter(state.floorMs, levelMs, knobs),
  };
  const from = state.rate;

  // Congestion: replica lag first (the AIMD controller's order), then client latency.
  let congestion: { reason: string; label: PaceReasonLabel; factor: number; severe: boolean } | null = null;
  const limits = level === null ? null : limitsOf(level, knobs, referenceOf(baseline, next.floorMs));
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

  if (state.trial !== null && levelMs !== null) {
    // A p99 that climbs with the doubled rate, or a replica falling behind, ends the trial at once.
    const climbs = levelMs > CLIMBING * state.trial.levelMs;
    const lagging = congestion?.label === 'replica_lag';
    if (reading.nowMs < state.trial.untilMs && !climbs && !lagging) return next;
    return endTrial(next, state.trial, knobs, reading, lagging ? Number.POSITIVE_INFINITY : levelMs);
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
    const deep = state.throttled && state.knee !== null && from <= state.knee / NOT_FOLLOWING_AT;
    const cutLevel = state.throttled ? state.cutLevelMs : null;
    const climbing = cutLevel !== null && levelMs !== null && levelMs > CLIMBING * cutLevel;
    if (cooling && !(congestion.severe && (!deep || climbing))) return next;
    // Gradient check: down to half of where the episode began, the last cut did not lower the p99.
    // What holds latency up may not be the backfill's rate: cutting further would only starve it.
    // A trial at double the rate tells whether that p99 is a floor the backfill is judged above.
    if (deep && !climbing && cutLevel !== null && levelMs !== null && levelMs > FOLLOWED * cutLevel) {
      const trialDue = state.trialAfterMs === null || reading.nowMs >= state.trialAfterMs;
      if (congestion.label === 'client_p99' && trialDue) return startTrial(next, knobs, reading, levelMs);
      return next;
    }
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
