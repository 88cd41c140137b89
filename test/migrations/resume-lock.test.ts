/**
 * `resume()` decides what to do from the migration record it reads under
 * the migration lock. Here another runner rolls the migration back between
 * the moment a resuming runner reads the record and the moment it takes
 * the lock: the resuming runner must see that nothing is in flight any
 * more, not carry the stale record forward and revive the migration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type MigrationDb, migration, migrationDb, rows } from './helpers/db.ts';
import { fingerprint } from './helpers/fingerprint.ts';

describe('resume reads the record under the lock', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('resume_lock');
    await db.sql.query(`CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, 3000) g;`);
  });
  after(() => db.close());

  it('does not revive a migration rolled back while it waited for the lock', async () => {
    const before = await fingerprint(db.sql);
    const m = migration('02_email', [
      { add_column: { table: 'users', column: { name: 'email', type: 'text' }, up: "lower(name) || '@x'" } },
    ]);
    // Interrupt the first run in the backfill.
    const first = await db.engine({ sizing: { minBatch: 10, maxBatch: 10, targetBatchMs: 1000 } });
    const abort = new AbortController();
    const started = first.start(m, { signal: abort.signal });
    while (
      (await rows(db.sql, "SELECT 1 FROM shiftgate.migrations WHERE phase = 'backfilling'").catch(() => []))
        .length === 0
    )
      await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    await started.catch((err: Error) => assert.equal(err.name, 'AbortError'));
    assert.equal((await first.status())!.phase, 'backfilling');

    const other = await db.engine();
    const resuming = await db.engine();
    // The other runner's whole rollback happens just before the resuming runner takes the lock.
    const conn = (resuming as unknown as { conn: { tryLock(schema: string): Promise<boolean> } }).conn;
    const tryLock = conn.tryLock.bind(conn);
    let raced = false;
    conn.tryLock = async (schema) => {
      if (!raced) {
        raced = true;
        assert.equal((await other.rollback()).phase, 'rolled_back');
      }
      return tryLock(schema);
    };
    const resumed = await resuming.resume();
    assert.ok(raced);
    assert.equal(resumed, null, 'nothing was in flight once the lock was taken');
    assert.deepEqual(await rows(db.sql, 'SELECT name, phase FROM shiftgate.migrations'), [
      { name: '02_email', phase: 'rolled_back' },
    ]);
    assert.deepEqual(await fingerprint(db.sql), before);
  });
});
