/**
 * search_path and string rules follow the session (issue: a same-named
 * table in another schema is neither translated nor hidden, and
 * `standard_conforming_strings = off` text parses as the server parses it).
 * Every answer is told apart by its data: public rows say 'pub', the
 * archive schema's rows say 'arc'.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, PG_URL, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const MIGRATION = 'split_names';

describe('search_path and string rules (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  /** A login role of this run's own (roles are the server's, not the database's): dropped after. */
  let appRole: string;

  before(async () => {
    db = await createPgDatabase('search_path');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(`
      CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO customers VALUES (1, 'pub-1'), (2, 'pub-2');
      CREATE TABLE line_items (id int PRIMARY KEY, sku text NOT NULL);
      INSERT INTO line_items VALUES (1, 'pub-sku');
      CREATE SCHEMA archive;
      CREATE TABLE archive.customers (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO archive.customers VALUES (1, 'arc-1');
      CREATE TABLE archive.line_items (id int PRIMARY KEY, sku text NOT NULL);
      INSERT INTO archive.line_items VALUES (1, 'arc-sku');
      CREATE SCHEMA other;
      CREATE TABLE other.customers (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO other.customers VALUES (1, 'oth-1');`);
    // A role default in this database only (dropped with it): sessions of the role start with it.
    appRole = `${db.name}_app`;
    await setup.query(`CREATE ROLE ${appRole} LOGIN`);
    await setup.query(`GRANT USAGE ON SCHEMA archive, other TO ${appRole}`);
    await setup.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public, archive, other TO ${appRole}`);
    await setup.query(`ALTER ROLE ${appRole} IN DATABASE ${db.name} SET search_path = other, public`);
    await setup.end();
    sg = await startTestShiftgate(db.url);
    sg.writeMigration(
      MIGRATION,
      [
        'operations:',
        '  - rename_column: { table: customers, from: name, to: full_name }',
        '  - rename_table: { from: line_items, to: order_lines }',
        '',
      ].join('\n'),
    );
    await sg.admin(db.url, `SHIFTGATE START '${MIGRATION}'`);
    await sg.waitForPhase(db.url, 'active');
  });

  after(async () => {
    await sg?.stop();
    await db.drop();
    // The database took the role's grants and its setting there with it; the role itself is the server's.
    const cleanup = new pg.Client({ connectionString: PG_URL });
    await cleanup.connect();
    await cleanup.query(`DROP ROLE IF EXISTS ${appRole}`);
    await cleanup.end();
  });

  async function session(version: string | null, options = ''): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: sg.via(db.url),
      options: `${version ? `-c shiftgate.version=${version}` : ''} ${options}`.trim() || undefined,
    } as pg.ClientConfig);
    await client.connect();
    return client;
  }

  const first = async (client: pg.Client, sql: string, params?: unknown[]) =>
    Object.values((await client.query(sql, params)).rows[0] ?? {})[0];

  test('SET LOCAL search_path inside a block sends unqualified names to the schema that comes first', async () => {
    const c = await session(MIGRATION);
    try {
      assert.equal(await first(c, 'SELECT full_name FROM customers ORDER BY id'), 'pub-1');
      await c.query('BEGIN');
      await c.query('SET LOCAL search_path = archive, public');
      // archive.customers has no full_name: the version's rename does not apply to it.
      assert.equal(await first(c, 'SELECT name FROM customers ORDER BY id'), 'arc-1');
      assert.equal(await first(c, 'SELECT name FROM customers WHERE id = $1', [1]), 'arc-1');
      assert.equal(
        await first(c, 'SELECT sku FROM line_items'),
        'arc-sku',
        'not hidden: it is archive.line_items',
      );
      assert.equal(
        await first(c, 'SELECT sku FROM order_lines'),
        'pub-sku',
        'the renamed table is still public.line_items, qualified past archive.line_items',
      );
      await c.query('COMMIT');
      assert.equal(await first(c, 'SELECT full_name FROM customers ORDER BY id'), 'pub-1', 'SET LOCAL ended');
    } finally {
      await c.end();
    }
  });

  test('session SET, a rolled-back SET, RESET, and a path without the migration schema', async () => {
    const c = await session(MIGRATION);
    try {
      await c.query('SET search_path = archive, public');
      assert.equal(await first(c, 'SELECT name FROM customers ORDER BY id'), 'arc-1');
      await c.query('BEGIN');
      await c.query('SET search_path = public');
      assert.equal(await first(c, 'SELECT full_name FROM customers ORDER BY id'), 'pub-1');
      await c.query('ROLLBACK');
      assert.equal(
        await first(c, 'SELECT name FROM customers ORDER BY id'),
        'arc-1',
        'the ROLLBACK undid the SET',
      );
      await c.query("SELECT set_config('search_path', 'public', false)");
      assert.equal(await first(c, 'SELECT full_name FROM customers ORDER BY id'), 'pub-1');
      await c.query('SET search_path = archive');
      await assert.rejects(c.query('SELECT sku FROM order_lines'), { code: '42P01' });
      assert.equal(await first(c, 'SELECT name FROM customers'), 'arc-1');
      await c.query('RESET search_path');
      assert.equal(await first(c, 'SELECT full_name FROM customers ORDER BY id'), 'pub-1');
    } finally {
      await c.end();
    }
  });

  test('an old-version session under another path reads the other schema untranslated', async () => {
    const c = await session(null);
    try {
      await c.query('SET search_path TO archive, public');
      assert.equal(await first(c, 'SELECT sku FROM line_items'), 'arc-sku');
      await c.query('SET search_path TO DEFAULT');
      assert.equal(await first(c, 'SELECT sku FROM line_items'), 'pub-sku');
      assert.equal(await first(c, 'SELECT name FROM customers ORDER BY id'), 'pub-1');
    } finally {
      await c.end();
    }
  });

  test('a search_path from the startup packet and from the role default', async () => {
    const viaOptions = await session(MIGRATION, '-c search_path=archive,public');
    try {
      assert.equal(await first(viaOptions, 'SELECT name FROM customers ORDER BY id'), 'arc-1');
    } finally {
      await viaOptions.end();
    }
    const url = new URL(sg.via(db.url));
    url.username = appRole;
    const role = new pg.Client({
      connectionString: url.toString(),
      options: `-c shiftgate.version=${MIGRATION}`,
    } as pg.ClientConfig);
    await role.connect();
    try {
      assert.equal(
        await first(role, 'SELECT name FROM customers ORDER BY id'),
        'oth-1',
        'ALTER ROLE ... IN DATABASE ... SET',
      );
      assert.equal(await first(role, 'SELECT sku FROM order_lines'), 'pub-sku');
    } finally {
      await role.end();
    }
  });

  test('a change the proxy cannot follow refuses ambiguous names until the path is set again', async () => {
    const c = await session(MIGRATION);
    try {
      await c.query('BEGIN');
      await c.query('SAVEPOINT s');
      await c.query('SET search_path = archive, public');
      await c.query('ROLLBACK TO SAVEPOINT s');
      await c.query('COMMIT');
      await assert.rejects(
        c.query('SELECT full_name FROM customers'),
        (e: { code?: string; message: string }) => {
          assert.equal(e.code, '0A000');
          assert.match(e.message, /search_path/);
          return true;
        },
      );
      await c.query('SET search_path = public');
      assert.equal(await first(c, 'SELECT full_name FROM customers ORDER BY id'), 'pub-1');
    } finally {
      await c.end();
    }
  });

  test('a query string that changes search_path and uses a migrating table is refused', async () => {
    const c = await session(MIGRATION);
    try {
      await assert.rejects(c.query('SET search_path = archive, public; SELECT full_name FROM customers'), {
        code: '0A000',
      });
      assert.equal(
        await first(c, 'SELECT full_name FROM customers ORDER BY id'),
        'pub-1',
        'nothing was sent',
      );
    } finally {
      await c.end();
    }
  });

  test('standard_conforming_strings = off: backslash-escaped quotes parse as the server parses them', async () => {
    const c = await session(MIGRATION);
    try {
      await c.query('SET standard_conforming_strings = off');
      assert.equal(
        await first(c, "SELECT full_name FROM customers WHERE full_name <> 'O\\'Brien' ORDER BY id"),
        'pub-1',
      );
      await c.query('BEGIN');
      await c.query("INSERT INTO customers (id, full_name) VALUES (9, 'O\\'Brien \\\\ x')");
      assert.equal(await first(c, 'SELECT full_name FROM customers WHERE id = 9'), "O'Brien \\ x");
      await c.query('ROLLBACK');
      await c.query('SET standard_conforming_strings = on');
      assert.equal(
        await first(c, "SELECT full_name FROM customers WHERE full_name <> 'a\\' ORDER BY id"),
        'pub-1',
      );
    } finally {
      await c.end();
    }
  });
});
