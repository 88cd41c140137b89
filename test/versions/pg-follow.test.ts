/**
 * Every running proxy follows the state store: a migration started,
 * completed or rolled back by `shiftgate migrate` (another process, no
 * proxy involved) changes how the proxy translates within about a second.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { CLI } from '../helpers/cli.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);

describe('following the state store (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let file: string;

  before(async () => {
    db = await createPgDatabase('follow');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO users VALUES (1, 'ada')");
    await setup.end();
    sg = await startTestShiftgate(db.url);
    file = join(sg.migrationsDir, 'rename_name.yaml');
    writeFileSync(file, 'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n');
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  /** Milliseconds until `check` holds, polling every 20 ms for up to `limitMs`. */
  async function within(limitMs: number, check: () => boolean): Promise<number> {
    const started = Date.now();
    while (!check()) {
      if (Date.now() - started > limitMs) assert.fail(`not picked up within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - started;
  }

  test('migrate start / rollback / start / complete from another process are picked up', async () => {
    const client = new pg.Client({ connectionString: sg.via(db.url) });
    await client.connect();
    const map = () => sg.sg.router.versionMap;

    await run(process.execPath, [...CLI, 'migrate', 'start', '--upstream', db.url, file]);
    await within(1500, () => map()?.latest === 'rename_name');
    // The map may show the version one poll before it shows it active (then SET answers "not ready yet").
    const started = Date.now();
    for (;;) {
      try {
        await client.query("SET shiftgate.version = 'rename_name'");
        break;
      } catch (err) {
        if (!/not ready yet/.test((err as Error).message) || Date.now() - started > 1500) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.deepEqual((await client.query('SELECT * FROM users')).rows, [{ id: 1, full_name: 'ada' }]);

    await run(process.execPath, [...CLI, 'migrate', 'rollback', '--upstream', db.url]);
    await within(1500, () => map()?.latest !== 'rename_name');
    await assert.rejects(client.query("SET shiftgate.version = 'rename_name'"), { code: '22023' });

    await run(process.execPath, [...CLI, 'migrate', 'start', '--upstream', db.url, file]);
    await within(1500, () => map()?.latest === 'rename_name');
    await run(process.execPath, [...CLI, 'migrate', 'complete', '--upstream', db.url]);
    await within(1500, () => map()?.latestCompleted === 'rename_name');
    // The session stayed bound to the version it chose; a new one binds to the completed version.
    assert.deepEqual((await client.query('SELECT * FROM users')).rows, [{ id: 1, full_name: 'ada' }]);
    const fresh = new pg.Client({ connectionString: sg.via(db.url) });
    await fresh.connect();
    assert.deepEqual((await fresh.query('SELECT * FROM users')).rows, [{ id: 1, full_name: 'ada' }]);
    await fresh.end();
    await client.end();
  });
});
