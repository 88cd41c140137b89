import type {
  Aggregator,
  MetricObjectWithValues,
  MetricValue,
  PrometheusContentType,
  Registry,
} from 'prom-client';
import * as promClient from 'prom-client';
import type { MetricsSource } from './http.ts';

/**
 * The aggregator of a metric every worker reads from state they share (the
 * fleet's heartbeats, the migration in flight, the fleet-wide throttle):
 * summing would count it once per worker, and prom-client's `max` turns NaN
 * (a worker that does not run the backfill has no target rate) into the
 * answer. So the highest value any worker knows, NaN only when none knows
 * one. prom-client types only its own names; this one exists in the
 * process that aggregates once `workerMetrics` has been called.
 */
export const SHARED_STATE = 'max_known' as unknown as Aggregator;

type Values = MetricObjectWithValues<MetricValue<string>>;

function maxKnown(metrics: Values[]): Values | undefined {
  const first = metrics[0];
  if (!first) return undefined;
  const bySeries = new Map<string, MetricValue<string>>();
  for (const metric of metrics) {
    for (const value of metric.values) {
      const key = `${(value as { metricName?: string }).metricName ?? ''}${JSON.stringify(value.labels)}`;
      const known = bySeries.get(key);
      if (!known || Number.isNaN(known.value) || value.value > known.value) bySeries.set(key, value);
    }
  }
  return { ...first, values: [...bySeries.values()] };
}

/**
 * /metrics of a process group: in the cluster primary, every worker's
 * registry scraped over IPC and aggregated (counters and histograms summed,
 * `SHARED_STATE` metrics by their highest known value), so one scrape sees
 * the whole group.
 */
export function workerMetrics(): MetricsSource {
  const { aggregators } = promClient as unknown as { aggregators: Record<string, typeof maxKnown> };
  aggregators[SHARED_STATE] = maxKnown;
  const aggregate = new promClient.AggregatorRegistry<PrometheusContentType>();
  return { metrics: () => aggregate.clusterMetrics(), contentType: aggregate.contentType };
}

/** In a worker: answers the primary's metrics requests with `registry`. */
export function answerWorkerMetrics(registry: Registry): void {
  // The constructor installs the IPC listener; the registries it answers with are set apart.
  new promClient.AggregatorRegistry();
  promClient.AggregatorRegistry.setRegistries([registry]);
}
