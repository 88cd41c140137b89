/**
 * Runners of different schemas share one state table. A runner that
 * starts a migration while another is mid-action (its transaction has
 * touched the state table) must not queue a table lock behind it: that lock
 * would hold the newcomer until the other commits and, queued, make every
 * other runner's state write wait behind it too. And a state write is not
 * DDL: it waits for its locks rather than give up after the DDL's
 * `lock_timeout`, which failed a phase whose work was done.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { within } from '../helpers/deadline.ts';
import { type MigrationDb, migration, migrationDb } from './helpers/db.ts';

const createTable = (name: string) =>
  migration(`01_${name}`, [{ create_table: { name, columns: [{ name: 'id', type: 'int', pk: true }] } }]);

describe('starting beside another runner', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('state_locks');
    await db.sql.query('CREATE SCHEMA other; CREATE SCHEMA third');
    await (await db.engine()).start(createTable('first')); // creates the state tables
  });
  after(() => db.close());

  it('starts beside an open transaction on the state table and leaves other writers unblocked', async () => {
    const busy = await db.session();
    await busy.query('BEGIN');
    await busy.query("UPDATE shiftgate.migrations SET error = error WHERE schema_name = 'public'");
    try {
      const other = await db.engine({ schema: 'other' });
      const started = await within(
        'starting a migration in schema other',
        other.start(createTable('t')),
        5000,
      );
      assert.equal(started.phase, 'active');
      // A writer of another schema's row, as a runner's state update is, goes through at once.
      const writer = await db.session();
      await writer.query('SET lock_timeout = 500');
      await writer.query("UPDATE shiftgate.migrations SET error = error WHERE schema_name = 'third'");
    } finally {
      await busy.query('ROLLBACK');
    }
  });
});

describe('state writes and the DDL lock timeout', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('state_wait');
    await db.sql.query(`CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, 50) g;`);
  });
  after(() => db.close());

  it('a state write waits out a lock on the state table instead of failing the phase', async () => {
    const locker = await db.session();
    let locks = 0;
    // At every boundary of the expand phase, something else holds the state table for longer than
    // the 200 ms the DDL may wait: commits queued for the server's NOTIFY lock look like this.
    const engine = await db.engine({
      lock: { lockTimeoutMs: 200, maxAttempts: 2, baseDelayMs: 10 },
      crashPointForTests: async ({ phase }) => {
        if (phase !== 'expanding') return;
        locks++;
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE shiftgate.migrations IN SHARE MODE');
        setTimeout(() => void locker.query('COMMIT'), 500);
      },
    });
    const status = await engine.start(
      migration('02_email', [
        {
          add_column: { table: 'users', column: { name: 'email', type: 'text' }, up: "lower(name) || '@x'" },
        },
      ]),
    );
    assert.equal(status.phase, 'active');
    assert.ok(locks >= 2, `the state table was held at ${locks} boundaries`);
  });
});
