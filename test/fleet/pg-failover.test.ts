/**
 * One backfill runner with failover: proxy A starts a migration over 200k
 * rows and is killed with SIGKILL mid-backfill; proxy B takes the migration
 * lock within 5 s and resumes from the checkpoint. An audit trigger counts
 * the updates each row received from committed batches: exactly one each,
 * so no batch was applied twice or skipped; every value is what an
 * uninterrupted run computes; the migration's events show the handover.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { auditCounts, createAuditedUsers, emailMigrationFolder } from '../helpers/audited-users.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveFleet } from '../helpers/serve-process.ts';

const ROWS = 200_000;

describe('backfill runner failover (PostgreSQL, proxy processes)', () => {
  let db: TestDatabase;
  let direct: pg.Client;
  const proxies = new Map<string, ServedProxy>();

  const query = async (name: string, sql: string) => {
    const client = new pg.Client({ connectionString: proxies.get(name)!.proxyUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, string | null>[];
    } finally {
      await client.end();
    }
  };
  const leases = async () =>
    (
      await direct.query<{ runner: string; phase: string }>(
        `SELECT detail->>'runner' AS runner, phase FROM shiftgate.events WHERE event = 'lease' ORDER BY id`,
      )
    ).rows;

  before(async () => {
    db = await createPgDatabase('failover');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await createAuditedUsers(direct, ROWS);
    const migrations = emailMigrationFolder();
    const started = await serveFleet(['proxy-a', 'proxy-b'], {
      upstream: db.url,
      migrations,
      // Small batches: the backfill takes long enough to be interrupted in the middle.
      'throttle-min-batch': '500',
      'throttle-max-batch': '1000',
    });
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    await direct.end();
    await db.drop();
  });

  test('kill -9 of the runner mid-backfill: another proxy resumes within 5 s; every row updated once', async () => {
    await query('proxy-a', "SHIFTGATE START '02_email'");
    await eventually('the backfill is under way on proxy A', async () => {
      const [row] = await query('proxy-b', 'SHOW SHIFTGATE STATUS');
      return row?.phase === 'backfilling' && Number(row.rows_done) >= 10_000 ? row : undefined;
    });
    const runningOn = await query('proxy-b', 'SHOW SHIFTGATE PROXIES');
    assert.equal(runningOn.find((r) => r.proxy === 'proxy-a')?.runs_migration, '02_email');

    const a = proxies.get('proxy-a')!;
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    proxies.delete('proxy-a');
    const doneAtKill = Number(
      (await direct.query('SELECT rows_done FROM shiftgate.backfill_checkpoints')).rows[0].rows_done,
    );
    assert.ok(doneAtKill < ROWS, `killed mid-backfill (${doneAtKill} of ${ROWS} rows done)`);

    await eventually(
      'proxy B takes the migration over',
      async () => ((await leases()).some((l) => l.runner === 'proxy-b') ? true : undefined),
      5000,
    );
    const handover = Date.now() - killedAt;
    assert.ok(handover < 5000, `handed over after ${handover} ms`);
    assert.deepEqual(
      (await leases()).map((l) => `${l.runner}:${l.phase}`),
      ['proxy-a:pending', 'proxy-b:backfilling'],
      'the migration record shows who ran it and the handover',
    );

    await eventually(
      'the migration is active',
      async () =>
        (await query('proxy-b', 'SHOW SHIFTGATE STATUS'))[0]?.phase === 'active' ? true : undefined,
      120_000,
    );
    assert.deepEqual(
      await auditCounts(direct),
      { updates: ROWS, rows: ROWS },
      'each row updated by exactly one batch',
    );

    await query('proxy-b', 'SHIFTGATE COMPLETE');
    const wrong = await direct.query(
      `SELECT count(*)::int AS n FROM users WHERE email IS DISTINCT FROM lower(replace(name, ' ', '.')) || '@example.com'`,
    );
    assert.equal(wrong.rows[0].n, 0, 'every value is what an uninterrupted run computes');
    assert.equal((await direct.query('SELECT count(*)::int AS n FROM users')).rows[0].n, ROWS);
  });
});
