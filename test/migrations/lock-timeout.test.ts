/**
 * DDL that waits on a lock held by a long transaction gives up after the lock
 * timeout, backs off, retries, and completes once the lock is released; other
 * clients' queries queue behind it for at most the lock timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import { LockTimeoutError } from '../../src/migrations/errors.ts';
import { type MigrationDb, migration, migrationDb, rows } from './helpers/db.ts';
import { fingerprint } from './helpers/fingerprint.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lock timeout and retry', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('lock_timeout');
    await db.sql.query(`CREATE TABLE t (id int PRIMARY KEY, v int);
                        INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;`);
  });
  after(() => db.close());

  it('retries an ALTER TABLE behind a long transaction without stalling readers beyond the lock timeout', async () => {
    const holder = await db.session();
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM t');
    const retries: number[] = [];
    const engine = await db.engine({
      onEvent: (e: EngineEvent) => {
        if (e.type === 'retry') retries.push(e.notice.attempt);
      },
    });
    const reader = await db.session();
    let reading = true;
    const latencies: number[] = [];
    const readLoop = (async () => {
      while (reading) {
        const t0 = performance.now();
        await reader.query('SELECT v FROM t WHERE id = 7');
        latencies.push(performance.now() - t0);
        await sleep(20);
      }
    })();
    const started = engine.start(
      migration('01_add_note', [
        { add_column: { table: 't', column: { name: 'note', type: 'text', nullable: true } } },
      ]),
    );
    await sleep(2500);
    assert.ok(retries.length >= 2, `retried ${retries.length} times while the lock was held`);
    await holder.query('COMMIT');
    const status = await started;
    reading = false;
    await readLoop;
    assert.equal(status.phase, 'active');
    // Readers keep going throughout (each retry may hold them up to the lock timeout, so not every 20 ms).
    assert.ok(latencies.length >= 15, `${latencies.length} reads`);
    const worst = Math.max(...latencies);
    assert.ok(
      worst < 500 + 250,
      `a reader waited ${Math.round(worst)} ms behind the DDL (lock timeout 500 ms)`,
    );
    const events = await rows(
      db.sql,
      `SELECT count(*)::int AS n FROM shiftgate.events WHERE event = 'retry'`,
    );
    assert.ok(Number(events[0]!.n) >= 2);
    await engine.rollback();
  });

  it('gives up with LockTimeoutError after maxAttempts, and the migration can then be rolled back', async () => {
    const before = await fingerprint(db.sql);
    const holder = await db.session();
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM t');
    const engine = await db.engine({ lock: { lockTimeoutMs: 100, maxAttempts: 3, baseDelayMs: 10 } });
    const error = await engine
      .start(
        migration('02_add_flag', [
          { add_column: { table: 't', column: { name: 'flag', type: 'boolean', nullable: true } } },
        ]),
      )
      .catch((e: unknown) => e);
    assert.ok(error instanceof LockTimeoutError, String(error));
    assert.equal(error.attempts, 3);
    assert.equal(error.lockTimeoutMs, 100);
    assert.match(error.statement, /ADD COLUMN IF NOT EXISTS "flag"/);
    const state = await rows(
      db.sql,
      `SELECT phase, phase_done, error FROM shiftgate.migrations WHERE name = '02_add_flag'`,
    );
    assert.equal(state[0]!.phase, 'expanding');
    assert.equal(state[0]!.phase_done, false);
    assert.match(String(state[0]!.error), /could not acquire the lock/);
    await holder.query('COMMIT');
    await engine.rollback();
    assert.deepEqual(await fingerprint(db.sql), before);
  });

  it('drops the invalid index a timed-out concurrent build leaves, and builds it again', async () => {
    const writer = await db.session();
    await writer.query('BEGIN');
    await writer.query('UPDATE t SET v = v + 1 WHERE id = 1');
    let retried = 0;
    const engine = await db.engine({
      lock: { lockTimeoutMs: 200 },
      onEvent: (e: EngineEvent) => {
        if (e.type === 'retry') retried++;
      },
    });
    const started = engine.start(
      migration('03_index_v', [{ create_index: { name: 't_v_idx', table: 't', columns: ['v'] } }]),
    );
    await sleep(1500);
    const invalid = await rows(
      db.sql,
      `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_v_idx')`,
    );
    assert.deepEqual(invalid, [{ indisvalid: false }], 'the timed-out build left an invalid index');
    await writer.query('COMMIT');
    await started;
    assert.ok(retried >= 1);
    assert.deepEqual(
      await rows(db.sql, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_v_idx')`),
      [{ indisvalid: true }],
    );
    await engine.complete();
  });
});
