/**
 * Wire defects real drivers ran into, each pinned by the driver that found
 * it: bulk statements with more than 32,767 parameters, and the backend
 * pid a driver reports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import postgres from 'postgres';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';

describe('PostgreSQL wire regressions', () => {
  let db: TestDatabase;
  let proxy: TestPgProxy;
  let url: string;

  before(async () => {
    db = await createPgDatabase('wire_regress');
    proxy = await startPgProxy(db.url);
    url = proxy.via(db.url);
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  test('parameter counts are unsigned: 40,000 and 65,000 typed parameters (postgres.js prepares them by name)', async () => {
    // postgres.js sends a type for every parameter in its Parse, so the count is read by the proxy.
    const sql = postgres(url, { max: 1, prepare: true });
    try {
      for (const n of [40_000, 65_000]) {
        const placeholders = Array.from({ length: n }, (_, i) => `($${i + 1}::int)`).join(',');
        const values = Array.from({ length: n }, (_, i) => i);
        const rows = await sql.unsafe(
          `SELECT count(*)::int AS n, sum(v)::bigint AS total FROM (VALUES ${placeholders}) t(v)`,
          values,
          { prepare: true },
        );
        assert.deepEqual(
          rows.map((r) => ({ ...r })),
          [{ n, total: String((n * (n - 1)) / 2) }],
        );
      }
      // The session is still healthy.
      const [one] = await sql`SELECT 1 AS one`;
      assert.equal(one!.one, 1);
    } finally {
      await sql.end();
    }
  });

  test("the driver's backend pid is the server's: pg_backend_pid, pg_stat_activity and pg_terminate_backend agree", async () => {
    const client = new pg.Client({ connectionString: url, application_name: 'pid-check' });
    await client.connect();
    client.on('error', () => {});
    const pid = (client as unknown as { processID: number }).processID;
    assert.equal((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      const seen = await other.query('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [pid]);
      assert.deepEqual(seen.rows, [{ application_name: 'pid-check' }]);
      const sleeping = client.query('SELECT pg_sleep(20)').then(
        () => 'finished',
        (e: { code?: string }) => e.code ?? 'no code',
      );
      await new Promise((r) => setTimeout(r, 200));
      const killed = await other.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
      assert.equal(killed.rows[0].ok, true);
      assert.equal(await sleeping, '57P01');
    } finally {
      await other.end();
      await client.end().catch(() => {});
    }
    // postgres.js reads the same key for its cancel requests: they still go through the proxy's map.
    const sql = postgres(url, { max: 1 });
    try {
      const [row] = await sql`SELECT pg_backend_pid() AS pid`;
      const sleeping = sql`SELECT pg_sleep(20)`.execute();
      await new Promise((r) => setTimeout(r, 200));
      sleeping.cancel();
      await assert.rejects(sleeping, { code: '57014' });
      const [again] = await sql`SELECT pg_backend_pid() AS pid`;
      assert.equal(again!.pid, row!.pid);
    } finally {
      await sql.end();
    }
  });
});
