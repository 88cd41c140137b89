import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { BatchedCounter } from './batched-counter.ts';
import { BucketHistogram } from './bucket-histogram.ts';

/**
 * The proxy's Prometheus metrics, one registry per running proxy so tests
 * can run several proxies in one process. Every wire metric carries a
 * `dialect` label.
 */
export class ProxyMetrics {
  readonly registry = new Registry();

  readonly clientConnections = new Gauge({
    name: 'shiftgate_client_connections',
    help: 'Client sessions currently connected to the proxy',
    labelNames: ['dialect'] as const,
    registers: [this.registry],
  });

  /** Observed per client statement: plain bucket counts, not prom-client's per-call label hashing. */
  readonly statementDuration = new BucketHistogram({
    name: 'shiftgate_statement_duration_seconds',
    help: 'Client statement latency through the proxy, from the request sent upstream to the end of its response',
    labelName: 'dialect',
    buckets: [
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ],
    registers: [this.registry],
  });

  readonly upstreamConnectErrors = new Counter({
    name: 'shiftgate_upstream_connect_errors_total',
    help: 'Failed attempts to open an upstream connection',
    labelNames: ['dialect'] as const,
    registers: [this.registry],
  });

  readonly protocolErrors = new Counter({
    name: 'shiftgate_protocol_errors_total',
    help: 'Client sessions closed because they sent a malformed or oversized message',
    labelNames: ['dialect'] as const,
    registers: [this.registry],
  });

  /** Added to per chunk relayed: a running total, moved into the counter when scraped. */
  readonly clientBytesReceived = new BatchedCounter({
    name: 'shiftgate_client_received_bytes_total',
    help: 'Bytes received from clients',
    labelName: 'dialect',
    registers: [this.registry],
  });

  /** Added to per chunk relayed: a running total, moved into the counter when scraped. */
  readonly clientBytesSent = new BatchedCounter({
    name: 'shiftgate_client_sent_bytes_total',
    help: 'Bytes sent to clients',
    labelName: 'dialect',
    registers: [this.registry],
  });

  /** Added to per client statement while a migration is in flight: a running total, moved into the counter when scraped. */
  readonly translations = new BatchedCounter({
    name: 'shiftgate_translations_total',
    help: 'Client statements looked at by the translator, by result: rewritten, passthrough, refused',
    labelName: 'result',
    registers: [this.registry],
  });

  readonly switchHeld = new Counter({
    name: 'shiftgate_switch_held_statements_total',
    help: 'Client statements held while a migration switched their tables, by outcome: released, timed_out (answered 55P03)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Set by the router's owner: where the translation cache counts come from. */
  translationCacheCounts: () => { hits: number; misses: number } = () => ({ hits: 0, misses: 0 });

  readonly translationCache = new Counter({
    name: 'shiftgate_translation_cache_total',
    help: 'Translation plan cache lookups by result: hit, miss',
    labelNames: ['result'] as const,
    registers: [this.registry],
    collect: () => {
      const { hits, misses } = this.translationCacheCounts();
      this.translationCache.reset();
      this.translationCache.labels('hit').inc(hits);
      this.translationCache.labels('miss').inc(misses);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
