/**
 * The pacing throttle (the default `throttle.controller: pace`) end to end:
 * the backfill ramps up to its ceiling, client latency through the proxy
 * rises and the target rate falls within seconds, with the reason and the
 * last change in SHOW SHIFTGATE STATUS and the metrics; a latency the
 * backfill does not cause is found by a trial at double the rate and the
 * rate climbs back while it lasts; once latency recovers the rate rises again, all while the
 * backfill still runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertStillBackfilling,
  type EventsBackfill,
  openEventsBackfill,
  type StatusRow,
  startSleepLoad,
} from '../helpers/backfill-under-load.ts';

/**
 * The rate is capped at 5,000 rows/s (max_rate), so even a
 * backfill that ran at the cap for the whole test (about a minute at most)
 * would do 300,000 rows: 400,000 leave it mid-way at every check.
 */
const ROWS = 400_000;
const CEILING = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pacing backfill throttle (PostgreSQL)', () => {
  let fx: EventsBackfill;

  before(async () => {
    // Headroom 4, not 1.2: on a busy test machine the p99 of 2 ms statements moves by more than
    // 20% on its own. The raised latency (150 ms, or 8 x a slower baseline) is far above 4 x.
    fx = await openEventsBackfill('pace', ROWS, {
      'throttle.max_rate': String(CEILING),
      'throttle.max_batch': '500',
      'throttle.min_batch': '50',
      'throttle.latency_headroom': '4',
    });
  });

  after(() => fx.close());

  test('the target rate falls under raised client latency and rises again while the backfill runs', async (t) => {
    const { db, sg, status, rate } = fx;
    const load = await startSleepLoad(sg.via(db.url), 0.002);
    /** Polls STATUS until `ok` holds, for at most `ms`; returns the row that met it. */
    const until = async (ms: number, ok: (s: StatusRow) => boolean) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const s = await status();
        assertStillBackfilling(s);
        if (ok(s)) return s;
        await sleep(200);
      }
      return undefined;
    };
    try {
      await sleep(2000);
      await sg.admin(db.url, "SHIFTGATE START 'add_digest'");
      await sg.waitForPhase(db.url, 'backfilling');
      const first = await status();
      assert.equal(first.controller, 'pace');
      const baseline = Number(first.baseline_p99_ms);
      assert.ok(baseline > 1 && baseline < 250, `baseline p99 ${baseline} ms reflects the 2 ms load`);
      // Ramp-up: from start_rate (2,000) doubling each healthy second up to the 5,000 ceiling.
      const ramped = await until(10_000, (s) => Number(s.target_rate) >= CEILING);
      assert.ok(ramped, 'the rate ramped up to the ceiling within 10 s of a healthy latency');
      assert.match(ramped.last_change!, /^raised [\d,]+ -> 5,000 rows\/s \((ramp-up|probing)\)/);
      const freeRate = await rate();
      assert.ok(freeRate > CEILING / 3, `free rate ${freeRate} rows/s near the 5,000 target`);

      // Latency rises far above the headroom: within seconds the rate falls, and says why.
      load.set(Math.max(0.15, (8 * baseline) / 1000));
      const cut = await until(8_000, (s) => Number(s.target_rate) <= CEILING / 2);
      assert.ok(cut, 'the target rate fell to half within 8 s of the latency rise');
      assert.equal(cut.throttled, 'true');
      assert.match(cut.throttle_reason!, /^client p99 \d+(\.\d)?ms > 4 x baseline \d+(\.\d)?ms$/);
      assert.match(cut.last_change!, /^cut [\d,]+ -> [\d,]+ rows\/s: client p99 \d+(\.\d)?ms > 4 x baseline/);
      assert.ok(Number(cut.latency_cost) > 4, `latency cost ${cut.latency_cost} x baseline`);
      const metrics = await sg.sg.proxy.ctx.metrics.registry.metrics();
      assert.match(metrics, /shiftgate_throttle_active\{reason="client_p99"\} 1/);
      assert.match(metrics, /shiftgate_throttle_target_rate_rows_per_second \d+/);
      assert.match(metrics, /shiftgate_throttle_rate_changes\{direction="cut",reason="client_p99"\} [1-9]/);
      await sleep(2000);
      const slowRate = await rate();
      const lowest = Number((await status()).target_rate);
      assert.ok(
        slowRate < 0.75 * freeRate,
        `throttled rate ${slowRate} rows/s is well below the free ${freeRate}`,
      );

      // The load's own sleep does not follow the backfill's rate: the cuts did not relieve it, so a
      // trial doubles the rate, the p99 stays where it was, and it becomes the floor: the rate
      // climbs back under a limit of 4 x that floor while the latency stays up.
      const floored = await until(
        20_000,
        (s) => s.floor_p99_ms !== null && Number(s.target_rate) >= Math.min(CEILING, 1.4 * lowest),
      );
      assert.ok(floored, `the rate rose again over the floor within 20 s (lowest ${lowest} rows/s)`);
      assert.ok(
        Number(floored.floor_p99_ms) > 4 * baseline,
        `floor ${floored.floor_p99_ms} ms is the load's latency, above 4 x baseline ${baseline} ms`,
      );
      assert.match(floored.last_change!, /^raised [\d,]+ -> [\d,]+ rows\/s \((trial|recovering|probing)/);
      assert.match(
        await sg.sg.proxy.ctx.metrics.registry.metrics(),
        /shiftgate_throttle_floor_p99_seconds 0\.\d+/,
      );

      // Latency back to normal: the rate must climb again while the backfill still has rows.
      load.set(0.002);
      const raised = await until(
        25_000,
        (s) => Number(s.target_rate) >= Math.min(CEILING, 4 * lowest) && s.throttled === 'false',
      );
      assert.ok(raised, `the rate rose again within 25 s of latency recovering (lowest ${lowest} rows/s)`);
      assert.match(raised.last_change!, /^raised [\d,]+ -> [\d,]+ rows\/s \((recovering|probing|trial)/);
      assert.equal(raised.throttle_reason, null);
      const recoveredRate = await rate();
      assert.ok(
        recoveredRate > Math.max(1.5 * slowRate, freeRate / 2),
        `recovered rate ${recoveredRate} rows/s: throttled ${slowRate}, free ${freeRate}`,
      );
      t.diagnostic(
        `rows/s free ${freeRate}, throttled ${slowRate} (target ${lowest}), recovered ${recoveredRate} (target ${raised.target_rate}); last change: ${raised.last_change}`,
      );
      assert.match(
        await sg.sg.proxy.ctx.metrics.registry.metrics(),
        /shiftgate_throttle_active\{reason="client_p99"\} 0/,
      );
    } finally {
      await load.stop();
    }
    await sg.admin(db.url, 'SHIFTGATE ROLLBACK');
  });
});
