/**
 * The proxy fleet on MariaDB: three `shiftgate serve` processes in front of
 * one database share the registry in the `shiftgate` database (scoped to
 * that database, which every database of the server shares), SHOW
 * SHIFTGATE SESSIONS / PROXIES answer for all of them, and COMPLETE on
 * proxy A is refused (1205) while proxy C serves an old-version session.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveFleet } from '../helpers/serve-process.ts';

const TIMEOUT_MS = 3000;

type Row = Record<string, string | null>;

describe('proxy fleet (MariaDB, three proxy processes)', () => {
  let db: TestDatabase;
  const proxies = new Map<string, ServedProxy>();

  const connect = (name: string) => mysql.createConnection(proxies.get(name)!.proxyUrl);
  const query = async (name: string, sql: string) => {
    const conn = await connect(name);
    try {
      const [rows] = await conn.query(sql);
      return rows as unknown as Row[];
    } finally {
      await conn.end();
    }
  };
  const liveProxies = async (via: string) => (await query(via, 'SHOW SHIFTGATE PROXIES')).map((r) => r.proxy);

  before(async () => {
    db = await createMysqlDatabase('fleet');
    const setup = await mysql.createConnection(db.url);
    await setup.query('CREATE TABLE users (id int PRIMARY KEY AUTO_INCREMENT, name varchar(100) NOT NULL)');
    await setup.query("INSERT INTO users (name) SELECT CONCAT('User ', seq) FROM seq_1_to_1000");
    await setup.end();
    const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-fleet-'));
    writeFileSync(
      join(migrations, '02_rename.yaml'),
      'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    );
    const started = await serveFleet(['proxy-a', 'proxy-b', 'proxy-c'], {
      upstream: db.url,
      migrations,
      'admin-users': 'root',
      'fleet-heartbeat-timeout-ms': String(TIMEOUT_MS),
    });
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    await db.drop();
  });

  test('SESSIONS and PROXIES show all three; an old session on C blocks COMPLETE on A until it leaves', async () => {
    await eventually('all three proxies listed', async () => {
      const ids = await liveProxies('proxy-b');
      return ids.join() === 'proxy-a,proxy-b,proxy-c' ? ids : undefined;
    });
    await query('proxy-a', "SHIFTGATE START '02_rename'");
    await eventually('the migration is active', async () =>
      (await query('proxy-b', 'SHOW SHIFTGATE STATUS'))[0]?.phase === 'active' ? true : undefined,
    );

    const old = await connect('proxy-c');
    const [[first]] = (await old.query('SELECT name FROM users WHERE id = 1')) as unknown as [Row[]];
    assert.equal(first!.name, 'User 1');
    const oldId = (await eventually('the old session is seen from A', async () =>
      (
        await query('proxy-a', 'SHOW SHIFTGATE SESSIONS')
      ).find((r) => r.proxy === 'proxy-c' && r.admin_only === 'false'),
    ))!.id;

    await assert.rejects(query('proxy-a', 'SHIFTGATE COMPLETE'), (e: { errno?: number; message: string }) => {
      assert.equal(e.errno, 1205);
      assert.match(e.message, new RegExp(`#${oldId} .*proxy proxy-c`));
      return true;
    });
    await old.end();
    const done = await eventually(
      'COMPLETE succeeds once the old session left',
      async () => {
        try {
          return await query('proxy-a', 'SHIFTGATE COMPLETE');
        } catch (err) {
          if ((err as { errno?: number }).errno === 1205) return undefined;
          throw err;
        }
      },
      5000,
    );
    assert.equal(done[0]!.phase, 'completed');
  });

  test('a killed proxy drops out after the timeout; rows are scoped to the database they serve', async () => {
    const b = proxies.get('proxy-b')!;
    b.child.kill('SIGKILL');
    await b.exited;
    proxies.delete('proxy-b');
    await eventually('proxy-b drops out', async () =>
      (await liveProxies('proxy-a')).includes('proxy-b') ? undefined : true,
    );
    assert.deepEqual(await liveProxies('proxy-c'), ['proxy-a', 'proxy-c']);
    const direct = await mysql.createConnection(MYSQL_URL);
    const [rows] = (await direct.query('SELECT DISTINCT scope FROM shiftgate.proxies WHERE id LIKE ?', [
      'proxy-%',
    ])) as unknown as [Row[]];
    await direct.end();
    assert.ok(
      rows.some((r) => r.scope === db.name),
      "the fleet's rows carry the database they serve",
    );
  });
});
