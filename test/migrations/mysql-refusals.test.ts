/**
 * MySQL / MariaDB: what the engine cannot do online, or at all, is refused
 * at validation naming the operation and the field, before anything runs:
 * the schema fingerprint is unchanged and no migration record is written.
 * DDL behind a metadata lock retries under the short lock_wait_timeout and
 * goes through once the lock is released.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import { MigrationLockedError, MigrationValidationError } from '../../src/migrations/errors.ts';
import { migration } from './helpers/db.ts';
import { type MysqlMigrationDb, mysqlFingerprint, mysqlMigrationDb, mysqlRows } from './helpers/mysql-db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const REFUSED: [string, unknown, string, RegExp][] = [
  [
    'a check constraint on an existing table (ALGORITHM=COPY)',
    {
      alter_column: {
        table: 'users',
        column: 'age',
        check: { name: 'age_ok', constraint: 'age > 0' },
        up: 'age',
        down: 'age',
      },
    },
    'alter_column.check',
    /ALGORITHM=COPY/,
  ],
  [
    'create_constraint check on an existing table',
    {
      create_constraint: {
        table: 'users',
        name: 'name_len',
        type: 'check',
        columns: ['name'],
        check: 'CHAR_LENGTH(name) > 1',
        up: { name: 'name' },
        down: { name: 'name' },
      },
    },
    'create_constraint.check',
    /ALGORITHM=COPY/,
  ],
  [
    'a type change of a column that carries a check (the check would be added again)',
    { alter_column: { table: 'users', column: 'score', type: 'bigint', up: 'score', down: 'score' } },
    'alter_column',
    /check constraint "score_positive".*ALGORITHM=COPY/,
  ],
  [
    'set_replica_identity',
    { set_replica_identity: { table: 'users', identity: { type: 'full' } } },
    'set_replica_identity.identity',
    /replica identity/,
  ],
  [
    'an index method MySQL lacks',
    { create_index: { name: 'users_name_gin', table: 'users', columns: ['name'], method: 'gin' } },
    'create_index.method',
    /"gin" does not exist in MySQL/,
  ],
  [
    'an operator class',
    {
      create_index: {
        name: 'users_name_ops',
        table: 'users',
        columns: { name: { opclass: { name: 'text_pattern_ops' } } },
      },
    },
    'create_index.columns',
    /operator classes/,
  ],
  [
    'a partial index',
    { create_index: { name: 'users_name_part', table: 'users', columns: ['name'], predicate: 'age > 3' } },
    'create_index.predicate',
    /partial/,
  ],
  [
    'an exclusion constraint',
    {
      create_table: {
        name: 'spans',
        columns: [
          { name: 'id', type: 'int', pk: true },
          { name: 'r', type: 'int' },
        ],
        constraints: [
          { name: 'no_overlap', type: 'exclude', exclude: { index_method: 'gist', elements: 'r WITH =' } },
        ],
      },
    },
    'create_table.constraints',
    /exclusion/,
  ],
  [
    'a shadow column on a table with no usable key',
    { alter_column: { table: 'nokey', column: 'a', type: 'bigint', up: 'a', down: 'a' } },
    'alter_column.table',
    /no primary key/i,
  ],
];

describe('MySQL refusals and lock waits', () => {
  let db: MysqlMigrationDb;
  let clean: unknown;
  before(async () => {
    db = await mysqlMigrationDb('my_refuse');
    await db.sql.query(`CREATE TABLE users (id int PRIMARY KEY, name varchar(20) NOT NULL, age int,
                          score int, CONSTRAINT score_positive CHECK (score > 0));
                        CREATE TABLE nokey (a int, b int);
                        INSERT INTO users VALUES (1, 'ann', 30, 5), (2, 'bob', 40, 7);`);
    clean = await mysqlFingerprint(db.sql);
  });
  after(() => db.close());

  for (const [what, op, field, reason] of REFUSED) {
    it(`refuses ${what} naming ${field}, touching nothing`, async () => {
      const engine = await db.engine();
      const name = `r_${field.replace(/\W/g, '_')}`;
      const error = await engine.start(migration(name, [op])).catch((e: unknown) => e);
      assert.ok(error instanceof MigrationValidationError, String(error));
      const issue = error.issues.find((i) => i.field === field);
      assert.ok(issue, `issues: ${error.issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`);
      assert.match(issue.reason, reason);
      assert.equal(issue.op, 0);
      assert.deepEqual(await mysqlFingerprint(db.sql), clean);
      const records = await mysqlRows(
        db.sql,
        'SELECT name FROM shiftgate.migrations WHERE schema_name = DATABASE()',
      ).catch(() => []);
      assert.deepEqual(records, []);
    });
  }

  it('retries DDL behind a metadata lock held by an open transaction, and succeeds once it is released', async () => {
    const holder = await db.session();
    await holder.query('START TRANSACTION');
    await holder.query('SELECT COUNT(*) FROM users');
    const retries: string[] = [];
    const engine = await db.engine({
      lock: { lockTimeoutMs: 500, baseDelayMs: 50, maxDelayMs: 200 },
      onEvent: (e: EngineEvent) => {
        if (e.type === 'retry') retries.push(e.notice.code);
      },
    });
    const reader = await db.session();
    const started = engine.start(
      migration('lock_add_note', [
        { add_column: { table: 'users', column: { name: 'note', type: 'varchar(10)', nullable: true } } },
      ]),
    );
    await sleep(2500);
    assert.ok(retries.length >= 1, `retried ${retries.length} times while the lock was held`);
    assert.ok(retries.every((c) => c === '1205'));
    // A reader is not stuck behind the waiting ALTER for longer than its lock timeout.
    const t0 = performance.now();
    await reader.query('SELECT name FROM users WHERE id = 1');
    assert.ok(performance.now() - t0 < 1500);
    await holder.query('COMMIT');
    const status = await started;
    assert.equal(status.phase, 'active');
    // A second runner is kept out by GET_LOCK while the first holds it.
    const other = await db.engine();
    const lockHolder = await db.session();
    await lockHolder.query("SELECT GET_LOCK(CONCAT('shiftgate:', DATABASE()), 0)");
    await assert.rejects(other.rollback(), MigrationLockedError);
    await lockHolder.query("SELECT RELEASE_LOCK(CONCAT('shiftgate:', DATABASE()))");
    await engine.rollback();
    assert.deepEqual(await mysqlFingerprint(db.sql), clean);
  });

  it('rolls back a start the server stopped halfway (a foreign key InnoDB refuses) to the exact schema before', async () => {
    await db.sql.query(`CREATE TABLE teams (id int PRIMARY KEY);
                        CREATE TABLE members (id int PRIMARY KEY, team_id int, KEY members_team (team_id),
                          CONSTRAINT members_team_fk FOREIGN KEY (team_id) REFERENCES teams (id));`);
    const before = await mysqlFingerprint(db.sql);
    const engine = await db.engine();
    // The shadow column is bigint; InnoDB wants the referenced int: the copied foreign key fails.
    const error = await engine
      .start(
        migration('fk_type', [
          {
            alter_column: {
              table: 'members',
              column: 'team_id',
              type: 'bigint',
              up: 'team_id',
              down: 'team_id',
            },
          },
        ]),
      )
      .catch((e: unknown) => e);
    assert.match(String(error), /foreign key/i);
    assert.equal((await engine.status())?.phase, 'expanding');
    const rolled = await engine.rollback();
    assert.equal(rolled.phase, 'rolled_back');
    assert.deepEqual(await mysqlFingerprint(db.sql), before);
    await db.sql.query('DROP TABLE members, teams');
  });

  it('names the migration and phase when the server refuses a statement that would copy the table', async () => {
    const before = await mysqlFingerprint(db.sql);
    const engine = await db.engine();
    const error = await engine
      .start(
        migration('raw_copy', [
          {
            sql: {
              up: 'ALTER TABLE users MODIFY age bigint, ALGORITHM=INSTANT',
              down: 'ALTER TABLE users MODIFY age int, ALGORITHM=INSTANT',
            },
          },
        ]),
      )
      .catch((e: unknown) => e);
    assert.match(
      String(error),
      /raw_copy \(expanding\): refused: the server can only make this change by copying the table or blocking writes \(.*Cannot change column type/,
    );
    assert.deepEqual(await mysqlFingerprint(db.sql), before);
    await engine.rollback();
    assert.deepEqual(await mysqlFingerprint(db.sql), before);
  });
});
