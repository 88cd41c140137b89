/**
 * The new version's column order does not change at the switch. An
 * alter_column adds its shadow column at the end of the table, and complete
 * renames it into place there, so the changed column is last from then on.
 * A session of the new version sees that order from START: in `SELECT *`,
 * in an INSERT without a column list, and in the catalogs (whose column
 * numbers stay physical). The old version keeps its own order until the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const SCHEMA = `
CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, name text NOT NULL, note text);
INSERT INTO items VALUES (1, 5, 'a', 'n1'), (2, 7, 'b', NULL);`;

const MIGRATION = `operations:
  - alter_column: { table: items, column: qty, type: bigint, up: qty, down: "least(qty, 2147483647)::int" }
`;

/** Everything of a session's view of the table's columns that depends on their order. */
async function columnOrder(client: pg.Client) {
  const star = await client.query('SELECT * FROM items ORDER BY id');
  const info = await client.query(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'items' ORDER BY ordinal_position`,
  );
  const attributes = await client.query(
    `SELECT attname FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
  );
  return {
    star: star.fields.map((f) => f.name),
    rows: star.rows.map((r) => Object.values(r as Record<string, unknown>)),
    informationSchema: info.rows.map((r) => `${r.column_name} ${r.data_type}`),
    attributes: attributes.rows.map((r) => r.attname as string),
  };
}

describe('the new version sees the column order complete leaves', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  const clients: pg.Client[] = [];

  async function connect(version: string): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: sg.via(db.url),
      options: `-c shiftgate.version=${version}`,
    });
    await client.connect();
    clients.push(client);
    return client;
  }

  before(async () => {
    db = await createPgDatabase('column_order');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(SCHEMA);
    await setup.end();
    sg = await startTestShiftgate(db.url);
    sg.writeMigration('m', MIGRATION);
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await sg?.stop();
    await db?.drop();
  });

  test('during the migration and after complete, SELECT *, positional INSERT and the catalogs agree', async () => {
    await sg.admin(db.url, "SHIFTGATE START 'm'");
    await sg.waitForPhase(db.url, 'active');

    const old = await connect('(initial)');
    assert.deepEqual((await columnOrder(old)).star, ['id', 'qty', 'name', 'note']);

    const during = await connect('m');
    await during.query("INSERT INTO items VALUES (3, 'c', 'n3', 9000000000)");
    const seenDuring = await columnOrder(during);
    assert.deepEqual(seenDuring.star, ['id', 'name', 'note', 'qty']);
    assert.deepEqual(seenDuring.informationSchema, ['id integer', 'name text', 'note text', 'qty bigint']);
    assert.deepEqual(seenDuring.attributes, ['id', 'name', 'note', 'qty']);
    assert.deepEqual(seenDuring.rows.at(-1), [3, 'c', 'n3', '9000000000']);

    await old.end();
    clients.splice(clients.indexOf(old), 1);
    await sg.admin(db.url, 'SHIFTGATE COMPLETE');
    await sg.waitForPhase(db.url, 'none');

    const afterComplete = await connect('m');
    await afterComplete.query("INSERT INTO items VALUES (4, 'd', NULL, 4)");
    const seenAfter = await columnOrder(afterComplete);
    assert.deepEqual(seenAfter.star, seenDuring.star);
    assert.deepEqual(seenAfter.informationSchema, seenDuring.informationSchema);
    assert.deepEqual(seenAfter.attributes, seenDuring.attributes);
    assert.deepEqual(seenAfter.rows.slice(0, 3), seenDuring.rows);
    // The session that connected during the migration reads the same after the switch.
    assert.deepEqual((await columnOrder(during)).star, seenDuring.star);
  });
});
