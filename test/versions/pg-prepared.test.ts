/**
 * Prepared statements across phase changes: statements prepared under one
 * physical schema keep working after a migration starts or completes,
 * because the proxy re-prepares them with their new translation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import postgres from 'postgres';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

describe('prepared statements across phase changes (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;

  before(async () => {
    db = await createPgDatabase('prepared');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO users VALUES (1, 'ada'), (2, 'bob')");
    await setup.end();
    sg = await startTestShiftgate(db.url);
    sg.writeMigration(
      'add_email',
      'operations:\n  - add_column:\n      table: users\n      column: { name: email, type: text }\n      up: "name || \'@example.com\'"\n',
    );
    sg.writeMigration(
      'rename_name',
      'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    );
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  test('a statement prepared before a migration keeps its result shape after expand', async () => {
    const old = new pg.Client({ connectionString: sg.via(db.url) });
    await old.connect();
    const byId = (id: number) =>
      old.query({ name: 'user_by_id', text: 'SELECT * FROM users WHERE id = $1', values: [id] });
    assert.deepEqual((await byId(1)).rows, [{ id: 1, name: 'ada' }]);
    // postgres.js prepares too, and keeps its own statement cache.
    const sql = postgres(sg.via(db.url), { max: 1, fetch_types: false });
    assert.deepEqual([...(await sql`SELECT * FROM users WHERE id = ${2}`)], [{ id: 2, name: 'bob' }]);

    await sg.admin(db.url, "SHIFTGATE START 'add_email'");
    await sg.waitForPhase(db.url, 'active');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latest !== 'add_email'; i++)
      await new Promise((r) => setTimeout(r, 50));

    // Without re-preparing, the server would answer "cached plan must not change result type".
    assert.deepEqual((await byId(2)).rows, [{ id: 2, name: 'bob' }]);
    assert.deepEqual([...(await sql`SELECT * FROM users WHERE id = ${1}`)], [{ id: 1, name: 'ada' }]);
    // Pipelined uses of the re-prepared statement, all answered in order.
    const many = await Promise.all([1, 2, 1, 2].map((id) => byId(id)));
    assert.deepEqual(
      many.map((r) => r.rows[0].name),
      ['ada', 'bob', 'ada', 'bob'],
    );
    await sql.end();
    await old.end();
    await sg.admin(db.url, 'SHIFTGATE COMPLETE FORCE');
  });

  test('a new-version statement prepared during a migration keeps working after COMPLETE', async () => {
    await sg.admin(db.url, "SHIFTGATE START 'rename_name'");
    await sg.waitForPhase(db.url, 'active');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latest !== 'rename_name'; i++)
      await new Promise((r) => setTimeout(r, 50));
    const next = new pg.Client({
      connectionString: sg.via(db.url),
      options: '-c shiftgate.version=rename_name',
    } as pg.ClientConfig);
    await next.connect();
    const byName = (name: string) =>
      next.query({
        name: 'by_name',
        text: 'SELECT id, full_name, email FROM users WHERE full_name = $1',
        values: [name],
      });
    assert.deepEqual((await byName('ada')).rows, [{ id: 1, full_name: 'ada', email: 'ada@example.com' }]);

    await sg.admin(db.url, 'SHIFTGATE COMPLETE FORCE');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latestCompleted !== 'rename_name'; i++)
      await new Promise((r) => setTimeout(r, 50));

    // The prepared text named the old physical column; it was re-prepared for the renamed one.
    assert.deepEqual((await byName('bob')).rows, [{ id: 2, full_name: 'bob', email: 'bob@example.com' }]);
    const { rows } = await next.query('SELECT count(*)::int AS n FROM users');
    assert.equal(rows[0].n, 2);
    await next.end();
  });

  test('a statement a migration makes untranslatable is refused at its next Bind, and runs again after ROLLBACK', async () => {
    sg.writeMigration(
      'add_phone',
      'operations:\n  - add_column:\n      table: users\n      column: { name: phone, type: text, nullable: true }\n',
    );
    const old = new pg.Client({ connectionString: sg.via(db.url) });
    await old.connect();
    const makeView = () =>
      old.query({ name: 'make_view', text: 'CREATE OR REPLACE VIEW user_ids AS SELECT id FROM users' });
    await makeView();

    await sg.admin(db.url, "SHIFTGATE START 'add_phone'");
    await sg.waitForPhase(db.url, 'active');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latest !== 'add_phone'; i++)
      await new Promise((r) => setTimeout(r, 50));
    // Prepared before, it names the migrating table in a view: now refused, at the Bind of each use.
    for (let i = 0; i < 2; i++) {
      await assert.rejects(makeView(), (e: { code?: string; where?: string; message: string }) => {
        assert.equal(e.code, '0A000');
        assert.match(e.message, /users/);
        assert.equal(e.where, undefined);
        return true;
      });
    }
    assert.equal(
      (await old.query('SELECT count(*)::int AS n FROM users')).rows[0].n,
      2,
      'the session goes on',
    );

    await sg.admin(db.url, 'SHIFTGATE ROLLBACK');
    await sg.waitForPhase(db.url, 'none');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latest === 'add_phone'; i++)
      await new Promise((r) => setTimeout(r, 50));
    await makeView();
    await old.end();
  });

  test('SQL-level PREPARE made before START is prepared again for EXECUTE, under the session version', async () => {
    const old = new pg.Client({ connectionString: sg.via(db.url) });
    await old.connect();
    await old.query('PREPARE everyone AS SELECT * FROM users ORDER BY id');
    await old.query('PREPARE one_name(int) AS SELECT full_name FROM users WHERE id = $1');
    await old.query('PREPARE gone AS SELECT 1');
    await old.query('DEALLOCATE gone');
    // Through the extended protocol too.
    await old.query('PREPARE counted AS SELECT count(*)::int AS n, max(email) AS e FROM users', []);
    assert.deepEqual(
      (await old.query('EXECUTE everyone')).fields.map((f) => f.name),
      ['id', 'full_name', 'email'],
    );

    sg.writeMigration(
      'add_note',
      'operations:\n  - add_column:\n      table: users\n      column: { name: note, type: text, default: "\'-\'" }\n  - rename_column: { table: users, from: email, to: mail }\n',
    );
    await sg.admin(db.url, "SHIFTGATE START 'add_note'");
    await sg.waitForPhase(db.url, 'active');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latest !== 'add_note'; i++)
      await new Promise((r) => setTimeout(r, 50));

    // Without preparing again: "cached plan must not change result type".
    const all = await old.query('EXECUTE everyone');
    assert.deepEqual(
      all.fields.map((f) => f.name),
      ['id', 'full_name', 'email'],
    );
    assert.deepEqual(
      all.rows.map((r) => r.full_name),
      ['ada', 'bob'],
    );
    // Twice in one query string, and again later: prepared once more only after a change.
    const twice = (await old.query(
      'EXECUTE one_name(1); EXECUTE one_name(2)',
    )) as unknown as pg.QueryResult[];
    assert.deepEqual(
      twice.map((r) => r.rows[0].full_name),
      ['ada', 'bob'],
    );
    assert.deepEqual((await old.query('EXECUTE one_name(2)')).rows, [{ full_name: 'bob' }]);
    assert.deepEqual((await old.query('EXECUTE counted')).rows, [{ n: 2, e: 'bob@example.com' }]);
    // A deallocated statement stays gone, with the server's own error.
    await assert.rejects(old.query('EXECUTE gone'), { code: '26000' });

    // A new-version session's PREPARE names the new version's columns.
    const next = new pg.Client({
      connectionString: sg.via(db.url),
      options: '-c shiftgate.version=add_note',
    } as pg.ClientConfig);
    await next.connect();
    await next.query('PREPARE mine AS SELECT id, mail, note FROM users ORDER BY id');
    assert.deepEqual((await next.query('EXECUTE mine')).rows[0], {
      id: 1,
      mail: 'ada@example.com',
      note: '-',
    });
    await sg.admin(db.url, 'SHIFTGATE COMPLETE FORCE');
    for (let i = 0; i < 40 && sg.sg.router.versionMap?.latestCompleted !== 'add_note'; i++)
      await new Promise((r) => setTimeout(r, 50));
    // After COMPLETE the column is physically renamed: the statement is prepared again.
    assert.deepEqual((await next.query('EXECUTE mine')).rows[1], {
      id: 2,
      mail: 'bob@example.com',
      note: '-',
    });
    await next.end();
    await old.end();
  });
});
