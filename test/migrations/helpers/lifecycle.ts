/**
 * The lifecycle harness every operation's tests run through:
 *
 *   start -> check (physical schema, writes as the old and the new version)
 *   -> rollback -> the schema fingerprint equals the one before start
 *   -> start again -> check -> complete -> check the final schema
 *   -> nothing of Shiftgate's temporary objects is left.
 */
import assert from 'node:assert/strict';
import { type MigrationDb, migration, migrationDb } from './db.ts';
import { fingerprint, leftovers } from './fingerprint.ts';

export interface LifecycleCase {
  /** SQL that builds the schema (and data) before the migration. */
  setup: string;
  operations: unknown[];
  /** After start: the physical schema, and how writes by either version land. */
  afterStart?: (t: LifecycleContext) => Promise<void>;
  /** After complete. */
  afterComplete?: (t: LifecycleContext) => Promise<void>;
  /** After rollback, beyond the fingerprint (e.g. data kept). */
  afterRollback?: (t: LifecycleContext) => Promise<void>;
}

export interface LifecycleContext {
  db: MigrationDb;
  /** The migration's name = the new version. */
  version: string;
  /** 1 for the first start, 2 for the start after rollback. */
  round: number;
}

let counter = 0;

export async function runLifecycle(prefix: string, c: LifecycleCase): Promise<void> {
  const db = await migrationDb(prefix);
  try {
    await db.sql.query(c.setup);
    const version = `${String(++counter).padStart(2, '0')}_${prefix}`;
    const m = migration(version, c.operations);
    const engine = await db.engine({ sizing: { minBatch: 2, maxBatch: 50, targetBatchMs: 50 } });
    const before = await fingerprint(db.sql);

    const started = await engine.start(m);
    assert.equal(started.phase, 'active');
    await c.afterStart?.({ db, version, round: 1 });

    const rolled = await engine.rollback();
    assert.equal(rolled.phase, 'rolled_back');
    assert.deepEqual(await fingerprint(db.sql), before, 'rollback must restore the schema exactly');
    assert.deepEqual(await leftovers(db.sql), []);
    await c.afterRollback?.({ db, version, round: 1 });

    const again = await engine.start(m);
    assert.equal(again.phase, 'active');
    await c.afterStart?.({ db, version, round: 2 });

    const done = await engine.complete();
    assert.equal(done.phase, 'completed');
    assert.deepEqual(await leftovers(db.sql), []);
    await c.afterComplete?.({ db, version, round: 2 });
  } finally {
    await db.close();
  }
}
