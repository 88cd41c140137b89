/**
 * Old and new application code at once, through the PostgreSQL proxy: for
 * each operation kind that changes what clients see, a client bound to the
 * old version and one bound to the new version run INSERT / SELECT * /
 * UPDATE / UPSERT / DELETE / RETURNING in simple and extended protocol
 * while the migration is active, see each other's rows in their own shape,
 * and keep working (or get a clear error) after COMPLETE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { EMAIL_MIGRATION } from '../helpers/audited-users.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

type Row = Record<string, unknown>;

/** One client statement: sent with parameters (extended protocol) when `params` is given, else as a simple Query. */
interface Step {
  as: 'old' | 'new';
  sql: string;
  params?: unknown[];
  /** Expected rows (compared after JSON normalisation), or an expected SQLSTATE. */
  rows?: Row[];
  error?: string;
}

interface Scenario {
  name: string;
  setup: string[];
  migration: string;
  /** While the migration is active. */
  during: Step[];
  /** After COMPLETE FORCE: the old session is still connected and bound to the old version. */
  afterComplete: Step[];
}

const scenarios: Scenario[] = [
  {
    name: 'rename_column',
    setup: [
      'CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)',
      "INSERT INTO users VALUES (1, 'ada')",
    ],
    migration: 'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    during: [
      { as: 'old', sql: 'SELECT * FROM users WHERE id = 1', rows: [{ id: 1, name: 'ada' }] },
      {
        as: 'new',
        sql: 'SELECT * FROM users WHERE id = $1',
        params: [1],
        rows: [{ id: 1, full_name: 'ada' }],
      },
      {
        as: 'old',
        sql: 'INSERT INTO users (id, name) VALUES ($1, $2) RETURNING *',
        params: [2, 'bob'],
        rows: [{ id: 2, name: 'bob' }],
      },
      {
        as: 'new',
        sql: "INSERT INTO users VALUES (3, 'cy') RETURNING full_name",
        rows: [{ full_name: 'cy' }],
      },
      { as: 'old', sql: 'SELECT u.name FROM users u WHERE u.id = 3', rows: [{ name: 'cy' }] },
      {
        as: 'new',
        sql: 'SELECT full_name FROM users WHERE id = $1',
        params: [2],
        rows: [{ full_name: 'bob' }],
      },
      {
        as: 'old',
        sql: "UPDATE users SET name = name || '!' WHERE id = 1 RETURNING name",
        rows: [{ name: 'ada!' }],
      },
      {
        as: 'new',
        sql: 'INSERT INTO users (id, full_name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name RETURNING *',
        params: [2, 'bobby'],
        rows: [{ id: 2, full_name: 'bobby' }],
      },
      {
        as: 'old',
        sql: 'SELECT name FROM users ORDER BY id',
        rows: [{ name: 'ada!' }, { name: 'bobby' }, { name: 'cy' }],
      },
      {
        as: 'new',
        sql: 'DELETE FROM users WHERE full_name = $1 RETURNING id',
        params: ['cy'],
        rows: [{ id: 3 }],
      },
      { as: 'old', sql: 'SELECT count(*)::int AS n FROM users', rows: [{ n: 2 }] },
    ],
    afterComplete: [
      { as: 'new', sql: 'SELECT * FROM users WHERE id = 1', rows: [{ id: 1, full_name: 'ada!' }] },
      { as: 'old', sql: 'SELECT * FROM users WHERE id = 1', rows: [{ id: 1, name: 'ada!' }] },
      {
        as: 'old',
        sql: 'UPDATE users SET name = $1 WHERE id = 1 RETURNING name',
        params: ['ada'],
        rows: [{ name: 'ada' }],
      },
    ],
  },
  {
    name: 'add_column with up',
    setup: [
      'CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)',
      "INSERT INTO users VALUES (1, 'Ada Lovelace')",
    ],
    migration: EMAIL_MIGRATION,
    during: [
      { as: 'old', sql: 'SELECT * FROM users', rows: [{ id: 1, name: 'Ada Lovelace' }] },
      {
        as: 'new',
        sql: 'SELECT * FROM users',
        rows: [{ id: 1, name: 'Ada Lovelace', email: 'ada.lovelace@example.com' }],
      },
      {
        as: 'old',
        sql: 'INSERT INTO users VALUES ($1, $2) RETURNING *',
        params: [2, 'Bob Byte'],
        rows: [{ id: 2, name: 'Bob Byte' }],
      },
      { as: 'new', sql: 'SELECT email FROM users WHERE id = 2', rows: [{ email: 'bob.byte@example.com' }] },
      {
        as: 'new',
        sql: 'INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING *',
        params: [3, 'Cy', 'cy@home.org'],
        rows: [{ id: 3, name: 'Cy', email: 'cy@home.org' }],
      },
      { as: 'old', sql: 'SELECT * FROM users WHERE id = 3', rows: [{ id: 3, name: 'Cy' }] },
      {
        as: 'old',
        sql: 'INSERT INTO users VALUES (4, $1) ON CONFLICT (id) DO NOTHING RETURNING id',
        params: ['Dee'],
        rows: [{ id: 4 }],
      },
    ],
    afterComplete: [
      { as: 'new', sql: 'SELECT email FROM users WHERE id = 4', rows: [{ email: 'dee@example.com' }] },
      { as: 'old', sql: 'SELECT * FROM users WHERE id = 1', rows: [{ id: 1, name: 'Ada Lovelace' }] },
    ],
  },
  {
    name: 'alter_column type change with up and down',
    setup: [
      'CREATE TABLE items (id int PRIMARY KEY, qty text NOT NULL)',
      "INSERT INTO items VALUES (1, '7')",
    ],
    migration:
      'operations:\n  - alter_column: { table: items, column: qty, type: integer, up: "qty::integer", down: "qty::text" }\n',
    during: [
      { as: 'old', sql: 'SELECT * FROM items', rows: [{ id: 1, qty: '7' }] },
      { as: 'new', sql: 'SELECT * FROM items', rows: [{ id: 1, qty: 7 }] },
      {
        as: 'new',
        sql: 'INSERT INTO items VALUES ($1, $2) RETURNING qty',
        params: [2, 40],
        rows: [{ qty: 40 }],
      },
      { as: 'old', sql: 'SELECT qty FROM items WHERE id = 2', rows: [{ qty: '40' }] },
      { as: 'old', sql: "UPDATE items SET qty = '8' WHERE id = 1 RETURNING *", rows: [{ id: 1, qty: '8' }] },
      { as: 'new', sql: 'SELECT qty + 1 AS next FROM items WHERE id = 1', rows: [{ next: 9 }] },
    ],
    afterComplete: [{ as: 'new', sql: 'SELECT sum(qty)::int AS total FROM items', rows: [{ total: 48 }] }],
  },
  {
    name: 'drop_column with down',
    setup: [
      'CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL, legacy text NOT NULL)',
      "INSERT INTO posts VALUES (1, 'hello', 'L1')",
    ],
    migration: 'operations:\n  - drop_column: { table: posts, column: legacy, down: "\'from-new\'" }\n',
    during: [
      { as: 'new', sql: 'SELECT * FROM posts', rows: [{ id: 1, title: 'hello' }] },
      {
        as: 'new',
        sql: 'INSERT INTO posts VALUES ($1, $2) RETURNING *',
        params: [2, 'world'],
        rows: [{ id: 2, title: 'world' }],
      },
      {
        as: 'old',
        sql: 'SELECT * FROM posts ORDER BY id',
        rows: [
          { id: 1, title: 'hello', legacy: 'L1' },
          { id: 2, title: 'world', legacy: 'from-new' },
        ],
      },
      { as: 'new', sql: 'SELECT legacy FROM posts', error: '42703' },
    ],
    afterComplete: [{ as: 'new', sql: 'SELECT count(*)::int AS n FROM posts', rows: [{ n: 2 }] }],
  },
  {
    name: 'set NOT NULL',
    setup: ['CREATE TABLE people (id int PRIMARY KEY, nick text)', 'INSERT INTO people VALUES (1, NULL)'],
    migration:
      'operations:\n  - alter_column: { table: people, column: nick, nullable: false, up: "coalesce(nick, \'anon\')", down: nick }\n',
    during: [
      { as: 'old', sql: 'INSERT INTO people VALUES (2, NULL) RETURNING *', rows: [{ id: 2, nick: null }] },
      {
        as: 'new',
        sql: 'SELECT * FROM people ORDER BY id',
        rows: [
          { id: 1, nick: 'anon' },
          { id: 2, nick: 'anon' },
        ],
      },
      {
        as: 'new',
        sql: 'INSERT INTO people VALUES ($1, $2) RETURNING *',
        params: [3, 'zed'],
        rows: [{ id: 3, nick: 'zed' }],
      },
      { as: 'old', sql: 'SELECT nick FROM people WHERE id = 3', rows: [{ nick: 'zed' }] },
    ],
    afterComplete: [
      { as: 'new', sql: 'SELECT count(*)::int AS n FROM people WHERE nick IS NULL', rows: [{ n: 0 }] },
    ],
  },
  {
    name: 'rename_table',
    setup: [
      'CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL)',
      'INSERT INTO orders VALUES (1, 10)',
    ],
    migration: 'operations:\n  - rename_table: { from: orders, to: purchases }\n',
    during: [
      { as: 'old', sql: 'SELECT * FROM orders', rows: [{ id: 1, total: 10 }] },
      {
        as: 'new',
        sql: 'SELECT p.total FROM purchases p WHERE p.id = $1',
        params: [1],
        rows: [{ total: 10 }],
      },
      { as: 'new', sql: 'INSERT INTO purchases VALUES (2, 20) RETURNING *', rows: [{ id: 2, total: 20 }] },
      {
        as: 'old',
        sql: 'UPDATE orders SET total = total + 1 WHERE id = 2 RETURNING total',
        rows: [{ total: 21 }],
      },
      { as: 'new', sql: 'SELECT * FROM orders', error: '42P01' },
    ],
    afterComplete: [{ as: 'new', sql: 'SELECT sum(total)::int AS s FROM purchases', rows: [{ s: 31 }] }],
  },
  {
    name: 'create_table',
    setup: ['CREATE TABLE users (id int PRIMARY KEY)', 'INSERT INTO users VALUES (1)'],
    migration:
      'operations:\n  - create_table:\n      name: tags\n      columns:\n        - { name: id, type: int, pk: true }\n        - { name: label, type: text }\n',
    during: [
      {
        as: 'new',
        sql: 'INSERT INTO tags VALUES ($1, $2) RETURNING *',
        params: [1, 'x'],
        rows: [{ id: 1, label: 'x' }],
      },
      { as: 'old', sql: 'SELECT * FROM tags', error: '42P01' },
      { as: 'old', sql: 'SELECT count(*)::int AS n FROM users', rows: [{ n: 1 }] },
    ],
    afterComplete: [{ as: 'new', sql: 'SELECT label FROM tags', rows: [{ label: 'x' }] }],
  },
  {
    name: 'drop_table',
    setup: ['CREATE TABLE scratch (id int PRIMARY KEY)', 'INSERT INTO scratch VALUES (1)'],
    migration: 'operations:\n  - drop_table: { name: scratch }\n',
    during: [
      { as: 'old', sql: 'SELECT * FROM scratch', rows: [{ id: 1 }] },
      { as: 'new', sql: 'SELECT * FROM scratch', error: '42P01' },
    ],
    afterComplete: [{ as: 'new', sql: 'SELECT * FROM scratch', error: '42P01' }],
  },
];

async function runStep(clients: Record<'old' | 'new', pg.Client>, step: Step, label: string): Promise<void> {
  const client = clients[step.as];
  const what = `${label}: [${step.as}] ${step.sql}`;
  if (step.error) {
    await assert.rejects(client.query(step.sql, step.params), (e: { code?: string; message: string }) => {
      assert.equal(e.code, step.error, `${what} -> ${e.message}`);
      return true;
    });
    return;
  }
  let result: pg.QueryResult;
  try {
    result = await client.query(step.sql, step.params);
  } catch (err) {
    assert.fail(`${what} failed: ${(err as Error).message}`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(result.rows)), step.rows, what);
}

describe('old and new clients during and after a migration (PostgreSQL)', () => {
  for (const scenario of scenarios) {
    describe(scenario.name, () => {
      let db: TestDatabase;
      let sg: TestShiftgate;
      const clients = {} as Record<'old' | 'new', pg.Client>;
      const name = `m_${scenario.name.replace(/\W+/g, '_')}`;

      before(async () => {
        db = await createPgDatabase('versions');
        const setup = new pg.Client({ connectionString: db.url });
        await setup.connect();
        for (const s of scenario.setup) await setup.query(s);
        await setup.end();
        sg = await startTestShiftgate(db.url);
        sg.writeMigration(name, scenario.migration);
        await sg.admin(db.url, `SHIFTGATE START '${name}'`);
        await sg.waitForPhase(db.url, 'active');
        clients.old = new pg.Client({ connectionString: sg.via(db.url), application_name: 'old-code' });
        // The new code binds itself with the startup parameter.
        clients.new = new pg.Client({
          connectionString: sg.via(db.url),
          options: `-c shiftgate.version=${name}`,
          application_name: 'new-code',
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

      test('both versions work side by side while the migration is active', async () => {
        for (const step of scenario.during) await runStep(clients, step, scenario.name);
      });

      test('after COMPLETE FORCE, new code works and the old session is served or refused clearly', async () => {
        await sg.admin(db.url, 'SHIFTGATE COMPLETE FORCE');
        for (let i = 0; i < 50 && sg.sg.router.versionMap?.latestCompleted !== name; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(sg.sg.router.versionMap?.latestCompleted, name);
        for (const step of scenario.afterComplete)
          await runStep(clients, step, `${scenario.name} (completed)`);
        const fresh = new pg.Client({ connectionString: sg.via(db.url) });
        await fresh.connect();
        const sessions = await sg.admin(db.url, 'SHOW SHIFTGATE SESSIONS');
        assert.ok(
          sessions.some((s) => s.version === name && s.application_name !== 'new-code'),
          'a new session binds to the completed version',
        );
        await fresh.end();
      });
    });
  }
});
