/**
 * What the proxy refuses rather than guesses: statements on a migrating
 * table that cannot be translated safely, unknown versions, versions whose
 * migration is not active yet. Each gets a real SQLSTATE and a message
 * naming the object; the session stays usable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

describe('refusals (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;

  before(async () => {
    db = await createPgDatabase('refusals');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO users VALUES (1, 'ada')");
    await setup.end();
    sg = await startTestShiftgate(db.url);
    sg.writeMigration(
      'rename_name',
      'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    );
    await sg.admin(db.url, "SHIFTGATE START 'rename_name'");
    await sg.waitForPhase(db.url, 'active');
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  /** A session of the new version: its view of `users` differs from the physical table. */
  async function newVersionClient(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: sg.via(db.url),
      options: '-c shiftgate.version=rename_name',
    } as pg.ClientConfig);
    await client.connect();
    return client;
  }

  test('an untranslatable statement on a migrating table gets 0A000, in simple and extended protocol', async () => {
    const client = await newVersionClient();
    // A view over a migrating table would freeze one version's physical names.
    for (const params of [undefined, []]) {
      await assert.rejects(
        client.query('CREATE VIEW v AS SELECT * FROM users', params),
        (e: { code?: string; message: string; where?: string }) => {
          assert.equal(e.code, '0A000');
          assert.match(e.message, /users/);
          assert.equal(e.where, undefined, "the proxy's own error: no CONTEXT");
          return true;
        },
      );
    }
    // With parameters the refusal still arrives as the statement's own error, in order.
    const results = await Promise.allSettled([
      client.query('SELECT full_name FROM users WHERE id = $1', [1]),
      client.query('SELECT * FROM users NATURAL JOIN users u2 WHERE users.id = $1', [1]),
      client.query('SELECT count(*)::int AS n FROM users WHERE id > $1', [0]),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.equal((results[1] as PromiseRejectedResult).reason.code, '0A000');
    assert.equal(results[2].status, 'fulfilled');
    assert.equal(
      (await client.query('SELECT full_name FROM users')).rows[0].full_name,
      'ada',
      'the session stays usable',
    );
    // A column the version does not have is the version's own "undefined column", not a server error.
    for (const params of [undefined, []]) {
      await assert.rejects(
        client.query('SELECT name FROM users', params),
        (e: { code?: string; message: string; where?: string }) => {
          assert.equal(e.code, '42703');
          assert.doesNotMatch(e.message, /shiftgate_local_answer/, 'the refusal, not its stand-in');
          assert.equal(e.where, undefined);
          return true;
        },
      );
    }
    await client.end();
  });

  test('a multi-statement query with one untranslatable statement is refused whole: nothing of it runs', async () => {
    const client = await newVersionClient();
    await assert.rejects(
      client.query("UPDATE users SET full_name = 'multi' WHERE id = 1; CREATE VIEW v AS SELECT * FROM users"),
      (e: { code?: string; where?: string }) => {
        assert.equal(e.code, '0A000');
        assert.equal(e.where, undefined);
        return true;
      },
    );
    assert.equal((await client.query('SELECT full_name FROM users WHERE id = 1')).rows[0].full_name, 'ada');
    await client.end();
  });

  test('a DO block or function body naming a migrating table is refused; a syntax error naming one gets 42601', async () => {
    const client = await newVersionClient();
    await assert.rejects(
      client.query('DO $$ BEGIN PERFORM full_name FROM users; END $$'),
      (e: { code?: string; message: string }) => {
        assert.equal(e.code, '0A000');
        assert.match(e.message, /DO block is not translated/);
        return true;
      },
    );
    await assert.rejects(
      client.query('CREATE FUNCTION n() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM users $$'),
      { code: '0A000' },
    );
    await assert.rejects(
      client.query('SELECT full_name FORM users'),
      (e: { code?: string; position?: string }) => {
        assert.equal(e.code, '42601');
        return true;
      },
    );
    await client.query('DO $$ BEGIN PERFORM 1; END $$');
    assert.equal((await client.query('SELECT full_name FROM users')).rows[0].full_name, 'ada');
    await client.end();
  });

  test('a refusal inside a transaction aborts it, as a server error would', async () => {
    const client = await newVersionClient();
    await client.query('BEGIN');
    await client.query("UPDATE users SET full_name = 'changed' WHERE id = 1");
    await assert.rejects(client.query('CREATE VIEW v AS SELECT * FROM users'), { code: '0A000' });
    await assert.rejects(client.query('SELECT 1'), { code: '25P02' });
    await client.query('ROLLBACK');
    assert.equal((await client.query('SELECT full_name FROM users WHERE id = 1')).rows[0].full_name, 'ada');
    await client.end();
  });

  test('an unknown version in the startup options is refused after authentication, listing the known ones', async () => {
    const client = new pg.Client({
      connectionString: sg.via(db.url),
      options: '-c shiftgate.version=nope',
    } as pg.ClientConfig);
    await assert.rejects(client.connect(), (e: { code?: string; message: string; hint?: string }) => {
      assert.equal(e.code, '22023');
      assert.match(e.message, /unknown schema version "nope"/);
      assert.match(e.hint ?? '', /rename_name/);
      return true;
    });
  });

  test('SET shiftgate.version to an unknown version is refused and the binding stays', async () => {
    const client = new pg.Client({ connectionString: sg.via(db.url) });
    await client.connect();
    await assert.rejects(client.query("SET shiftgate.version = 'nope'"), { code: '22023' });
    assert.deepEqual((await client.query('SELECT * FROM users')).rows, [{ id: 1, name: 'ada' }]);
    await client.query("SET shiftgate.version = 'rename_name'");
    assert.deepEqual((await client.query('SELECT * FROM users')).rows, [{ id: 1, full_name: 'ada' }]);
    const { rows } = await client.query("SELECT current_setting('shiftgate.version') AS v");
    assert.equal(rows[0].v, 'rename_name', 'the upstream session carries the version for the sync triggers');
    await client.end();
  });
});
