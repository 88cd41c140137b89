/**
 * Every phase that runs DDL while clients are connected waits for its locks
 * at most the lock timeout per attempt, then backs off and retries: expand
 * (ALTER TABLE ADD COLUMN), validate (VALIDATE CONSTRAINT), contract and
 * rollback (the switch, with and without a switch gate). A transaction
 * holding a conflicting lock makes each of them retry; a reader of the
 * table meanwhile never waits much longer than one lock timeout.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { DEFAULT_LOCK_POLICY } from '../../src/migrations/dialect.ts';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import type { SwitchGate, SwitchInfo } from '../../src/migrations/switch-gate.ts';
import { type MigrationDb, migration, migrationDb } from './helpers/db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the conflicting transaction keeps its lock. */
const HOLD_LOCK_MS = 1200;
/** A reader queued behind a waiting DDL statement waits for at most its lock timeout, plus scheduling. */
const READER_BOUND_MS = DEFAULT_LOCK_POLICY.lockTimeoutMs + 700;

const MIGRATION = migration('02_email', [
  {
    add_column: {
      table: 't',
      column: { name: 'email', type: 'text', nullable: false },
      up: "'u' || id || '@x'",
    },
  },
]);

/** Reads a row of `t` in a loop until stopped; the longest read, in ms. */
function readLoop(reader: pg.Client): { stop(): Promise<number> } {
  let reading = true;
  let longest = 0;
  const loop = (async () => {
    while (reading) {
      const t0 = performance.now();
      await reader.query('SELECT id FROM t WHERE id = 7');
      longest = Math.max(longest, performance.now() - t0);
      await sleep(5);
    }
  })();
  return {
    async stop() {
      reading = false;
      await loop;
      return longest;
    },
  };
}

/** Opens a transaction on `holder` that takes `lock` on t; it ends HOLD_LOCK_MS later (`released`). */
async function holdLock(holder: pg.Client, lock: string): Promise<{ released: Promise<void> }> {
  await holder.query('BEGIN');
  await holder.query(lock);
  return {
    released: sleep(HOLD_LOCK_MS).then(async () => {
      await holder.query('COMMIT');
    }),
  };
}

describe('lock waits are bounded in every phase that runs DDL', () => {
  for (const end of ['complete', 'rollback'] as const) {
    describe(`expand, validate, then ${end}`, () => {
      let db: MigrationDb;
      before(async () => {
        db = await migrationDb(`lock_phases_${end}`);
        await db.sql.query(`CREATE TABLE t (id int PRIMARY KEY, v int);
                            INSERT INTO t SELECT g, g FROM generate_series(1, 500) g`);
      });
      after(() => db.close());

      it('retries under the lock timeout in each phase, and readers are not stalled beyond it', async () => {
        const retries = new Map<string, number>();
        const holder = await db.session();
        const reader = readLoop(await db.session());
        let released: Promise<void> | null = null;
        let validateLocked = false;
        const gateCalls: string[] = [];
        const gate: SwitchGate = {
          async hold(info: SwitchInfo) {
            gateCalls.push(`hold ${info.phase} ${info.attempt} ${info.tables.join(',')}`);
            return { deadline: performance.now() + 2000 };
          },
          end(info: SwitchInfo) {
            gateCalls.push(`end ${info.phase} ${info.attempt}`);
          },
        };
        const engine = await db.engine({
          onEvent: (e: EngineEvent) => {
            if (e.type === 'retry') retries.set(e.phase, (retries.get(e.phase) ?? 0) + 1);
          },
          // The switch of a COMPLETE goes through a gate (as in the proxy); a ROLLBACK here runs without one.
          ...(end === 'complete' ? { switchGate: gate } : {}),
          throttle: {
            // During the backfill, before validation: a lock VALIDATE CONSTRAINT conflicts with.
            async beforeBatch(request) {
              if (!validateLocked) {
                validateLocked = true;
                released = (await holdLock(holder, 'LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE')).released;
              }
              return { batchSize: request.proposedBatchSize, reason: null };
            },
            afterBatch() {},
          },
        });
        try {
          // Expand: ADD COLUMN needs an ACCESS EXCLUSIVE lock; the transaction's SHARE UPDATE EXCLUSIVE blocks it.
          const expand = await holdLock(holder, 'LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE');
          const started = engine.start(MIGRATION);
          await expand.released;
          assert.equal((await started).phase, 'active');
          await released;

          const contract = await holdLock(holder, 'SELECT count(*) FROM t');
          const status = await engine[end]();
          assert.equal(status.phase, end === 'complete' ? 'completed' : 'rolled_back');
          await contract.released;
        } finally {
          const longest = await reader.stop();
          assert.ok(longest < READER_BOUND_MS, `a reader waited ${longest.toFixed(0)} ms`);
        }
        const switchPhase = end === 'complete' ? 'contracting' : 'rolling_back';
        for (const phase of ['expanding', 'validating', switchPhase]) {
          assert.ok(
            (retries.get(phase) ?? 0) >= 1,
            `${phase} retried (retries: ${JSON.stringify([...retries])})`,
          );
        }
        if (end === 'complete') {
          // One hold per attempt, each ended before the next; the tables named in every spelling.
          assert.ok(gateCalls.length >= 4, gateCalls.join('; '));
          assert.match(gateCalls[0]!, /^hold contracting 1 t$/);
          for (let i = 0; i < gateCalls.length; i += 2) {
            assert.match(gateCalls[i]!, new RegExp(`^hold contracting ${i / 2 + 1} `));
            assert.equal(gateCalls[i + 1], `end contracting ${i / 2 + 1}`);
          }
        }
      });
    });
  }
});

describe('a switch that cannot commit within its hold', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('lock_phases_lease');
    await db.sql.query(`CREATE TABLE t (id int PRIMARY KEY, v int);
                        INSERT INTO t SELECT g, g FROM generate_series(1, 50) g`);
  });
  after(() => db.close());

  it('rolls back and tries again under a new hold rather than commit after the proxies stopped holding', async () => {
    const calls: string[] = [];
    const retries: string[] = [];
    const engine = await db.engine({
      onEvent: (e: EngineEvent) => {
        if (e.type === 'retry') retries.push(`${e.phase} ${e.notice.code}`);
      },
      switchGate: {
        async hold(info) {
          calls.push(`hold ${info.attempt}`);
          // The first lease is over before the switch can commit: the proxies would already let statements flow.
          return { deadline: performance.now() + (info.attempt === 1 ? 1 : 5000) };
        },
        end(info) {
          calls.push(`end ${info.attempt}`);
        },
      },
    });
    await engine.start(migration('03_rename', [{ rename_column: { table: 't', from: 'v', to: 'w' } }]));
    const status = await engine.complete();
    assert.equal(status.phase, 'completed');
    assert.deepEqual(calls, ['hold 1', 'end 1', 'hold 2', 'end 2']);
    assert.deepEqual(retries, ['contracting 55P03']);
    const cols = await db.sql.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    );
    assert.deepEqual(
      cols.rows.map((r) => r.attname),
      ['id', 'w'],
    );
  });
});
