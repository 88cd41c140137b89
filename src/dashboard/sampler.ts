import { log } from '../proxy/log.ts';
import type { DashboardApi } from './api.ts';
import type { SeriesRing } from './series.ts';
import type { DashboardSources } from './sources.ts';
import { within } from './within.ts';

/**
 * Fills the series ring once a second from what the proxy already keeps
 * (the latency recorder's per-second histograms, the backfill progress, the
 * throttle state), so the statement path does no extra work for the page.
 * The state-store read it needs is the one the API shares.
 */
export class SeriesSampler {
  private timer: NodeJS.Timeout | null = null;
  private last: { migration: string; rowsDone: number; t: number } | null = null;
  private busy = false;

  constructor(
    private readonly sources: DashboardSources,
    private readonly api: DashboardApi,
    private readonly ring: SeriesRing,
  ) {}

  start(): void {
    const schedule = () => {
      // Just after a second ends, so the second read is complete.
      this.timer = setTimeout(tick, 1000 - (Date.now() % 1000) + 20).unref();
    };
    const tick = () => {
      if (!this.timer) return;
      schedule();
      if (this.busy) return;
      this.busy = true;
      this.sample()
        .catch((err: Error) => log.debug('dashboard sample failed', { error: err.message }))
        .finally(() => {
          this.busy = false;
        });
    };
    schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async sample(now = Date.now()): Promise<void> {
    const second = Math.floor(now / 1000) - 1;
    const h = this.sources.latency.second(second);
    // Never held up by a slow or unreachable database: the latency points matter most then.
    const status = await within(this.api.latest(), 500).catch(() => this.api.lastKnown);
    const inFlight = status && !['completed', 'rolled_back'].includes(status.phase) ? status : null;
    let rowsDone: number | null = null;
    let rowsPerSecond: number | null = null;
    if (inFlight && inFlight.backfill.length > 0) {
      rowsDone = this.api.progress(inFlight).reduce((a, t) => a + t.rowsDone, 0);
      if (this.last?.migration === inFlight.name && now > this.last.t) {
        rowsPerSecond = Math.max(0, ((rowsDone - this.last.rowsDone) * 1000) / (now - this.last.t));
      }
      this.last = { migration: inFlight.name, rowsDone, t: now };
    } else {
      this.last = null;
    }
    const backfilling = inFlight?.phase === 'backfilling';
    const throttle = this.sources.throttle;
    this.ring.push({
      t: (second + 1) * 1000,
      p50Ms: h && h.count > 0 ? h.quantileMs(0.5) : null,
      p99Ms: h && h.count > 0 ? h.quantileMs(0.99) : null,
      statements: h?.count ?? 0,
      rowsPerSecond: backfilling ? (rowsPerSecond ?? 0) : rowsPerSecond,
      rowsDone,
      baselineP99Ms: inFlight ? throttle.state.baselineP99Ms : null,
      throttled: backfilling && (throttle.isPaused || throttle.state.throttled),
      throttleReason: !backfilling ? null : throttle.isPaused ? 'paused' : throttle.state.reasonLabel,
      migration: inFlight?.name ?? null,
      phase: inFlight?.phase ?? null,
    });
  }
}
