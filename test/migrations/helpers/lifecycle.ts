/**
 * The lifecycle harness every operation's tests run through:
 *
 *   start -> check (physical schema, writes as the old and the new version)
 *   -> rollback -> the schema fingerprint equals the one before start
 *   -> start again -> check -> complete -> check the final schema
 *   -> nothing of Shiftgate's temporary objects is left.
 *
 * The same flow runs on every engine: `runLifecycleOn` takes the engine's
 * test database (how to open it, fingerprint it and find leftovers).
 */
import assert from 'node:assert/strict';
import type { EngineOptions, MigrationEngine } from '../../../src/migrations/index.ts';
import { type MigrationDb, migration, migrationDb } from './db.ts';
import { fingerprint, leftovers } from './fingerprint.ts';

export interface LifecycleCase<Db = MigrationDb> {
  /** SQL that builds the schema (and data) before the migration. */
  setup: string;
  operations: unknown[];
  /** After start: the physical schema, and how writes by either version land. */
  afterStart?: (t: LifecycleContext<Db>) => Promise<void>;
  /** After complete. */
  afterComplete?: (t: LifecycleContext<Db>) => Promise<void>;
  /** After rollback, beyond the fingerprint (e.g. data kept). */
  afterRollback?: (t: LifecycleContext<Db>) => Promise<void>;
}

export interface LifecycleContext<Db = MigrationDb> {
  db: Db;
  /** The migration's name = the new version. */
  version: string;
  /** 1 for the first start, 2 for the start after rollback. */
  round: number;
}

/** One engine's throwaway database as the lifecycle needs it. */
export interface LifecycleDatabase<Db> {
  db: Db;
  setup(sql: string): Promise<void>;
  engine(options: Partial<EngineOptions>): Promise<MigrationEngine>;
  fingerprint(): Promise<unknown>;
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

let counter = 0;

export async function runLifecycleOn<Db>(
  open: (prefix: string) => Promise<LifecycleDatabase<Db>>,
  prefix: string,
  c: LifecycleCase<Db>,
): Promise<void> {
  const t = await open(prefix);
  const db = t.db;
  try {
    await t.setup(c.setup);
    const version = `${String(++counter).padStart(2, '0')}_${prefix}`;
    const m = migration(version, c.operations);
    const engine = await t.engine({ sizing: { minBatch: 2, maxBatch: 50, targetBatchMs: 50 } });
    const before = await t.fingerprint();

    const started = await engine.start(m);
    assert.equal(started.phase, 'active');
    await c.afterStart?.({ db, version, round: 1 });

    const rolled = await engine.rollback();
    assert.equal(rolled.phase, 'rolled_back');
    assert.deepEqual(await t.fingerprint(), before, 'rollback must restore the schema exactly');
    assert.deepEqual(await t.leftovers(), []);
    await c.afterRollback?.({ db, version, round: 1 });

    const again = await engine.start(m);
    assert.equal(again.phase, 'active');
    await c.afterStart?.({ db, version, round: 2 });

    const done = await engine.complete();
    assert.equal(done.phase, 'completed');
    assert.deepEqual(await t.leftovers(), []);
    await c.afterComplete?.({ db, version, round: 2 });
  } finally {
    await t.close();
  }
}

async function openPostgres(prefix: string): Promise<LifecycleDatabase<MigrationDb>> {
  const db = await migrationDb(prefix);
  return {
    db,
    setup: async (sql) => {
      await db.sql.query(sql);
    },
    engine: (options) => db.engine(options),
    fingerprint: () => fingerprint(db.sql),
    leftovers: () => leftovers(db.sql),
    close: () => db.close(),
  };
}

export function runLifecycle(prefix: string, c: LifecycleCase): Promise<void> {
  return runLifecycleOn(openPostgres, prefix, c);
}
