/**
 * The MySQL migration driver below the engine, on MariaDB: a change the
 * server could only make by copying the table is refused by the server's
 * own algorithm check and leaves the table untouched; a foreign key added
 * without checking (the NOT VALID of MySQL) is validated by key-range reads
 * that name the violation; followers learn of state changes by polling;
 * replica lag is null without replication.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlockingDdlError, mysqlMigrationDialect } from '../../src/dialects/mysql/migration-driver.ts';
import type { Action } from '../../src/migrations/actions.ts';
import { DEFAULT_LOCK_POLICY, type MigrationConnection } from '../../src/migrations/dialect.ts';
import { MigrationError } from '../../src/migrations/errors.ts';
import { migration } from './helpers/db.ts';
import { type MysqlMigrationDb, mysqlFingerprint, mysqlMigrationDb, mysqlRows } from './helpers/mysql-db.ts';

describe('MySQL migration driver', () => {
  let db: MysqlMigrationDb;
  let conn: MigrationConnection;
  before(async () => {
    db = await mysqlMigrationDb('my_driver');
    await db.sql.query(`CREATE TABLE parents (id int PRIMARY KEY);
                        INSERT INTO parents VALUES (1), (2);
                        CREATE TABLE kids (id int PRIMARY KEY, parent_id int, v int);
                        INSERT INTO kids VALUES (1, 1, 1), (2, 2, 2), (3, 7, 3), (4, NULL, 4);`);
    conn = await mysqlMigrationDialect.connect(db.url);
  });
  after(async () => {
    await conn.close();
    await db.close();
  });

  it('refuses a change that needs ALGORITHM=COPY, trying INSTANT then INPLACE, LOCK=NONE, and changes nothing', async () => {
    const before = await mysqlFingerprint(db.sql);
    const error = await conn
      .runAction([{ sql: `ALTER TABLE kids MODIFY v bigint, ALGORITHM=INSTANT` }], DEFAULT_LOCK_POLICY)
      .catch((e: unknown) => e);
    assert.ok(error instanceof BlockingDdlError, String(error));
    assert.match(error.statement, /ALGORITHM=INPLACE, LOCK=NONE$/);
    assert.match(error.message, /Cannot change column type/);
    assert.deepEqual(await mysqlFingerprint(db.sql), before);
  });

  it('adds a foreign key without a scan and validates it by reads, naming the first violating row', async () => {
    const schema = db.database.name;
    const add = mysqlMigrationDialect.render(
      {
        kind: 'add_foreign_key',
        table: 'kids',
        validated: false,
        fk: { name: 'kids_parent_fk', columns: ['parent_id'], refTable: 'parents', refColumns: ['id'] },
      },
      schema,
    );
    await conn.runAction(add, DEFAULT_LOCK_POLICY);
    // Enforced for new writes at once.
    await assert.rejects(db.sql.query('UPDATE kids SET parent_id = 9 WHERE id = 1'), /foreign key/i);
    const validate = mysqlMigrationDialect.render(
      { kind: 'validate_constraint', table: 'kids', name: 'kids_parent_fk' },
      schema,
    );
    assert.ok(validate[0]!.scan);
    const error = await conn.runAction(validate, DEFAULT_LOCK_POLICY).catch((e: unknown) => e);
    assert.ok(error instanceof MigrationError, String(error));
    assert.match(
      error.message,
      /"kids_parent_fk" of table "kids" is violated by existing rows \(first: key 3\)/,
    );
    await db.sql.query('UPDATE kids SET parent_id = 2 WHERE id = 3');
    await conn.runAction(validate, DEFAULT_LOCK_POLICY);
    await conn.runAction(
      mysqlMigrationDialect.render(
        { kind: 'drop_constraint', table: 'kids', name: 'kids_parent_fk' },
        schema,
      ),
      DEFAULT_LOCK_POLICY,
    );
  });

  it('enforces a NOT NULL check from the sync trigger of its operation, skipped by the backfill, until drop_constraint', async () => {
    const schema = db.database.name;
    const run = (action: Action) =>
      conn.runAction(mysqlMigrationDialect.render(action, schema), DEFAULT_LOCK_POLICY);
    const triggers = async () =>
      (
        await mysqlRows<{ t: string }>(
          db.sql,
          `SELECT TRIGGER_NAME AS t FROM information_schema.TRIGGERS
            WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'nn' ORDER BY 1`,
        )
      ).map((r) => r.t);
    const refused = (e: unknown) =>
      (e as { sqlState?: string }).sqlState === '23000' && /must not be NULL/.test(String(e));
    await db.sql.query(`CREATE TABLE nn (id int PRIMARY KEY, a int NOT NULL, s int NULL);
                        INSERT INTO nn VALUES (1, 1, 1), (2, 2, 2);`);
    const check = { column: 's', name: '_shiftgate_nn_s' };
    const install: Action = {
      kind: 'install_sync',
      table: 'nn',
      name: '_shiftgate_sync_s',
      version: 'v2',
      columns: ['id', 'a', 's'],
      // An old-version writer setting a = 0 writes a NULL into s.
      up: [{ target: 's', expression: 'NULLIF(a, 0)' }],
      upBindings: [
        { variable: 'id', column: 'id' },
        { variable: 'a', column: 'a' },
      ],
      down: [],
      downBindings: [],
      notNull: [check],
    };
    const add: Action = { kind: 'add_not_null_check', table: 'nn', name: check.name, column: 's' };
    const validate: Action = { kind: 'validate_constraint', table: 'nn', name: check.name };
    const remove: Action = { kind: 'remove_sync', table: 'nn', name: '_shiftgate_sync_s', notNull: [check] };
    const drop: Action = { kind: 'drop_constraint', table: 'nn', name: check.name };
    const sync = ['_shiftgate_sync_s__nn_bi', '_shiftgate_sync_s__nn_bu'];
    const own = ['_shiftgate_nn_s__nn_bi', '_shiftgate_nn_s__nn_bu'];

    // As start runs it, and again as a replay after a crash would: one trigger per event, no more.
    for (let i = 0; i < 2; i++) {
      await run(install);
      await run(add);
    }
    assert.deepEqual(await triggers(), sync);
    await assert.rejects(db.sql.query('UPDATE nn SET a = 0 WHERE id = 1'), refused);
    await assert.rejects(db.sql.query('INSERT INTO nn (id, a) VALUES (3, 0)'), refused);
    await assert.rejects((await db.session('v2')).query('INSERT INTO nn (id, a) VALUES (3, 3)'), refused);
    // The backfill's own batches skip the check with the assignments; the validation's read finds their NULL.
    const backfill = await db.session();
    await backfill.query(
      'SET @shiftgate_backfill = CONNECTION_ID(); UPDATE nn SET s = NULL WHERE id = 2; SET @shiftgate_backfill = NULL',
    );
    await assert.rejects(
      run(validate),
      /"_shiftgate_nn_s" of table "nn" is violated by existing rows \(first: key 2\)/,
    );
    await db.sql.query('UPDATE nn SET a = 5 WHERE id = 2');
    await run(validate);
    // Complete sets NOT NULL between remove_sync and drop_constraint: the check stays enforced until the end.
    for (let i = 0; i < 2; i++) await run(remove);
    assert.deepEqual(await triggers(), own);
    await assert.rejects(db.sql.query('INSERT INTO nn (id, a, s) VALUES (3, 3, NULL)'), refused);
    await run(drop);
    assert.deepEqual(await triggers(), []);

    // A migration started before the check rode on the sync trigger: the check in triggers of its own.
    await run({ ...install, notNull: undefined });
    await backfill.query(
      'SET @shiftgate_backfill = CONNECTION_ID(); UPDATE nn SET s = NULL WHERE id = 2; SET @shiftgate_backfill = NULL',
    );
    for (const [event, suffix] of [
      ['INSERT', 'bi'],
      ['UPDATE', 'bu'],
    ])
      await db.sql.query(`CREATE TRIGGER _shiftgate_nn_s__nn_${suffix} BEFORE ${event} ON nn FOR EACH ROW
                          BEGIN
                            IF NEW.\`s\` IS NULL THEN
                              SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'Shiftgate: column s of nn must not be NULL (_shiftgate_nn_s)';
                            END IF;
                          END`);
    await run(add);
    assert.deepEqual(await triggers(), [...own, ...sync]);
    await assert.rejects(
      run(validate),
      /"_shiftgate_nn_s" of table "nn" is violated by existing rows \(first: key 2\)/,
    );
    await db.sql.query('UPDATE nn SET a = 6 WHERE id = 2');
    await run(validate);
    await run(remove);
    assert.deepEqual(await triggers(), own);
    await assert.rejects(db.sql.query('UPDATE nn SET s = NULL WHERE id = 1'), refused);
    // Rollback's drop of the column takes the checks with it.
    await run({ kind: 'drop_column', table: 'nn', column: 's' });
    assert.deepEqual(await triggers(), []);
    await db.sql.query('DROP TABLE nn');
  });

  it('tells followers of state changes by polling, and reports no replica lag without replication', async () => {
    let changes = 0;
    const follower = await mysqlMigrationDialect.connect(db.url);
    try {
      await follower.onStateChange(() => {
        changes++;
      });
      await new Promise((r) => setTimeout(r, 700));
      const engine = await db.engine();
      await engine.start(
        migration('01_note', [
          { add_column: { table: 'parents', column: { name: 'note', type: 'int', nullable: true } } },
        ]),
      );
      const deadline = Date.now() + 3000;
      while (changes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(changes > 0, 'the follower saw the migration start');
      await engine.rollback();
      assert.equal(await follower.replicaLagMs(), null);
    } finally {
      await follower.close();
    }
  });

  it('renders a dry run with the algorithm of every statement', async () => {
    const engine = await db.engine();
    const dry = await engine.dryRun(
      migration('02_dry', [
        {
          alter_column: {
            table: 'kids',
            column: 'v',
            type: 'bigint',
            nullable: false,
            up: 'COALESCE(v, 0)',
            down: 'v',
          },
        },
        { create_index: { name: 'kids_parent', table: 'kids', columns: ['parent_id'] } },
      ]),
    );
    const ddl = [...dry.start, ...dry.verify, ...dry.complete]
      .flatMap((a) => a.sql)
      .filter((s) => s.startsWith('ALTER TABLE') && !s.includes('<'));
    // Statements computed from the catalog at run time (`<...>` in the dry run) are left out here.
    assert.ok(ddl.length > 3);
    for (const sql of ddl) assert.match(sql, /ALGORITHM=(INSTANT|INPLACE, LOCK=NONE)$/, sql);
    assert.match(dry.backfill[0]!.sql, /LIMIT 1 OFFSET \?/);
  });

  it('rolls back from the middle of a backfill to the exact schema before', async () => {
    await db.sql.query(`CREATE TABLE big (id int PRIMARY KEY, v int NOT NULL);
                        INSERT INTO big SELECT seq, seq FROM seq_1_to_5000;`);
    const before = await mysqlFingerprint(db.sql);
    const abort = new AbortController();
    let batches = 0;
    const engine = await db.engine({
      sizing: { minBatch: 100, maxBatch: 100, targetBatchMs: 50 },
      onEvent: (e) => {
        if (e.type === 'batch' && ++batches === 3) abort.abort(new Error('stop'));
      },
    });
    const m = migration('03_big', [
      {
        alter_column: {
          table: 'big',
          column: 'v',
          type: 'bigint',
          nullable: false,
          up: 'v * 2',
          down: 'v DIV 2',
        },
      },
    ]);
    await assert.rejects(engine.start(m, { signal: abort.signal }));
    const status = await engine.status();
    assert.equal(status?.phase, 'backfilling');
    assert.ok(status.backfill[0]!.rowsDone > 0 && status.backfill[0]!.rowsDone < 5000);
    await engine.rollback();
    assert.deepEqual(await mysqlFingerprint(db.sql), before);
    await db.sql.query('DROP TABLE big');
  });
});
