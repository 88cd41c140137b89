/**
 * The relay's per-chunk and per-statement metrics (BatchedCounter,
 * BucketHistogram) export exactly what prom-client's own Counter and
 * Histogram export for the same increments and observations: each is
 * compared, in one registry scrape, with a prom-client metric fed the same
 * values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { BatchedCounter } from '../../src/metrics/batched-counter.ts';
import { BucketHistogram } from '../../src/metrics/bucket-histogram.ts';

const BUCKETS = [0.0001, 0.001, 0.01, 0.1, 1];

/** The lines of one metric in a scrape, its name made neutral so two metrics compare. */
async function exposition(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.includes(name))
    .map((line) => line.replaceAll(name, 'metric'));
}

describe('hot-path metrics', () => {
  test('BucketHistogram exports what prom-client Histogram does', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new BucketHistogram({
      name: 'fast',
      help: 'h',
      labelName: 'dialect',
      buckets: BUCKETS,
      registers: [ours],
    });
    const plain = new Histogram({
      name: 'plain',
      help: 'h',
      labelNames: ['dialect'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    // Values on the bounds, between them, below the first and above the last.
    const values = [0, 0.0001, 0.00011, 0.0005, 0.001, 0.0099, 0.01, 0.5, 1, 7.5, 1e-9];
    for (const [i, v] of values.entries()) {
      const dialect = i % 3 === 0 ? 'mysql' : 'postgres';
      fast.labels(dialect).observe(v);
      plain.labels(dialect).observe(v);
    }
    const want = await exposition(theirs, 'plain');
    assert.ok(want.length > 10, 'the control exports series');
    assert.deepEqual(await exposition(ours, 'fast'), want);
    // The JSON shape tests and the dashboard read.
    const count = (await fast.get()).values.find(
      (v) => v.metricName === 'fast_count' && v.labels.dialect === 'postgres',
    );
    assert.equal(count?.value, values.filter((_, i) => i % 3 !== 0).length);
  });

  test('BatchedCounter totals reach the counter at every scrape, and only once', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new BatchedCounter({
      name: 'fast_total',
      help: 'h',
      labelName: 'dialect',
      registers: [ours],
    });
    const plain = new Counter({
      name: 'plain_total',
      help: 'h',
      labelNames: ['dialect'],
      registers: [theirs],
    });
    const handle = fast.labels('postgres');
    for (const n of [10, 20, 30]) {
      handle.inc(n);
      plain.labels('postgres').inc(n);
    }
    assert.deepEqual(await exposition(ours, 'fast_total'), await exposition(theirs, 'plain_total'));
    // A second scrape with nothing new must not add the same total again.
    assert.deepEqual(await exposition(ours, 'fast_total'), await exposition(theirs, 'plain_total'));
    fast.labels('postgres').inc(5);
    fast.labels('mysql').inc(7);
    plain.labels('postgres').inc(5);
    plain.labels('mysql').inc(7);
    assert.deepEqual(await exposition(ours, 'fast_total'), await exposition(theirs, 'plain_total'));
    const got = (await fast.get()).values.find((v) => v.labels.dialect === 'postgres');
    assert.equal(got?.value, 65);
  });
});
