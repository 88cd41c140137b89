/**
 * The pacing control law on synthetic and recorded client p99 series, and
 * the controller that delivers its rate as small batches at a regular
 * interval (driven by a fake clock).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ClientError } from '../../src/proxy/client-error.ts';
import { ownClientP99, ThrottleController } from '../../src/throttle/controller.ts';
import { setKnob, type ThrottleKnobs } from '../../src/throttle/knobs.ts';
import { initialPace, type PaceState, paceStep, rateCeiling } from '../../src/throttle/pace.ts';

/** Default knobs: pace, start 2,000 rows/s, 100..10,000 rows a batch every 10 ms, headroom 1.2. */
const knobs: ThrottleKnobs = loadConfig({ env: {} }).throttle;

/** A seeded generator (mulberry32) so every run sees the same noise. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A steady state at `rate` rows/s, out of the ramp, with no congestion yet. */
function steady(rate: number): PaceState {
  return { ...initialPace(knobs), rate, mode: 'steady' };
}

/** Feeds one reading a second; returns the state after each. */
function feed(
  start: PaceState,
  series: (number | null)[],
  baseline: number | null,
  k: ThrottleKnobs = knobs,
  t0 = 0,
): PaceState[] {
  const out: PaceState[] = [];
  let s = start;
  series.forEach((p99, i) => {
    s = paceStep(s, k, {
      nowMs: t0 + (i + 1) * 1000,
      clientP99Ms: p99,
      replicaLagMs: null,
      baselineP99Ms: baseline,
      capacity: null,
    });
    out.push(s);
  });
  return out;
}

const rates = (states: PaceState[]) => states.map((s) => s.rate);
const cuts = (states: PaceState[], from: number) =>
  states.filter((s, i) => s.rate < (i === 0 ? from : states[i - 1]!.rate)).length;

describe('pace law: synthetic series', () => {
  test('noisy steady state in the hysteresis band holds the rate, single spikes included', () => {
    const rnd = random(7);
    // Baseline 10 ms: p99 wanders between 1.10 and 1.20 x (between the raise and cut marks),
    // and every seventh second one reading jumps to 2.5 x.
    const series = Array.from({ length: 120 }, (_, i) => (i % 7 === 3 ? 25 : 11 + rnd() * 0.9));
    const states = feed(steady(20_000), series, 10);
    assert.deepEqual(new Set(rates(states)), new Set([20_000]), 'the rate never moved');
    assert.ok(states.every((s) => !s.throttled));
    assert.equal(states.at(-1)!.lastChange, null);
  });

  test('a slow second, seen by the two overlapping readings that cover it, does not cut', () => {
    // Each reading covers 2 s, so one slow second shows twice in a row; a median of three cut on it.
    const series = Array.from({ length: 60 }, (_, i) => (i % 8 === 4 || i % 8 === 5 ? 40 : 11.5));
    const states = feed(steady(30_000), series, 10);
    assert.equal(cuts(states, 30_000), 0, `rates: ${rates(states).join(' ')}`);
    // Three slow readings in a row (a rise lasting two seconds or more) do cut.
    assert.ok(cuts(feed(steady(30_000), [11.5, 11.5, 40, 40, 40], 10), 30_000) === 1);
  });

  test('noise below the raise mark with isolated spikes only ever raises the rate', () => {
    const rnd = random(11);
    const series = Array.from({ length: 60 }, (_, i) => (i % 5 === 2 ? 60 : 8 + rnd() * 2.5));
    const states = feed(steady(5_000), series, 10);
    assert.equal(cuts(states, 5_000), 0, 'a single slow second never cuts');
    assert.ok(states.at(-1)!.rate > 5_000);
    assert.equal(states.at(-1)!.rate, rateCeiling(knobs), 'probing reaches the rate ceiling');
  });

  test('probing above the last congested rate steps harder while latency stays low, gently again after a hold', () => {
    const states = feed(steady(1_000), [8, 8, 8, 8, 8, 8, 11.5, 11.5, 11.5, 11.5, 11.5, 8, 8, 8, 8, 8], 10);
    assert.deepEqual(
      rates(states).slice(0, 6),
      [1_000, 1_250, 1_875, 3_281.25, 6_562.5, 13_125],
      'x1.25, x1.5, x1.75, then x2 at most',
    );
    // The median of five lags two readings: the first two in-band readings still raised (x2).
    assert.deepEqual(rates(states).slice(6, 8), [26_250, 52_500]);
    assert.deepEqual(rates(states).slice(8, 14), Array(6).fill(52_500), 'held in the hysteresis band');
    assert.deepEqual(
      rates(states).slice(14),
      [52_500 * 1.25, 52_500 * 1.25 * 1.5],
      'gentle again after the hold',
    );
  });

  test('a sustained rise cuts the rate within seconds, proportionally and bounded, and says why', () => {
    // In the hysteresis band (11..12 ms) the rate holds; then the p99 doubles.
    const base = Array(10).fill(11.5);
    const states = feed(steady(40_000), [...base, ...Array(10).fill(20)], 10);
    const risen = states.slice(10);
    // The median of five needs three slow readings: the cut comes on the third.
    assert.deepEqual(rates(risen.slice(0, 2)), [40_000, 40_000]);
    assert.equal(risen[2]!.rate, 24_000, 'x0.6: 12 ms limit over the 20 ms level, within x0.5..x0.8');
    assert.equal(risen[2]!.lastChange, 'cut 40,000 -> 24,000 rows/s: client p99 20ms > 1.2 x baseline 10ms');
    assert.equal(risen[2]!.reason, 'client p99 20ms > 1.2 x baseline 10ms');
    assert.equal(risen[2]!.reasonLabel, 'client_p99');
    assert.equal(risen[2]!.lastChangeKey, 'cut/client_p99');
    assert.ok(risen[2]!.throttled);
    assert.equal(risen[2]!.latencyCost, 2);
    // The next cut waits until the readings can show the first one (4 s), then cuts again.
    assert.deepEqual(rates(risen.slice(3, 6)), [24_000, 24_000, 24_000]);
    assert.equal(risen[6]!.rate, 14_400);
    // Down to under half of where the episode began with the p99 where it was: not the backfill's.
    assert.deepEqual(rates(risen.slice(7)), Array(3).fill(14_400), 'held, not starved');
    assert.ok(
      risen.every((s, i) => i === 0 || s.rate >= 0.5 * risen[i - 1]!.rate),
      'never more than halved',
    );
  });

  test('a latency far above the limit cuts every second; once it does not follow the rate a trial doubles it, and a p99 that climbs with it sends the rate back', () => {
    const states = feed(steady(40_000), [...Array(8).fill(200), ...Array(20).fill(500)], 10);
    assert.equal(states[0]!.rate, 40_000, 'one reading is not a sustained rise');
    assert.equal(states[1]!.rate, 20_000);
    assert.ok(states[4]!.throttled);
    assert.equal(states[4]!.reason, 'client p99 200ms > 1.2 x baseline 10ms');
    // Halved and the p99 still at 200 ms: it holds instead of starving, then tries double the rate.
    assert.deepEqual(rates(states).slice(1, 5), Array(4).fill(20_000));
    assert.equal(states[5]!.rate, 40_000);
    assert.match(
      states[5]!.lastChange!,
      /^raised 20,000 -> 40,000 rows\/s \(trial: cuts did not lower client p99 200ms/,
    );
    // The p99 climbs to 500 ms during the trial: it is the backfill's, the rate goes back and on down.
    const back = states.findIndex((s) => s.lastChangeKey === 'cut/trial');
    assert.ok(back > 5 && back <= 10, `trial ended at second ${back + 1}: ${rates(states).join(' ')}`);
    assert.equal(
      states[back]!.lastChange,
      'cut 40,000 -> 20,000 rows/s (trial: client p99 rose 200 -> 500ms with the rate)',
    );
    assert.equal(states.at(-1)!.rate, 10_000);
    assert.equal(states.at(-1)!.floorMs, null, 'no floor: the p99 followed the rate');
    // A p99 that keeps climbing keeps cutting, down to min_rate and never below.
    const climbing = feed(
      steady(40_000),
      Array.from({ length: 12 }, (_, i) => 100 * 2 ** Math.max(0, i - 1)),
      10,
    );
    assert.equal(climbing.at(-1)!.rate, knobs.min_rate);
    assert.equal(climbing.at(-1)!.floorMs, null);
  });

  test('a p99 the rate cannot lower (the sync trigger, a step any backfill costs) becomes the floor, and the rate comes back', () => {
    // Baseline 1 ms; a severe spike, then the p99 settles at 1.6 ms whatever the rate. Judged
    // against the baseline, the backfill would stay at the bottom until it ends.
    const series = [...Array(5).fill(1.15), 1.8, 1.8, 2.6, 2.6, 2.6, ...Array(60).fill(1.6)];
    const states = feed(steady(60_000), series, 1);
    const low = Math.min(...rates(states));
    assert.equal(Math.round(low), 15_000, `rates: ${rates(states).join(' ')}`);
    // The last cut that lowered the p99 (2.6 -> 1.6 ms) is the last one: 1.6 ms does not follow.
    const floored = states.findIndex((s) => s.floorMs !== null);
    assert.ok(floored > 0 && floored < 25, `floor set at second ${floored + 1}`);
    assert.ok(
      states.some((s) => s.lastChangeKey === 'raised/trial'),
      'found by a trial at double the rate',
    );
    assert.equal(states[floored]!.floorMs, 1.6);
    const back = states.findIndex((s, i) => i > floored && s.rate >= 60_000);
    assert.ok(back > 0 && back - floored <= 10, `back at 60,000 rows/s ${back - floored} s after`);
    assert.equal(states[back]!.throttled, false);
    assert.ok(
      states.slice(floored).every((s, i, a) => i === 0 || s.rate >= a[i - 1]!.rate),
      'no cut at 1.6 ms once it is the floor',
    );
    // A cut past the floor is judged against it and says so.
    const cut = feed(states.at(-1)!, Array(8).fill(2.5), 1, knobs, 70_000).find((s) =>
      s.lastChange?.startsWith('cut'),
    );
    assert.match(cut!.lastChange!, /client p99 2\.5ms > 1\.2 x floor 1\.6ms$/);
  });

  test('the floor follows the level down once it is clearly under it, not on noise', () => {
    const floored: PaceState = { ...steady(40_000), floorMs: 1.6 };
    assert.equal(feed(floored, Array(6).fill(1.5), 1).at(-1)!.floorMs, 1.6, 'within the band: kept');
    const eased = feed(floored, Array(6).fill(0.9), 1);
    assert.equal(eased.at(-1)!.floorMs, 0.9, 'the load that raised it has eased');
    // Then 1.7 ms is judged against the baseline again.
    const later = feed(eased.at(-1)!, Array(6).fill(1.7), 1, knobs, 6_000);
    assert.match(
      later.find((s) => s.lastChange?.startsWith('cut'))!.lastChange!,
      /> 1\.2 x baseline 1\.0ms$/,
    );
  });

  test('replica lag during a trial sends the rate back at once', () => {
    let s: PaceState = { ...steady(20_000), trial: { fromRate: 10_000, levelMs: 2, untilMs: 10_000 } };
    s = paceStep(s, knobs, {
      nowMs: 1000,
      clientP99Ms: 2,
      replicaLagMs: 5_000,
      baselineP99Ms: 1,
      capacity: null,
    });
    assert.equal(s.rate, 10_000);
    assert.equal(s.trial, null);
    assert.equal(s.lastChange, 'cut 20,000 -> 10,000 rows/s (trial: replica lag)');
    assert.equal(s.floorMs, null);
  });

  test('the absolute ceiling and replica lag never become a floor', () => {
    const k = { ...knobs, max_client_p99_ms: 5 };
    const states = feed(steady(40_000), Array(40).fill(8), 10, k);
    assert.equal(states.at(-1)!.floorMs, null);
    assert.ok(states.at(-1)!.rate <= 20_000);
  });

  test('recovery raises the rate back to where latency rose, without a cut on the way', () => {
    const states = feed(
      steady(40_000),
      [...Array(5).fill(11.5), ...Array(3).fill(60), ...Array(40).fill(10)],
      10,
    );
    const low = Math.min(...rates(states));
    assert.equal(low, 20_000, 'halved, then held');
    const recovery = states.slice(states.findIndex((s) => s.rate === low));
    const after = recovery.slice(recovery.findIndex((_, i) => i > 0 && recovery[i]!.levelMs! <= 10));
    for (let i = 1; i < after.length; i++)
      assert.ok(after[i]!.rate >= after[i - 1]!.rate, `no cut while recovering (second ${i})`);
    const back = after.findIndex((s) => s.rate >= 40_000);
    assert.ok(back > 0 && back <= 12, `back at 40,000 rows/s ${back} s after latency recovered`);
    assert.equal(after[back]!.throttled, false, 'back at the knee: no longer throttled');
    assert.equal(after[back]!.reason, null);
    assert.match(
      states.find((s) => s.lastChange?.includes('recovering'))!.lastChange!,
      /^raised .* \(recovering/,
    );
  });

  test('closed loop: against a load whose p99 grows with the rate, it settles under the limit without oscillating', () => {
    // p99 = 10 ms x (1 + 0.5 (rate / 50,000)^2) with noise; a reading shows the rate of the second before.
    // The limit 12 ms is met at 31,600 rows/s.
    const rnd = random(3);
    const k = { ...knobs, max_batch: 20_000 };
    let s = initialPace(k);
    let previousRate = s.rate;
    const trace: { rate: number; p99: number }[] = [];
    for (let i = 1; i <= 180; i++) {
      const p99 = 10 * (1 + 0.5 * (previousRate / 50_000) ** 2) * (0.95 + 0.1 * rnd());
      previousRate = s.rate;
      s = paceStep(s, k, {
        nowMs: i * 1000,
        clientP99Ms: p99,
        replicaLagMs: null,
        baselineP99Ms: 10,
        capacity: null,
      });
      trace.push({ rate: s.rate, p99 });
    }
    const late = trace.slice(60);
    const mean = late.reduce((a, x) => a + x.rate, 0) / late.length;
    const p99s = late.map((x) => x.p99).sort((a, b) => a - b);
    assert.ok(
      mean > 0.5 * 31_600 && mean < 1.1 * 31_600,
      `mean rate ${mean.toFixed(0)} near the 31,600 equilibrium`,
    );
    assert.ok(p99s[Math.floor(p99s.length / 2)]! <= 12, 'median reading within 1.2 x baseline');
    const changes = late.filter((x, i) => i > 0 && x.rate < late[i - 1]!.rate).length;
    assert.ok(changes <= 12, `${changes} cuts in two minutes: a slow sawtooth, not an oscillation`);
    assert.ok(Math.min(...late.map((x) => x.rate)) >= 0.25 * 31_600, 'never starved');
  });

  test('ramp-up: starts at start_rate, doubles on each healthy reading, halves at the first rise', () => {
    const states = feed(initialPace(knobs), [10, 10, 10, 10, 30, 30, 10], 10);
    assert.equal(initialPace(knobs).rate, 2_000);
    // The fifth reading is slow but the median of three (while ramping) is not: still ramping.
    assert.deepEqual(rates(states).slice(0, 5), [4_000, 8_000, 16_000, 32_000, 64_000]);
    assert.equal(states[3]!.lastChange, 'raised 16,000 -> 32,000 rows/s (ramp-up): client p99 10ms < 11ms');
    assert.equal(states[5]!.rate, 32_000, 'the first sustained rise ends the ramp with a halving');
    assert.equal(states[5]!.mode, 'steady');
    assert.equal(
      states[5]!.knee,
      32_000,
      'the readings lag the doubling: the knee is half the rate cut from',
    );
  });

  test('a ramp held at the rate ceiling is cut as a steady rate is, with the knee at that rate', () => {
    const k = { ...knobs, max_rate: 10_000 };
    const states = feed(initialPace(k), [10, 10, 10, 10, 14, 14, 14], 10, k);
    assert.deepEqual(rates(states).slice(0, 4), [4_000, 8_000, 10_000, 10_000]);
    const cut = states.find((s) => s.mode === 'steady')!;
    assert.ok(cut.rate > 5_000, `cut in proportion, not halved: ${cut.rate}`);
    assert.equal(cut.knee, 10_000);
  });

  test('bounds: rate ceiling from max_batch per interval or max_rate, measured capacity, min_rate', () => {
    assert.equal(rateCeiling(knobs), 1_000_000, '10,000 rows every 10 ms');
    assert.equal(rateCeiling({ ...knobs, max_rate: 5_000 }), 5_000);
    const capped = paceStep({ ...initialPace(knobs), rate: 30_000 }, knobs, {
      nowMs: 1000,
      clientP99Ms: null,
      replicaLagMs: null,
      baselineP99Ms: null,
      capacity: 32_000,
    });
    assert.equal(capped.rate, 32_000, 'no target above what batches deliver back to back');
    assert.equal(feed(steady(100), [500, 500, 500], 10).at(-1)!.rate, 100);
  });

  test('the absolute ceiling and replica lag cut too, with their labels; no signal at all ramps freely', () => {
    const k = { ...knobs, max_client_p99_ms: 50 };
    const ceiling = feed(steady(10_000), [80, 80], null, k).at(-1)!;
    assert.equal(ceiling.reason, 'client p99 80ms > ceiling 50ms');
    assert.equal(ceiling.reasonLabel, 'client_p99_ceiling');
    const lag = paceStep(steady(10_000), knobs, {
      nowMs: 1000,
      clientP99Ms: 10,
      replicaLagMs: 1500,
      baselineP99Ms: 10,
      capacity: null,
    });
    assert.equal(lag.rate, 5_000);
    assert.equal(lag.reason, 'replica lag 1500ms > max 1000ms');
    assert.equal(lag.reasonLabel, 'replica_lag');
    const free = feed(initialPace(knobs), Array(9).fill(null), null);
    assert.equal(free.at(-1)!.rate, 1_000_000);
    assert.match(free[0]!.lastChange!, /too few client statements to measure$/);
  });
});

interface Recording {
  note: string;
  baselineP99Ms: number;
  /** Reading indexes [from, to) of the sustained rise (other work, then an unthrottled backfill). */
  rise: [number, number];
  readings: (number | null)[];
}

describe('pace law: recorded series', () => {
  const rec = JSON.parse(
    readFileSync(new URL('./fixtures/pgbench-200tps-with-backfill.json', import.meta.url), 'utf8'),
  ) as Recording;
  const [from, to] = rec.rise;
  const states = feed(steady(20_000), rec.readings, rec.baselineP99Ms);

  test('the recorded steady state before the rise does not take the rate down', () => {
    const before = states.slice(0, from);
    assert.ok(
      before.at(-1)!.rate >= 20_000,
      `rate ${before.at(-1)!.rate} after ${from} s of recorded noise: ${rates(before).join(' ')}`,
    );
  });

  test('the recorded rise cuts the rate within seconds of its start', () => {
    const during = states.slice(from, to);
    const firstCut = during.findIndex(
      (s, i) => s.rate < (i === 0 ? states[from - 1]!.rate : during[i - 1]!.rate),
    );
    assert.ok(
      firstCut >= 0 && firstCut <= 5,
      `first cut ${firstCut} s into the rise: ${rates(during).join(' ')}`,
    );
    assert.ok(Math.min(...rates(during)) <= 0.5 * states[from - 1]!.rate);
  });

  test('after the recorded rise the rate climbs again', () => {
    const during = states.slice(from, to);
    const after = states.slice(to);
    assert.ok(
      after.at(-1)!.rate > 2 * Math.min(...rates(during)),
      `after: ${rates(after).join(' ')}; during: ${rates(during).join(' ')}`,
    );
  });
});

describe('ThrottleController (pace)', () => {
  /** A controller on a fake clock: sleeping advances it. */
  function paced(k: ThrottleKnobs, p99: () => number | null = () => null) {
    let now = 0;
    const controller = new ThrottleController(
      k,
      { clientP99: () => ownClientP99(p99()), replicaLagMs: () => null },
      async (ms) => {
        now += ms;
      },
      () => now,
    );
    controller.setBaseline(10);
    const request = { migration: 'm', table: 't', proposedBatchSize: 1000, rowsDone: 0, rowsTotal: 1e9 };
    /** Runs one batch of `durationMs`; returns its start time and size. */
    const batch = async (durationMs: number) => {
      const grant = await controller.beforeBatch(request);
      const start = now;
      now += durationMs;
      controller.afterBatch({
        migration: 'm',
        table: 't',
        rows: grant.batchSize,
        batchSize: grant.batchSize,
        durationMs,
      });
      return { start, size: grant.batchSize };
    };
    return { controller, batch, clock: () => now };
  }

  test('delivers the target rate as rate x interval batches at a regular interval', async () => {
    const k = { ...knobs, start_rate: 5_000, latency_headroom: 1_000, pace_interval_ms: 100 };
    const { controller, batch } = paced(k, () => 10);
    const b: { start: number; size: number }[] = [];
    for (let i = 0; i < 10; i++) b.push(await batch(5));
    assert.deepEqual(
      b.map((x) => x.size),
      Array(10).fill(500),
      '5,000 rows/s in 100 ms steps',
    );
    assert.deepEqual(
      b.slice(1).map((x, i) => x.start - b[i]!.start),
      Array(9).fill(100),
      'one batch every 100 ms, its own 5 ms included',
    );
    for (let i = 0; i < 10; i++) b.push(await batch(5));
    assert.equal(
      controller.state.targetRate,
      5_000,
      'no decision before the p99 window (2 s) covers the backfill alone: the expand DDL came before',
    );
    const next = await batch(5);
    assert.equal(next.start, 2000);
    assert.equal(controller.state.targetRate, 10_000, 'two seconds in: ramp doubled the rate');
    assert.equal(next.size, 1000);
    assert.equal(controller.state.controller, 'pace');
  });

  test('default knobs: small batches every 10 ms', async () => {
    const { batch } = paced({ ...knobs, start_rate: 50_000, latency_headroom: 1_000 });
    const b: { start: number; size: number }[] = [];
    for (let i = 0; i < 5; i++) b.push(await batch(2));
    assert.deepEqual(
      b.map((x) => x.size),
      Array(5).fill(500),
    );
    assert.deepEqual(
      b.slice(1).map((x, i) => x.start - b[i]!.start),
      Array(4).fill(10),
    );
  });

  test('a slow batch is not followed by a catch-up burst', async () => {
    // A long target batch time, so the slow batch does not also shrink the next ones.
    const { batch } = paced({ ...knobs, start_rate: 5_000, target_batch_ms: 1000, pace_interval_ms: 100 });
    const a = await batch(400);
    const b = await batch(5);
    const c = await batch(5);
    assert.equal(b.start - a.start, 400, 'the next batch starts when the slow one ends');
    assert.equal(c.start - b.start, 100, 'and the one after keeps the regular interval');
  });

  test('small rates stretch the interval instead of shrinking batches below min_batch', async () => {
    const { batch } = paced({ ...knobs, start_rate: 200 });
    const a = await batch(2);
    const b = await batch(2);
    assert.equal(a.size, 100);
    assert.equal(b.start - a.start, 500, '100 rows at 200 rows/s: one batch every 500 ms');
  });

  test('batches stay under target_batch_ms once their speed is known', async () => {
    const { controller, batch } = paced({
      ...knobs,
      start_rate: 200_000,
      max_batch: 20_000,
      pace_interval_ms: 100,
    });
    assert.equal((await batch(200)).size, 20_000, '200,000 rows/s in 100 ms steps');
    // 100,000 rows/s of batch work: 10,000 rows take the 100 ms target.
    assert.equal((await batch(250)).size, 10_000);
    // 10,000 rows in 250 ms: the smoothed speed falls to 0.3 x 40,000 + 0.7 x 100,000 rows/s.
    assert.equal(controller.state.size, 8_200);
  });

  test('pause holds the paced batch until resume and says so', async () => {
    const controller = new ThrottleController(knobs, { clientP99: () => null, replicaLagMs: () => null });
    controller.pause();
    let granted = false;
    const pending = controller
      .beforeBatch({ migration: 'm', table: 't', proposedBatchSize: 1000, rowsDone: 0, rowsTotal: 10 })
      .then(() => {
        granted = true;
      });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(granted, false);
    assert.equal(controller.state.reason, 'paused by operator');
    assert.equal(controller.state.reasonLabel, 'paused');
    controller.resume();
    await pending;
    assert.equal(granted, true);
  });

  test('SET controller switches the law; a lowered max_rate bounds the pace at once', () => {
    assert.equal(setKnob(knobs, 'controller', 'AIMD').controller, 'aimd');
    assert.equal(setKnob(knobs, 'controller', 'fixed').controller, 'fixed');
    assert.throws(
      () => setKnob(knobs, 'controller', 'fast'),
      (e) => e instanceof ClientError && e.sqlstate === '22023',
    );
    assert.throws(
      () => setKnob({ ...knobs, min_rate: 500 }, 'max_rate', '100'),
      (e) => e instanceof ClientError && /min_rate/.test(e.message),
    );
    assert.equal(setKnob(knobs, 'max_rate', '1500').max_rate, 1500);
    const controller = new ThrottleController(knobs, { clientP99: () => null, replicaLagMs: () => null });
    assert.equal(controller.state.targetRate, 2_000);
    controller.knobs = setKnob(knobs, 'max_rate', '1500');
    assert.equal(controller.state.targetRate, 1_500);
    controller.knobs = setKnob(controller.knobs, 'controller', 'aimd');
    assert.equal(controller.state.targetRate, null);
    assert.equal(controller.state.controller, 'aimd');
  });

  test('fixed: batches sized toward target_batch_ms, each followed by nice_ratio x its time', async () => {
    const slept: number[] = [];
    const controller = new ThrottleController(
      { ...knobs, controller: 'fixed', nice_ratio: 0.5, min_batch: 1000, max_batch: 1000 },
      { clientP99: () => ownClientP99(500), replicaLagMs: () => null },
      async (ms) => {
        slept.push(ms);
      },
    );
    controller.setBaseline(10);
    const request = { migration: 'm', table: 't', proposedBatchSize: 1000, rowsDone: 0, rowsTotal: 10 };
    assert.deepEqual(await controller.beforeBatch(request), { batchSize: 1000, reason: null });
    controller.afterBatch({ migration: 'm', table: 't', rows: 1000, batchSize: 1000, durationMs: 40 });
    assert.deepEqual(await controller.beforeBatch(request), { batchSize: 1000, reason: null });
    assert.deepEqual(slept, [20], 'latency is ignored; the sleep is half the last batch');
  });
});
