/**
 * The AIMD throttle (`throttle.controller: aimd`) end to end: client latency through the proxy rises while a
 * backfill runs, the backfill slows down within seconds and says why in
 * SHOW SHIFTGATE STATUS, and once latency recovers the controller lets it
 * run freely again while it still has rows to do: recovery is seen in the
 * middle of the backfill, never inferred from a backfill that finished.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EventsBackfill, openEventsBackfill, startSleepLoad } from '../helpers/backfill-under-load.ts';

/**
 * Sized so the backfill cannot end before the checks: the free pace is
 * capped by `max_batch` (each batch one short transaction; 20,000 to
 * 110,000 rows a second on these machines), it runs freely for at most
 * about 5 s before the throttle engages and again for about 5 s once it
 * releases, throttled it moves a few hundred rows a second, and the
 * recovered pace is measured for 1 s more: a local run released at about
 * 280,000 rows, so 1,200,000 leave a margin of more than half the table
 * even at the fastest pace seen.
 */
const ROWS = 1_200_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AIMD backfill throttle (PostgreSQL)', () => {
  let fx: EventsBackfill;

  before(async () => {
    // A headroom of 4 (not the default 1.2): on a busy test machine the
    // backfill's own load alone lifts the p99 of 2 ms statements past 1.2 x
    // baseline, and a free phase that throttles itself has no free rate to
    // compare with. The raised latency (150 ms, or 8 x a slower
    // baseline) is far above 4 x baseline.
    fx = await openEventsBackfill('throttle', ROWS, {
      'throttle.controller': 'aimd',
      'throttle.max_batch': '500',
      'throttle.min_batch': '50',
      'throttle.latency_headroom': '4',
    });
  });

  after(() => fx.close());

  test('raised client latency slows the backfill with a visible reason; it recovers while the backfill still runs', async (t) => {
    const { db, sg, status, rate } = fx;
    const load = await startSleepLoad(sg.via(db.url), 0.002);
    try {
      // Baseline: the minute before the backfill (here: two seconds of 2 ms statements).
      await sleep(2000);
      await sg.admin(db.url, "SHIFTGATE START 'add_digest'");
      await sg.waitForPhase(db.url, 'backfilling');
      const baseline = Number((await status()).baseline_p99_ms);
      // Loose bounds: other tests share the machine's two cores, and the p99 of a 2 ms statement there can reach tens of ms.
      assert.ok(baseline > 1 && baseline < 250, `baseline p99 ${baseline} ms reflects the 2 ms load`);
      await sleep(500);
      const freeRate = await rate();

      // Latency rises far above the headroom: within seconds the throttle must engage and say why.
      load.set(Math.max(0.15, (8 * baseline) / 1000));
      let throttled: Record<string, string | null> | undefined;
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        const s = await status();
        if (s.throttled === 'true' && s.throttle_reason?.startsWith('client p99')) {
          throttled = s;
          break;
        }
        await sleep(200);
      }
      assert.ok(throttled, 'the backfill was throttled within 8 s of the latency rise');
      assert.match(throttled.throttle_reason!, /^client p99 \d+(\.\d)?ms > 4 x baseline \d+(\.\d)?ms$/);
      const slowRate = await rate();
      const slowBatch = Number((await status()).batch_size);
      assert.ok(
        slowRate < freeRate / 2,
        `throttled rate ${slowRate} rows/s is well below the free rate ${freeRate}`,
      );
      const metrics = await sg.sg.proxy.ctx.metrics.registry.metrics();
      assert.match(metrics, /shiftgate_throttle_active\{reason="client_p99"\} 1/);

      // Latency back to normal: once the 5 s window clears and the delay has
      // wound down, the throttle releases, and that must happen mid-backfill.
      load.set(0.002);
      let released: Record<string, string | null> | undefined;
      const until = Date.now() + 20000;
      while (Date.now() < until) {
        const s = await status();
        assert.equal(
          s.phase,
          'backfilling',
          `the backfill still ran while the throttle had not released: ${JSON.stringify(s)}`,
        );
        if (s.throttled === 'false') {
          released = s;
          break;
        }
        await sleep(100);
      }
      assert.ok(released, 'the throttle released within 20 s of latency recovering');
      assert.equal(released.throttle_reason, null);
      assert.ok(
        Number(released.rows_done) < Number(released.rows_total),
        `released with rows left: ${released.rows_done} of ${released.rows_total}`,
      );
      // And the pace comes back: the same second now moves many times the throttled rows.
      const recoveredRate = await rate();
      // The batch ceiling the congestion halved grows back too, not only the delay that went away.
      const recoveredBatch = Number((await status()).batch_size);
      assert.ok(
        recoveredBatch >= 4 * slowBatch,
        `recovered batch size ${recoveredBatch} is well above the throttled ${slowBatch}`,
      );
      assert.ok(
        recoveredRate > Math.max(4 * slowRate, freeRate / 4),
        `recovered rate ${recoveredRate} rows/s: throttled ${slowRate}, free ${freeRate}`,
      );
      t.diagnostic(
        `rows/s free ${freeRate}, throttled ${slowRate}, recovered ${recoveredRate}; batch throttled ${slowBatch}, recovered ${recoveredBatch}; released at ${released.rows_done} of ${released.rows_total}`,
      );
      assert.match(
        await sg.sg.proxy.ctx.metrics.registry.metrics(),
        /shiftgate_throttle_active\{reason="client_p99"\} 0/,
      );
    } finally {
      await load.stop();
    }
    // The rest of the backfill proves nothing here: undo the migration instead of waiting for it.
    await sg.admin(db.url, 'SHIFTGATE ROLLBACK');
  });
});
