/** The AIMD throttle controller driven by synthetic latency series: decisions, sizes, delays and reasons. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ClientError } from '../../src/proxy/client-error.ts';
import {
  decide,
  ownClientP99,
  sizeForTarget,
  ThrottleController,
  type ThrottleState,
} from '../../src/throttle/controller.ts';
import { setKnob, type ThrottleKnobs } from '../../src/throttle/knobs.ts';

/** The AIMD controller with the default knobs: 100 ms target, 100..10000 rows, headroom 1.2. */
const knobs: ThrottleKnobs = { ...loadConfig({ env: {} }).throttle, controller: 'aimd' };

function initial(baseline: number | null): ThrottleState {
  return {
    controller: 'aimd',
    targetRate: null,
    latencyCost: null,
    floorP99Ms: null,
    lastChange: null,
    ceiling: knobs.max_batch,
    size: 1000,
    delayMs: 0,
    throttled: false,
    reason: null,
    reasonLabel: null,
    baselineP99Ms: baseline,
    clientP99Ms: null,
  };
}

function run(series: (number | null)[], baseline: number | null, k: ThrottleKnobs = knobs): ThrottleState[] {
  const out: ThrottleState[] = [];
  let state = initial(baseline);
  for (const p99 of series) {
    state = decide(state, k, { clientP99Ms: p99, replicaLagMs: null, paused: false });
    out.push(state);
  }
  return out;
}

describe('throttle decisions', () => {
  test('latency within headroom: no throttle, ceiling stays at max_batch', () => {
    const states = run([30, 32, 35, 36, 30], 30);
    for (const s of states) {
      assert.equal(s.throttled, false);
      assert.equal(s.reason, null);
      assert.equal(s.delayMs, 0);
      assert.equal(s.ceiling, 10000);
    }
  });

  test('p99 above headroom x baseline: ceiling halves and delay doubles each batch, with the reason', () => {
    const states = run([60, 60, 60, 60], 30);
    assert.deepEqual(
      states.map((s) => s.ceiling),
      [5000, 2500, 1250, 625],
    );
    assert.deepEqual(
      states.map((s) => s.delayMs),
      [100, 200, 400, 800],
    );
    assert.equal(states[0]!.reason, 'client p99 60ms > 1.2 x baseline 30ms');
    assert.equal(states[0]!.reasonLabel, 'client_p99');
    assert.ok(states.every((s) => s.throttled));
  });

  test('the batch ceiling never drops below min_batch and the delay is capped', () => {
    const states = run(Array(20).fill(500), 30);
    assert.equal(states.at(-1)!.ceiling, knobs.min_batch);
    assert.equal(states.at(-1)!.delayMs, 3000);
  });

  test('recovery: delay halves, ceiling grows additively, reason says recovering until free', () => {
    const states = run([60, 60, 60, 30, 30, 30, 30, 30, 30], 30);
    const recovering = states.slice(3);
    assert.deepEqual(
      recovering.map((s) => s.delayMs),
      [200, 100, 50, 25, 0, 0],
    );
    assert.equal(recovering[0]!.reason, 'recovering: client p99 60ms > 1.2 x baseline 30ms');
    assert.equal(recovering.at(-1)!.reason, null);
    assert.equal(recovering.at(-1)!.throttled, false);
    assert.deepEqual(
      recovering.slice(0, 3).map((s) => s.ceiling),
      [1750, 2250, 2750],
    );
  });

  test('absolute ceiling applies even without a baseline', () => {
    const k = { ...knobs, max_client_p99_ms: 50 };
    const [s] = run([80], null, k);
    assert.equal(s!.reason, 'client p99 80ms > ceiling 50ms');
    assert.equal(s!.reasonLabel, 'client_p99_ceiling');
    const [ok] = run([80], null, knobs);
    assert.equal(ok!.throttled, false, 'no baseline and no ceiling: nothing to compare with');
  });

  test('no latency signal (too few statements) counts as healthy', () => {
    assert.equal(run([null, null], 30).at(-1)!.throttled, false);
  });

  test('replica lag above its maximum throttles first', () => {
    const s = decide(initial(30), knobs, { clientP99Ms: 60, replicaLagMs: 2500, paused: false });
    assert.equal(s.reason, 'replica lag 2500ms > max 1000ms');
    assert.equal(s.reasonLabel, 'replica_lag');
  });

  test('sizeForTarget moves the batch toward the target time, at most 2x per step', () => {
    assert.equal(sizeForTarget(1000, 50, knobs), 2000);
    assert.equal(sizeForTarget(1000, 200, knobs), 500);
    assert.equal(sizeForTarget(1000, 10, knobs), 2000, 'capped at 2x');
    assert.equal(sizeForTarget(9000, 10, knobs), 10000, 'capped at max_batch');
    assert.equal(sizeForTarget(150, 1000, knobs), 100, 'floored at min_batch');
  });
});

describe('ThrottleController (aimd)', () => {
  test('grants min(size for target, ceiling) and waits the delay before a congested batch', async () => {
    let p99: number | null = 30;
    const slept: number[] = [];
    const controller = new ThrottleController(
      knobs,
      { clientP99: () => ownClientP99(p99), replicaLagMs: () => null },
      async (ms) => {
        slept.push(ms);
      },
    );
    controller.setBaseline(30);
    const request = { migration: 'm', table: 't', proposedBatchSize: 1000, rowsDone: 0, rowsTotal: 10 };
    const first = await controller.beforeBatch(request);
    assert.deepEqual(first, { batchSize: 1000, reason: null });
    controller.afterBatch({ migration: 'm', table: 't', rows: 1000, batchSize: 1000, durationMs: 50 });
    p99 = 90;
    const congested = await controller.beforeBatch(request);
    assert.equal(congested.batchSize, 2000, 'size for target is 2000, ceiling 5000');
    assert.equal(congested.reason, 'client p99 90ms > 1.2 x baseline 30ms');
    assert.deepEqual(slept, [100]);
    await controller.beforeBatch(request);
    await controller.beforeBatch(request);
    assert.equal(controller.state.ceiling, 1250);
    assert.equal((await controller.beforeBatch(request)).batchSize, 625);
  });

  test('pause holds the batch until resume; the reason says so', async () => {
    const controller = new ThrottleController(knobs, { clientP99: () => null, replicaLagMs: () => null });
    controller.pause();
    let granted = false;
    const pending = controller
      .beforeBatch({ migration: 'm', table: 't', proposedBatchSize: 1000, rowsDone: 0, rowsTotal: 10 })
      .then(() => {
        granted = true;
      });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(granted, false);
    assert.equal(controller.state.reason, 'paused by operator');
    controller.resume();
    await pending;
    assert.equal(granted, true);
  });

  test('live knobs: SHIFTGATE SET values are validated', () => {
    const changed = setKnob(knobs, 'max_batch', '500');
    assert.equal(changed.max_batch, 500);
    assert.equal(setKnob(knobs, 'max_client_p99_ms', '25').max_client_p99_ms, 25);
    assert.equal(
      setKnob({ ...knobs, max_client_p99_ms: 25 }, 'max_client_p99_ms', 'null').max_client_p99_ms,
      null,
    );
    for (const [name, value] of [
      ['max_batch', 'lots'],
      ['min_batch', '1.5'],
      ['min_batch', '20000'],
      ['latency_headroom', '0.5'],
      ['target_batch_ms', 'null'],
      ['no_such_knob', '1'],
    ] as const) {
      assert.throws(
        () => setKnob(knobs, name, value),
        (e) => e instanceof ClientError && e.sqlstate === '22023',
        `${name} = ${value}`,
      );
    }
    const controller = new ThrottleController(knobs, { clientP99: () => null, replicaLagMs: () => null });
    controller.knobs = changed;
    assert.equal(controller.state.ceiling, 500, 'the ceiling follows a lowered max_batch at once');
  });
});
