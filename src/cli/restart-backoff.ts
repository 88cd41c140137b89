/** How a crashed worker is started again, and when crashing has become a loop. */
export interface RestartPolicy {
  /** Delay before the first restart; doubled for each further crash inside the window. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** This many crashes of one worker within `loopWindowMs` is a crash loop: no more restarts. */
  loopCrashes: number;
  loopWindowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  firstDelayMs: 250,
  maxDelayMs: 8000,
  loopCrashes: 5,
  loopWindowMs: 60_000,
};

/**
 * The restart schedule of one worker slot: each crash answers how long to
 * wait before starting it again, growing while crashes come close together
 * and starting over once they stop; null when the worker is crashing in a
 * loop, which restarts would only hide.
 *
 * @example
 * const backoff = new RestartBackoff();
 * const delay = backoff.onCrash(Date.now()); // 250, then 500, 1000 ... or null
 */
export class RestartBackoff {
  private crashes: number[] = [];

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  onCrash(now: number): number | null {
    const { firstDelayMs, maxDelayMs, loopCrashes, loopWindowMs } = this.policy;
    this.crashes = [...this.crashes.filter((at) => now - at < loopWindowMs), now];
    if (this.crashes.length >= loopCrashes) return null;
    return Math.min(maxDelayMs, firstDelayMs * 2 ** (this.crashes.length - 1));
  }
}
