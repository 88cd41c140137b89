/**
 * Commands for the runner, accepted by any proxy of the fleet: PAUSE,
 * RESUME and SET issued on proxy B hold, release and tune the backfill
 * proxy A runs; ROLLBACK on B is carried out by A's runner (it holds the
 * migration lock) and B answers once the record says rolled back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually } from '../helpers/serve-process.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const ROWS = 100_000;

describe('fleet commands reach the runner on another proxy (PostgreSQL)', () => {
  let db: TestDatabase;
  let a: TestShiftgate;
  let b: TestShiftgate;
  let direct: pg.Client;

  const rowsDone = async () =>
    Number(
      (await direct.query('SELECT rows_done FROM shiftgate.backfill_checkpoints')).rows[0]?.rows_done ?? 0,
    );

  before(async () => {
    db = await createPgDatabase('fleet_commands');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await direct.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await direct.query(`INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, ${ROWS}) g`);
    const flags = { 'throttle.min_batch': '200', 'throttle.max_batch': '500' };
    a = await startTestShiftgate(db.url, { ...flags, 'fleet.proxy_id': 'proxy-a' });
    b = await startTestShiftgate(db.url, { ...flags, 'fleet.proxy_id': 'proxy-b' });
    for (const sg of [a, b]) {
      sg.writeMigration(
        '03_broken',
        [
          'operations:',
          '  - add_column:',
          '      table: users',
          '      column: { name: ratio, type: int, nullable: true }',
          '      up: "1 / (id - id)"',
        ].join('\n'),
      );
      sg.writeMigration(
        '02_email',
        [
          'operations:',
          '  - add_column:',
          '      table: users',
          '      column: { name: email, type: text, nullable: true }',
          `      up: "lower(name) || '@example.com'"`,
        ].join('\n'),
      );
    }
  });

  after(async () => {
    await a.stop();
    await b.stop();
    await direct.end();
    await db.drop();
  });

  test('PAUSE / RESUME / SET on B act on the backfill A runs; ROLLBACK on B is carried out by A', async () => {
    await a.admin(db.url, "SHIFTGATE START '02_email'");
    await eventually('the backfill runs on A', async () => ((await rowsDone()) > 0 ? true : undefined));
    assert.equal(a.sg.control?.runningMigration, '02_email');

    assert.deepEqual(await b.admin(db.url, 'SHIFTGATE PAUSE'), [{ status: 'backfill paused' }]);
    await eventually('A holds its backfill', async () =>
      (await a.admin(db.url, 'SHOW SHIFTGATE STATUS'))[0]?.throttle_reason === 'paused by operator'
        ? true
        : undefined,
    );
    const held = await rowsDone();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok((await rowsDone()) - held <= 500, 'at most the batch in flight finished while paused');

    await b.admin(db.url, 'SHIFTGATE SET max_batch = 300');
    await eventually('A applies the knob', async () =>
      a.sg.control?.throttle.knobs.max_batch === 300 ? true : undefined,
    );

    await b.admin(db.url, 'SHIFTGATE RESUME');
    await eventually('A carries on', async () => ((await rowsDone()) > held + 300 ? true : undefined), 5000);

    const [rolledBack] = await b.admin(db.url, 'SHIFTGATE ROLLBACK');
    assert.deepEqual(rolledBack, { name: '02_email', phase: 'rolled_back', status: 'rolled back' });
    const column = await direct.query(
      "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name LIKE '%email%'",
    );
    assert.equal(column.rows[0].n, 0, 'the new column is gone');
    const runners = await direct.query(
      `SELECT detail->>'runner' AS runner FROM shiftgate.events WHERE event = 'lease' ORDER BY id`,
    );
    assert.deepEqual(
      runners.rows.map((r) => r.runner),
      ['proxy-a'],
      'A ran the migration and its rollback, holding the lock throughout',
    );
    await eventually('the request is cleared', async () => {
      const r = await direct.query('SELECT rollback FROM shiftgate.fleet_controls');
      return r.rows[0]?.rollback === null ? true : undefined;
    });
  });

  test('a migration whose step failed waits for the operator: no proxy takes it over', async () => {
    await a.admin(db.url, "SHIFTGATE START '03_broken'");
    await eventually('the backfill fails', async () => {
      const [row] = await b
        .admin(db.url, 'SHOW SHIFTGATE MIGRATIONS')
        .then((rows) => rows.filter((r) => r.name === '03_broken'));
      return row?.error ? row : undefined;
    });
    // Several heartbeats of both proxies: neither runs the failed step again.
    await new Promise((r) => setTimeout(r, 3000));
    const leases = await direct.query(
      `SELECT detail->>'runner' AS runner FROM shiftgate.events WHERE migration = '03_broken' AND event = 'lease'`,
    );
    assert.deepEqual(
      leases.rows.map((r) => r.runner),
      ['proxy-a'],
    );
    const [rolledBack] = await b.admin(db.url, 'SHIFTGATE ROLLBACK');
    assert.equal(rolledBack!.phase, 'rolled_back');
  });
});
