import type { LiveProxy } from '../fleet/heartbeat.ts';
import { CLIENT_P99_WINDOW_S } from './controller.ts';
import { type ClientP99, ownClientP99 } from './state.ts';

/**
 * The throttle's latency signal across the fleet (DESIGN.md section 7): the
 * leader paces the backfill on the clients that fare worst, wherever they
 * connect, not only on its own.
 *
 * Each other proxy's latency is the summary in its heartbeat, which covers
 * the `windowSeconds` before it was written (5 s, longer with a slow
 * heartbeat: heartbeatLatencyWindowS), while the controller
 * asks for 2 s, 5 s or 15 s. The heartbeat's window is used for every ask:
 * for a shorter one it is a superset that shows a rise as soon as 1% of its
 * statements are slow, and a fall a few seconds late (the rate comes back a
 * little later, never faster than it should); for a longer one (asked only
 * when the shorter ones have too few statements) it is what there is. One
 * window per heartbeat keeps the payload small.
 */

/** What the signal reads of this proxy's membership of the fleet (src/fleet/member.ts). */
export interface FleetLatencyView {
  readonly id: string;
  /** The live proxies as last read from the state store, this one among them. */
  readonly lastView: readonly LiveProxy[];
  /** Milliseconds since `lastView` was read. */
  viewAgeMs(): number;
}

/**
 * A heartbeat older than this many intervals is left out of the signal. A
 * heartbeat is up to one interval old when this proxy reads the view, and
 * the view up to one interval old when the controller reads it: two
 * intervals is the normal worst case; the third lets one beat come late
 * without the proxy's clients dropping out of the reading.
 */
export const LATENCY_HEARTBEAT_INTERVALS = 3;

/**
 * The window (seconds) of the latency summary a proxy puts in its
 * heartbeat: at least the controller's 5 s, and long enough to cover the
 * LATENCY_HEARTBEAT_INTERVALS a heartbeat counts for, so that with a slow
 * `fleet.heartbeat_ms` no stretch of a proxy's statements goes unseen
 * between two heartbeats; at most what the recorder keeps.
 */
export function heartbeatLatencyWindowS(heartbeatMs: number, recorderWindowS: number): number {
  const cover = Math.ceil((LATENCY_HEARTBEAT_INTERVALS * heartbeatMs) / 1000);
  return Math.min(recorderWindowS, Math.max(CLIENT_P99_WINDOW_S, cover));
}

export interface WorstClientP99Input {
  /** This proxy's own p99 over the window asked, from its recorder (null with too few statements). */
  ownMs: number | null;
  selfId: string;
  view: readonly LiveProxy[];
  viewAgeMs: number;
  heartbeatMs: number;
  /** Statements a proxy's window needs before its p99 counts. */
  minSamples: number;
}

/**
 * The worst p99 of this proxy's (from its recorder) and every other live
 * proxy's whose heartbeat is fresh: at most LATENCY_HEARTBEAT_INTERVALS
 * old, and younger than its own latency window (an older one says nothing
 * about the last seconds). Proxies with fewer than `minSamples` statements
 * in their window are left out: a p99 of a handful of statements is noise.
 * Null when no proxy has enough statements.
 */
export function worstClientP99(input: WorstClientP99Input): ClientP99 | null {
  let worst = ownClientP99(input.ownMs);
  for (const p of input.view) {
    if (p.id === input.selfId) continue;
    const ageMs = p.heartbeatAgeMs + input.viewAgeMs;
    const maxAgeMs = Math.min(
      LATENCY_HEARTBEAT_INTERVALS * input.heartbeatMs,
      p.latency.windowSeconds * 1000,
    );
    if (ageMs > maxAgeMs) continue;
    const ms = p.latency.p99Ms;
    if (ms === null || p.latency.count < input.minSamples) continue;
    if (worst === null || ms > worst.ms) worst = { ms, proxy: p.id };
  }
  return worst;
}

/**
 * The controller's `clientP99` signal: `own(seconds)` is this proxy's p99
 * over the last `seconds`; `fleet()` is its membership once it has one
 * (before the proxy listens, and without a fleet, the signal is the
 * proxy's own p99).
 */
export function fleetClientP99(
  own: (seconds: number) => number | null,
  fleet: () => FleetLatencyView | null,
  options: { heartbeatMs: number; minSamples: number },
): (seconds: number) => ClientP99 | null {
  return (seconds) => {
    const member = fleet();
    return worstClientP99({
      ownMs: own(seconds),
      selfId: member?.id ?? '',
      view: member?.lastView ?? [],
      viewAgeMs: member?.viewAgeMs() ?? 0,
      heartbeatMs: options.heartbeatMs,
      minSamples: options.minSamples,
    });
  };
}
