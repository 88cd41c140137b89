/**
 * The throttle end to end: client latency through the proxy rises while a
 * backfill runs, the backfill slows down within seconds and says why in
 * SHOW SHIFTGATE STATUS, and it speeds up again once latency recovers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

describe('latency-aware backfill throttle (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;

  before(async () => {
    db = await createPgDatabase('throttle');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)');
    await setup.query("INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, 300000) g");
    await setup.end();
    // Small batches so the backfill takes long enough to watch.
    sg = await startTestShiftgate(db.url, { 'throttle.max_batch': '1000', 'throttle.min_batch': '50' });
    sg.writeMigration(
      'add_digest',
      'operations:\n  - add_column:\n      table: events\n      column: { name: digest, type: text }\n      up: "md5(payload)"\n',
    );
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  test('raised client latency slows the backfill with a visible reason; it recovers afterwards', async () => {
    let sleepSeconds = 0.002;
    let running = true;
    const clients = await Promise.all(
      [1, 2].map(async () => {
        const c = new pg.Client({ connectionString: sg.via(db.url) });
        await c.connect();
        return c;
      }),
    );
    const load = clients.map(async (c) => {
      while (running) await c.query(`SELECT pg_sleep(${sleepSeconds})`);
    });
    const status = async () => (await sg.admin(db.url, 'SHOW SHIFTGATE STATUS'))[0]!;
    const rowsDone = async () => Number((await status()).rows_done ?? 0);
    try {
      // Baseline: the minute before the backfill (here: two seconds of 2 ms statements).
      await new Promise((r) => setTimeout(r, 2000));
      await sg.admin(db.url, "SHIFTGATE START 'add_digest'");
      await sg.waitForPhase(db.url, 'backfilling');
      const baseline = Number((await status()).baseline_p99_ms);
      assert.ok(baseline > 1 && baseline < 50, `baseline p99 ${baseline} ms reflects the 2 ms load`);

      await new Promise((r) => setTimeout(r, 1000));
      const freeStart = await rowsDone();
      await new Promise((r) => setTimeout(r, 1000));
      const freeRate = (await rowsDone()) - freeStart;

      // Latency rises tenfold: within a few seconds the throttle must engage and say why.
      sleepSeconds = 0.03;
      let throttled: Record<string, string | null> | undefined;
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        const s = await status();
        if (s.throttled === 'true' && s.throttle_reason?.startsWith('client p99')) {
          throttled = s;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(throttled, 'the backfill was throttled within 8 s of the latency rise');
      assert.match(throttled.throttle_reason!, /^client p99 \d+(\.\d)?ms > 1\.2 x baseline \d+(\.\d)?ms$/);
      const slowStart = await rowsDone();
      await new Promise((r) => setTimeout(r, 1000));
      const slowRate = (await rowsDone()) - slowStart;
      assert.ok(
        slowRate < freeRate / 2,
        `throttled rate ${slowRate} rows/s is well below the free rate ${freeRate}`,
      );
      const metrics = await sg.sg.proxy.ctx.metrics.registry.metrics();
      assert.match(metrics, /shiftgate_throttle_active\{reason="client_p99"\} 1/);

      // Latency back to normal: the 5 s window clears and the backfill speeds up again.
      sleepSeconds = 0.002;
      let recovered = false;
      const until = Date.now() + 20000;
      while (Date.now() < until) {
        const s = await status();
        if (s.phase !== 'backfilling' || s.throttled === 'false') {
          recovered = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(recovered, 'the throttle released after latency recovered');
      await sg.waitForPhase(db.url, 'active', 120000);
    } finally {
      running = false;
      await Promise.all(load);
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
