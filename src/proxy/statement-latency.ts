import type { ProxyContext } from './context.ts';
import type { SessionInfo } from './session.ts';

/**
 * What a session calls with each client statement's latency (request sent
 * upstream until its response is complete), recording it everywhere it is
 * read: the session's own histogram, the proxy-wide window the throttle
 * reads, and the Prometheus histogram. Made once per session, so the
 * Prometheus series is looked up once, not per statement.
 *
 * @example
 * const recordLatency = statementLatencyRecorder(ctx, info); // at session start
 * recordLatency(420); // a 420 us statement
 */
export function statementLatencyRecorder(ctx: ProxyContext, info: SessionInfo): (micros: number) => void {
  const duration = ctx.metrics.statementDuration.labels(info.dialect);
  const proxyWide = ctx.latency;
  return (micros) => {
    info.statements += 1;
    info.latency.record(micros);
    proxyWide.record(micros);
    duration.observe(micros / 1e6);
  };
}
