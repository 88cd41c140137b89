/**
 * Server errors in the version's words: a client of each schema version
 * sees, for a statement that fails on the server, the error a plain database
 * holding that version's schema gives (SQLSTATE, message, column, table,
 * constraint, and the key detail), never the physical names behind it: not
 * the NOT VALID check that stands in for a NOT NULL (`_shiftgate_nn_*`),
 * not a shadow column (`_shiftgate_new_*`), not a renamed column's or
 * table's physical name. Simple and extended protocol, through `pg`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const OLD_SCHEMA = `
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, note text, age int);
CREATE UNIQUE INDEX users_name_key ON users (name);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL CONSTRAINT orders_user_id_fkey REFERENCES users (id), total numeric);
INSERT INTO users VALUES (1, 'ada', 'n', 36), (2, 'bob', NULL, 40);
INSERT INTO orders VALUES (1, 1, 10);
`;

/** The new version's schema as a plain database holds it (same constraint and index names). */
const NEW_SCHEMA = `
CREATE TABLE users (id int PRIMARY KEY, full_name text NOT NULL, note text, age bigint, status text NOT NULL);
CREATE UNIQUE INDEX users_name_key ON users (full_name);
CREATE TABLE purchases (id int PRIMARY KEY, user_id int NOT NULL CONSTRAINT orders_user_id_fkey REFERENCES users (id), total numeric);
INSERT INTO users VALUES (1, 'ada', 'n', 36, 'active'), (2, 'bob', NULL, 40, 'active');
INSERT INTO purchases VALUES (1, 1, 10);
`;

const MIGRATION = `operations:
  - rename_column: { table: users, from: name, to: full_name }
  - add_column:
      table: users
      column: { name: status, type: text, nullable: false }
      up: "'active'"
  - alter_column: { table: users, column: age, type: bigint, up: age, down: "age::int" }
  - rename_table: { from: orders, to: purchases }
`;

const NEW_VERSION_FAILURES: [string, unknown[]?][] = [
  ["INSERT INTO users (id, full_name) VALUES (3, 'cy')"],
  ['INSERT INTO users (id, full_name) VALUES ($1, $2)', [3, 'cy']],
  ['UPDATE users SET status = NULL WHERE id = 1'],
  ["INSERT INTO users (id, status) VALUES (3, 's')"],
  ['UPDATE users SET full_name = NULL WHERE id = $1', [1]],
  ["INSERT INTO users (id, full_name, status) VALUES (3, 'ada', 's')"],
  ["UPDATE users SET full_name = 'bob' WHERE id = 1"],
  ["INSERT INTO users (id, full_name, status, age) VALUES (3, 'cy', 's', true)"],
  ["UPDATE users SET age = 'x' WHERE id = 1"],
  ['INSERT INTO purchases (id, user_id, total) VALUES (2, 99, 1)'],
  ['UPDATE purchases SET user_id = $1 WHERE id = 1', [98]],
  ['DELETE FROM users WHERE id = 1'],
  ['SELECT full_name, count(*) FROM users'],
  ['SELECT u.full_name, count(*) FROM users u'],
];

const OLD_VERSION_FAILURES: [string, unknown[]?][] = [
  ["INSERT INTO users (id, name) VALUES (3, 'ada')"],
  ['INSERT INTO users (id) VALUES (3)'],
  ['UPDATE users SET name = NULL WHERE id = $1', [2]],
  ['INSERT INTO users (id, name, age) VALUES (3, $1, true)', ['cy']],
  ['INSERT INTO orders (id, user_id) VALUES (5, 99)'],
  ['DELETE FROM users WHERE id = 1'],
  ['SELECT name, count(*) FROM users'],
];

interface Seen {
  code?: string;
  message: string;
  column?: string;
  table?: string;
  constraint?: string;
  detail?: string;
}

async function failure(client: pg.Client, sql: string, params?: unknown[]): Promise<Seen> {
  try {
    await client.query(sql, params);
  } catch (err) {
    const e = err as Seen;
    return {
      code: e.code,
      message: e.message,
      column: e.column,
      table: e.table,
      constraint: e.constraint,
      // A failing row is shown in the version's column order by the plain database; the proxy leaves it out.
      detail: e.detail?.startsWith('Failing row contains') ? undefined : e.detail,
    };
  }
  return { message: 'no error' };
}

describe('server errors in the version words (PostgreSQL)', () => {
  let db: TestDatabase;
  let refOld: TestDatabase;
  let refNew: TestDatabase;
  let sg: TestShiftgate;
  const clients: pg.Client[] = [];

  async function connect(url: string, options?: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url, options } as pg.ClientConfig);
    await client.connect();
    clients.push(client);
    return client;
  }

  before(async () => {
    db = await createPgDatabase('server_errors');
    refOld = await createPgDatabase('server_errors_ref_old');
    refNew = await createPgDatabase('server_errors_ref_new');
    for (const [target, ddl] of [
      [db, OLD_SCHEMA],
      [refOld, OLD_SCHEMA],
      [refNew, NEW_SCHEMA],
    ] as const) {
      const c = await connect(target.url);
      await c.query(ddl);
    }
    sg = await startTestShiftgate(db.url);
    sg.writeMigration('m', MIGRATION);
    await sg.admin(db.url, "SHIFTGATE START 'm'");
    await sg.waitForPhase(db.url, 'active');
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await sg?.stop();
    for (const d of [db, refOld, refNew]) await d?.drop();
  });

  test('a client of the new version sees the errors of its own schema', async () => {
    const proxied = await connect(sg.via(db.url), '-c shiftgate.version=m');
    const plain = await connect(refNew.url);
    for (const [sql, params] of NEW_VERSION_FAILURES) {
      const want = await failure(plain, sql, params);
      assert.ok(want.code, `the plain schema fails it: ${sql}`);
      const got = await failure(proxied, sql, params);
      assert.deepEqual(got, want, sql);
      assert.doesNotMatch(JSON.stringify(got), /_shiftgate_|"orders"/, sql);
    }
  });

  test('a client of the old version sees the errors of its own schema', async () => {
    const proxied = await connect(sg.via(db.url));
    const plain = await connect(refOld.url);
    for (const [sql, params] of OLD_VERSION_FAILURES) {
      const want = await failure(plain, sql, params);
      assert.ok(want.code, `the plain schema fails it: ${sql}`);
      const got = await failure(proxied, sql, params);
      assert.deepEqual(got, want, sql);
      assert.doesNotMatch(JSON.stringify(got), /_shiftgate_/, sql);
    }
  });

  test('errors inside a pipelined batch and after it keep their order and the session goes on', async () => {
    const proxied = await connect(sg.via(db.url), '-c shiftgate.version=m');
    const results = await Promise.allSettled([
      proxied.query('SELECT full_name FROM users WHERE id = $1', [1]),
      proxied.query('INSERT INTO users (id, full_name) VALUES ($1, $2)', [3, 'cy']),
      proxied.query("SELECT repeat('x', 100000) AS big FROM users"),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal((results[1] as PromiseRejectedResult).reason.code, '23502');
    assert.equal((results[1] as PromiseRejectedResult).reason.column, 'status');
    assert.equal((results[2] as PromiseFulfilledResult<pg.QueryResult>).value.rows.length, 2);
  });
});
