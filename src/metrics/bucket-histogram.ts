import type { MetricValueWithName, Registry } from 'prom-client';

/** What the relay holds: one observation is a bucket search and three additions. */
export interface HistogramHandle {
  observe(value: number): void;
}

interface Series {
  readonly labels: Record<string, string>;
  /** Per bucket (not cumulative), the last slot for +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram with one label, observed once per client
 * statement on the relay's hot path. prom-client's Histogram hashes the
 * label set and walks its buckets on every `observe` (about a microsecond
 * here); this one keeps plain per-bucket counts per label value and builds
 * the usual `_bucket` / `_sum` / `_count` series only when the registry is
 * read. Registered in a prom-client registry like any metric.
 *
 * @example
 * const duration = new BucketHistogram({ name: 'statement_duration_seconds', help: '...', labelName: 'dialect', buckets: [0.001, 0.01], registers: [registry] });
 * duration.labels('postgres').observe(0.0042);
 */
export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelName: string;
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, Series & HistogramHandle>();

  constructor(config: {
    name: string;
    help: string;
    labelName: string;
    buckets: readonly number[];
    registers: Registry[];
  }) {
    this.name = config.name;
    this.help = config.help;
    this.labelName = config.labelName;
    this.bounds = Float64Array.from([...config.buckets].sort((a, b) => a - b));
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  labels(value: string): HistogramHandle {
    let series = this.series.get(value);
    if (!series) {
      const bounds = this.bounds;
      series = {
        labels: { [this.labelName]: value },
        counts: new Float64Array(bounds.length + 1),
        sum: 0,
        count: 0,
        observe(v: number) {
          let i = 0;
          while (i < bounds.length && v > bounds[i]!) i++;
          this.counts[i]! += 1;
          this.sum += v;
          this.count += 1;
        },
      };
      this.series.set(value, series);
    }
    return series;
  }

  /** The series in prom-client's shape: cumulative buckets with `le`, then `_sum` and `_count`, per label value. */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: MetricValueWithName<string>[];
  }> {
    const values: MetricValueWithName<string>[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    this.series.clear();
  }
}
