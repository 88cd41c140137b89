import type { LatencyRecorder } from '../proxy/latency-recorder.ts';
import type { SessionInfo } from '../proxy/session.ts';
import type { FleetSession, LatencySummary } from './heartbeat.ts';

/** One session as the heartbeat carries it. */
export function fleetSessionOf(i: SessionInfo): FleetSession {
  return {
    id: i.id,
    user: i.user,
    database: i.database,
    clientAddress: i.clientAddress,
    applicationName: i.applicationName,
    version: i.boundVersion,
    connectedAt: i.connectedAt.toISOString(),
    statements: i.statements,
    p99Ms: i.latency.quantileMs(0.99),
    adminOnly: !i.ranClientStatements,
    backendId: i.backendId,
  };
}

/** The recorder's last `seconds` as a summary: quantiles, and the histogram's non-empty slots. */
export function latencySummaryOf(
  recorder: LatencyRecorder,
  seconds: number,
  minSamples: number,
): LatencySummary {
  const window = recorder.window(seconds);
  const buckets: [number, number][] = [];
  window.counts.forEach((count, slot) => {
    if (count > 0) buckets.push([slot, count]);
  });
  return {
    windowSeconds: seconds,
    count: window.count,
    p50Ms: window.quantileMs(0.5, minSamples),
    p99Ms: window.quantileMs(0.99, minSamples),
    buckets,
  };
}
