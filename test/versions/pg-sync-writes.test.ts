/**
 * A write never overwrites what it did not touch: while a migration is
 * active, the sync triggers compute the other version's column on INSERT,
 * and on UPDATE only when a column its expression reads changed or when it
 * was never filled (still NULL). Each
 * version's own explicit values survive the other version's writes that do
 * not concern them. Real writes through the proxy, from sessions of both
 * versions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const MIGRATION = `operations:
  - add_column:
      table: users
      column: { name: status, type: text }
      up: "upper(name)"
  - alter_column: { table: users, column: age, type: bigint, up: "age * 10", down: "(age / 10)::int" }
  - drop_column: { table: users, column: legacy, down: "'legacy:' || name" }
`;

describe('sync triggers leave untouched values alone (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let oldClient: pg.Client;
  let newClient: pg.Client;
  let direct: pg.Client;

  before(async () => {
    db = await createPgDatabase('sync_writes');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await direct.query(
      "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, note text, age int, legacy text); INSERT INTO users VALUES (1, 'ada', NULL, 3, 'l1'), (2, 'bob', NULL, 4, 'l2')",
    );
    sg = await startTestShiftgate(db.url);
    sg.writeMigration('m', MIGRATION);
    await sg.admin(db.url, "SHIFTGATE START 'm'");
    await sg.waitForPhase(db.url, 'active');
    oldClient = new pg.Client({ connectionString: sg.via(db.url) });
    newClient = new pg.Client({
      connectionString: sg.via(db.url),
      options: '-c shiftgate.version=m',
    } as pg.ClientConfig);
    await oldClient.connect();
    await newClient.connect();
  });

  after(async () => {
    await oldClient?.end();
    await newClient?.end();
    await direct?.end();
    await sg?.stop();
    await db?.drop();
  });

  const oldRow = async (id: number) =>
    (await oldClient.query('SELECT name, note, age, legacy FROM users WHERE id = $1', [id])).rows[0];
  const newRow = async (id: number) =>
    (await newClient.query('SELECT name, note, age::int AS age, status FROM users WHERE id = $1', [id]))
      .rows[0];

  test('the backfill filled the new columns', async () => {
    assert.deepEqual(await newRow(1), { name: 'ada', note: null, age: 30, status: 'ADA' });
  });

  test("an old-version UPDATE of other columns keeps the new version's own values", async () => {
    await newClient.query("UPDATE users SET status = 'vip', age = 31 WHERE id = 1");
    assert.equal((await oldRow(1)).age, 3, 'the new age went down to the old column: (31 / 10)');
    await oldClient.query("UPDATE users SET note = 'old note' WHERE id = 1");
    assert.deepEqual(await newRow(1), { name: 'ada', note: 'old note', age: 31, status: 'vip' });
  });

  test('an old-version UPDATE of a column the expression reads computes it again', async () => {
    await oldClient.query("UPDATE users SET name = 'adele' WHERE id = 1");
    assert.equal((await newRow(1)).status, 'ADELE');
    assert.equal((await newRow(1)).age, 31, 'age reads only age, which did not change');
    await oldClient.query('UPDATE users SET age = 5 WHERE id = 1');
    assert.equal((await newRow(1)).age, 50);
  });

  test("a new-version UPDATE of other columns keeps the old version's own values", async () => {
    await oldClient.query("UPDATE users SET legacy = 'kept', age = 4 WHERE id = 2");
    await newClient.query("UPDATE users SET note = 'new note', status = 'x' WHERE id = 2");
    assert.deepEqual(await oldRow(2), { name: 'bob', note: 'new note', age: 4, legacy: 'kept' });
    // The down of legacy reads name: a new-version UPDATE of name writes it again.
    await newClient.query("UPDATE users SET name = 'bobby' WHERE id = 2");
    assert.equal((await oldRow(2)).legacy, 'legacy:bobby');
    assert.equal((await oldRow(2)).age, 4, 'age was not touched');
  });

  test("inserts of either version always fill the other version's columns", async () => {
    await oldClient.query("INSERT INTO users (id, name, age, legacy) VALUES (3, 'cy', 7, 'l3')");
    assert.deepEqual(await newRow(3), { name: 'cy', note: null, age: 70, status: 'CY' });
    await newClient.query("INSERT INTO users (id, name, age, status) VALUES (4, 'di', 80, 's')");
    assert.deepEqual(await oldRow(4), { name: 'di', note: null, age: 8, legacy: 'legacy:di' });
  });

  test("an old-version UPDATE of other columns fills a new version's column still NULL (a row the backfill has not reached)", async () => {
    // The state of a row the backfill has not reached yet: the shadow column of age never filled.
    // Triggers are skipped for this one statement (session_replication_role), as no client could.
    await direct.query("SET session_replication_role = 'replica'");
    try {
      await direct.query('UPDATE users SET _shiftgate_new_age = NULL WHERE id = 4');
    } finally {
      await direct.query('RESET session_replication_role');
    }
    assert.equal((await newRow(4)).age, null);
    // Without filling it, a NOT NULL still enforced by its NOT VALID check would fail this write.
    await oldClient.query("UPDATE users SET note = 'filled' WHERE id = 4");
    assert.deepEqual(await newRow(4), { name: 'di', note: 'filled', age: 80, status: 's' });
  });

  test('a writer that bypasses the proxy counts as the old version, with the same rule', async () => {
    await newClient.query("UPDATE users SET status = 'mine' WHERE id = 3");
    await direct.query("UPDATE users SET note = 'direct' WHERE id = 3");
    assert.equal((await newRow(3)).status, 'mine');
  });
});
