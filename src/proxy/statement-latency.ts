import type { ProxyContext } from './context.ts';
import type { SessionInfo } from './session.ts';

/**
 * Records one client statement's latency (request sent upstream until its
 * response is complete) everywhere it is read: the session's own histogram,
 * the proxy-wide window the throttle reads, and the Prometheus histogram.
 */
export function recordStatementLatency(ctx: ProxyContext, info: SessionInfo, micros: number): void {
  info.statements += 1;
  info.latency.record(micros);
  ctx.latency.record(micros);
  ctx.metrics.statementDuration.labels(info.dialect).observe(micros / 1e6);
}
