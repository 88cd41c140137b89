/** The phase runner: state persistence, the runner lock, resume, throttle, dry run and the version history. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import { MigrationLockedError, MigrationStateError } from '../../src/migrations/errors.ts';
import type { BackfillThrottle } from '../../src/migrations/throttle.ts';
import { type MigrationDb, migration, migrationDb, rows } from './helpers/db.ts';
import { fingerprint } from './helpers/fingerprint.ts';

describe('migration engine', () => {
  let db: MigrationDb;
  beforeEach(async () => {
    db = await migrationDb('engine');
    await db.sql.query(`CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text);
                        INSERT INTO users SELECT g, 'User ' || g, 'u' || g || '@x' FROM generate_series(1, 3000) g;`);
  });
  afterEach(() => db.close());

  const addSlug = migration('01_add_slug', [
    { add_column: { table: 'users', column: { name: 'slug', type: 'text' }, up: 'lower(name)' } },
  ]);

  it('persists every phase transition before and after it runs', async () => {
    const engine = await db.engine({ sizing: { maxBatch: 500 } });
    await engine.start(addSlug);
    const events = await rows(db.sql, `SELECT phase, event FROM shiftgate.events ORDER BY id`);
    assert.deepEqual(
      events.map((e) => `${e.phase}:${e.event}`),
      [
        'expanding:begin',
        'expanding:end',
        'backfilling:begin',
        'backfilling:end',
        'validating:begin',
        'validating:end',
      ],
    );
    await engine.complete();
    const record = await rows(
      db.sql,
      'SELECT phase, phase_done, parent, completed_at IS NOT NULL AS done FROM shiftgate.migrations',
    );
    assert.deepEqual(record, [{ phase: 'completed', phase_done: true, parent: null, done: true }]);
  });

  it('keeps a second runner out with the advisory lock', async () => {
    const other = await db.session();
    await other.query(`SELECT pg_advisory_lock(${0x73686966 | 0}, hashtext('public'))`);
    const engine = await db.engine();
    const error = await engine.start(addSlug).catch((e: unknown) => e);
    assert.ok(error instanceof MigrationLockedError);
    assert.equal(error.schema, 'public');
    await other.query(`SELECT pg_advisory_unlock(${0x73686966 | 0}, hashtext('public'))`);
    assert.equal((await engine.start(addSlug)).phase, 'active');
  });

  it('allows one migration in flight per schema, and completes or rolls back only what is there', async () => {
    const engine = await db.engine();
    await assert.rejects(engine.complete(), MigrationStateError);
    await engine.start(addSlug);
    const second = migration('02_drop_email', [{ drop_column: { table: 'users', column: 'email' } }]);
    const error = await engine.start(second).catch((e: unknown) => e);
    assert.ok(error instanceof MigrationStateError);
    assert.equal(error.migration, '01_add_slug');
    await engine.complete();
    await assert.rejects(engine.start(addSlug), /already completed/);
    const next = await engine.start(second);
    assert.equal(next.parent, '01_add_slug');
  });

  it('asks the throttle before every batch and resumes an interrupted backfill from its checkpoint', async () => {
    const abort = new AbortController();
    const asked: number[] = [];
    const throttle: BackfillThrottle = {
      async beforeBatch(request) {
        asked.push(request.proposedBatchSize);
        if (asked.length === 4) abort.abort(new Error('paused'));
        return { batchSize: 100, reason: 'test holds batches at 100' };
      },
      afterBatch() {},
    };
    const sizes: number[] = [];
    const engine = await db.engine({
      throttle,
      onEvent: (e: EngineEvent) => {
        if (e.type === 'batch') sizes.push(e.progress.batchSize);
      },
    });
    await assert.rejects(engine.start(addSlug, { signal: abort.signal }), /paused/);
    assert.deepEqual(sizes, [100, 100, 100]);
    const paused = await engine.status();
    assert.equal(paused?.phase, 'backfilling');
    assert.equal(paused?.phaseDone, false);
    assert.equal(paused?.backfill[0]?.rowsDone, 300);
    assert.equal(paused?.backfill[0]?.throttleReason, 'test holds batches at 100');
    const resumed = await db.engine({ sizing: { maxBatch: 1000 } });
    const status = await resumed.start(addSlug);
    assert.equal(status.phase, 'active');
    assert.equal(status.backfill[0]?.rowsDone, 3000);
    assert.equal(status.backfill[0]?.rowsTotal, 3000);
    assert.ok((status.backfill[0]?.rowsPerSecond ?? 0) > 0);
    const wrong = await rows(
      db.sql,
      'SELECT count(*)::int AS n FROM users WHERE slug IS DISTINCT FROM lower(name)',
    );
    assert.deepEqual(wrong, [{ n: 0 }]);
  });

  it('dry-runs without touching the database', async () => {
    const before = await fingerprint(db.sql);
    const engine = await db.engine();
    const dry = await engine.dryRun(
      migration('03_email_not_null', [
        {
          alter_column: {
            table: 'users',
            column: 'email',
            nullable: false,
            up: "coalesce(email, '')",
            down: 'email',
          },
        },
      ]),
    );
    const all = [...dry.start, ...dry.verify, ...dry.complete, ...dry.rollback]
      .flatMap((a) => a.sql)
      .join('\n');
    assert.match(all, /ADD COLUMN IF NOT EXISTS "_shiftgate_new_email" text/);
    assert.match(all, /CHECK \("_shiftgate_new_email" IS NOT NULL\) NOT VALID/);
    assert.match(all, /VALIDATE CONSTRAINT/);
    assert.match(all, /SET NOT NULL/);
    assert.match(
      dry.backfill[0]!.sql,
      /UPDATE "public"\."users" SET "_shiftgate_new_email" = \(coalesce\(email, ''\)\)/,
    );
    assert.deepEqual(await fingerprint(db.sql), before);
    assert.deepEqual(await rows(db.sql, `SELECT to_regnamespace('shiftgate') AS s`), [{ s: null }]);
  });

  it('derives each version’s logical changes and table views from the history', async () => {
    const engine = await db.engine();
    await engine.start(
      migration('01_rename', [
        { rename_column: { table: 'users', from: 'name', to: 'full_name' } },
        { add_column: { table: 'users', column: { name: 'age', type: 'int', nullable: true } } },
      ]),
    );
    await engine.complete();
    await engine.start(
      migration('02_reshape', [
        {
          alter_column: { table: 'users', column: 'email', type: 'varchar(200)', up: 'email', down: 'email' },
        },
        { drop_column: { table: 'users', column: 'age' } },
        { rename_table: { from: 'users', to: 'people' } },
        { create_table: { name: 'notes', columns: [{ name: 'id', type: 'int', pk: true }] } },
      ]),
    );
    const history = await engine.versions();
    assert.equal(history.latestCompleted, '01_rename');
    assert.equal(history.inFlight, '02_reshape');
    assert.deepEqual(
      history.versions.map((v) => [v.version, v.parent, v.phase]),
      [
        ['01_rename', null, 'completed'],
        ['02_reshape', '01_rename', 'active'],
      ],
    );
    assert.deepEqual(history.versions[0]!.changes, [
      { kind: 'column_renamed', table: 'users', from: 'name', to: 'full_name' },
      { kind: 'column_added', table: 'users', column: 'age', filledByTrigger: false },
    ]);
    const v2 = history.versions[1]!;
    assert.deepEqual(v2.changes, [
      { kind: 'column_shadowed', table: 'users', column: 'email', shadow: '_shiftgate_new_email' },
      { kind: 'column_dropped', table: 'users', column: 'age', filledByTrigger: false },
      { kind: 'table_renamed', from: 'users', to: 'people' },
      { kind: 'table_created', table: 'notes' },
    ]);
    assert.deepEqual(v2.before, [
      {
        name: 'users',
        physical: 'users',
        columns: [
          { name: 'id', physical: 'id' },
          { name: 'full_name', physical: 'full_name' },
          { name: 'email', physical: 'email' },
          { name: 'age', physical: 'age' },
        ],
      },
    ]);
    assert.deepEqual(v2.after, [
      {
        name: 'people',
        physical: 'users',
        columns: [
          { name: 'id', physical: 'id' },
          { name: 'full_name', physical: 'full_name' },
          { name: 'email', physical: '_shiftgate_new_email' },
        ],
      },
      { name: 'notes', physical: 'notes', columns: [{ name: 'id', physical: 'id' }] },
    ]);
  });
});
