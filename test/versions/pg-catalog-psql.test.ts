/**
 * What schema tools see through the proxy while a migration is active:
 * psql's `\d` (the real psql binary, which runs several catalog queries)
 * and ORM-style catalog reads in the extended protocol, for a session bound
 * to the old version and one bound to the new version. The case table
 * (test/translate/catalog-cases.ts) checks the same kind of queries by
 * value against reference databases; this checks them end to end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);
const NAME = 'm_catalog_psql';

/** The column lines of psql's `\d` output: name and type. */
function describedColumns(out: string): [string, string][] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => /^-+\+/.test(l));
  const cols: [string, string][] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.includes('|')) break;
    const [name, type] = line.split('|').map((s) => s.trim());
    cols.push([name!, type!]);
  }
  return cols;
}

describe('catalog reads through the proxy during a migration', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  const clients = {} as Record<'old' | 'new', pg.Client>;

  before(async () => {
    db = await createPgDatabase('catalog_psql');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(
      'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, age int, note text); CREATE UNIQUE INDEX users_name_key ON users (name); CREATE TABLE orders (id int PRIMARY KEY, total int, user_id int REFERENCES users (id))',
    );
    await setup.query("INSERT INTO users (name, age) VALUES ('ada', 36)");
    await setup.end();
    sg = await startTestShiftgate(db.url);
    sg.writeMigration(
      NAME,
      [
        'operations:',
        '  - rename_column: { table: users, from: name, to: full_name }',
        '  - alter_column: { table: users, column: age, type: bigint, up: "age::bigint", down: "age::int" }',
        '  - drop_column: { table: users, column: note }',
        '  - rename_table: { from: orders, to: purchases }',
      ].join('\n'),
    );
    await sg.admin(db.url, `SHIFTGATE START '${NAME}'`);
    await sg.waitForPhase(db.url, 'active');
    clients.old = new pg.Client({ connectionString: sg.via(db.url) });
    clients.new = new pg.Client({
      connectionString: sg.via(db.url),
      options: `-c shiftgate.version=${NAME}`,
    } as pg.ClientConfig);
    await clients.old.connect();
    await clients.new.connect();
  });

  after(async () => {
    await clients.old?.end().catch(() => {});
    await clients.new?.end().catch(() => {});
    await sg?.stop();
    await db?.drop();
  });

  const psql = async (version: string | null, command: string) => {
    const env = { ...process.env, PGOPTIONS: version ? `-c shiftgate.version=${version}` : '' };
    try {
      const { stdout, stderr } = await run('psql', [sg.via(db.url), '-X', '-c', command], { env });
      return stdout + stderr;
    } catch (e) {
      // psql exits 1 when \\d finds no relation: its message is the answer.
      const { stdout, stderr } = e as { stdout: string; stderr: string };
      return stdout + stderr;
    }
  };

  test('psql \\d shows each version its own columns and types, no shadow column', async () => {
    const neu = await psql(NAME, '\\d users');
    assert.deepEqual(describedColumns(neu), [
      ['id', 'integer'],
      ['full_name', 'text'],
      ['age', 'bigint'],
    ]);
    assert.doesNotMatch(neu, /_shiftgate/);
    assert.match(neu, /"users_name_key" UNIQUE, btree \(full_name\)/);
    const old = await psql(null, '\\d users');
    assert.deepEqual(describedColumns(old), [
      ['id', 'integer'],
      ['name', 'text'],
      ['age', 'integer'],
      ['note', 'text'],
    ]);
    assert.doesNotMatch(old, /_shiftgate/);
    assert.match(old, /"users_name_key" UNIQUE, btree \(name\)/);
  });

  test('psql \\d finds a renamed table under the name of the version that sees it', async () => {
    const neu = await psql(NAME, '\\d purchases');
    assert.match(neu, /Table "public\.purchases"/);
    assert.deepEqual(describedColumns(neu), [
      ['id', 'integer'],
      ['total', 'integer'],
      ['user_id', 'integer'],
    ]);
    // A table's definitions print under the version's names too.
    assert.match(neu, /FOREIGN KEY \(user_id\) REFERENCES users\(id\)/);
    const old = await psql(null, '\\d purchases');
    assert.match(old, /Did not find any relation named "purchases"/);
    const listed = await psql(NAME, '\\dt');
    assert.match(listed, /purchases/);
    assert.doesNotMatch(listed, /\borders\b/);
  });

  test('information_schema with a parameter (extended protocol) answers per version', async () => {
    const sql =
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name';
    const neu = await clients.new.query(sql, ['public', 'users']);
    assert.deepEqual(neu.rows, [
      { column_name: 'age', data_type: 'bigint' },
      { column_name: 'full_name', data_type: 'text' },
      { column_name: 'id', data_type: 'integer' },
    ]);
    const old = await clients.old.query(sql, ['public', 'users']);
    assert.deepEqual(old.rows, [
      { column_name: 'age', data_type: 'integer' },
      { column_name: 'id', data_type: 'integer' },
      { column_name: 'name', data_type: 'text' },
      { column_name: 'note', data_type: 'text' },
    ]);
  });

  test('a table name passed as a parameter to regclass is refused clearly', async () => {
    await assert.rejects(
      clients.new.query('SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass', ['users']),
      (e: { code?: string; message: string }) => {
        assert.equal(e.code, '0A000');
        assert.match(e.message, /parameter/);
        return true;
      },
    );
    // Written into the text, it is resolved for the version.
    const { rows } = await clients.new.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = '"users"'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname`,
    );
    assert.deepEqual(
      rows.map((r) => r.attname),
      ['age', 'full_name', 'id'],
    );
  });
});
