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
import { DEFAULT_LOCK_POLICY, type MigrationConnection } from '../../src/migrations/dialect.ts';
import { MigrationError } from '../../src/migrations/errors.ts';
import { migration } from './helpers/db.ts';
import { type MysqlMigrationDb, mysqlFingerprint, mysqlMigrationDb } from './helpers/mysql-db.ts';

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
