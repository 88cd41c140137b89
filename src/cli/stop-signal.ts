/**
 * Resolves with the first SIGTERM or SIGINT: how `serve`, a worker and the
 * workers' primary are told to drain. Each handler runs once, so the same
 * signal sent again ends the process at once (a second Ctrl-C while a drain
 * hangs), while the other one is absorbed: a worker hit by the terminal's
 * SIGINT and then by the SIGTERM its primary passes on drains only once.
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}
