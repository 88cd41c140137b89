/**
 * KILL across the fleet on MariaDB: connection ids are unique across
 * proxies (each is derived from the session's upstream thread id), and
 * `KILL QUERY <id>` / `KILL <id>` issued through proxy B for a session on
 * proxy A reach that session's upstream thread (B reads it from A's
 * heartbeat and sends the KILL on the killer's own connection, so the
 * server still decides who may kill what).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveProxy } from '../helpers/serve-process.ts';
import { alive, serverIdOf } from '../mysql/connection-probes.ts';
import { RawMysqlClient } from '../mysql/raw-client.ts';

const PROXY_ID_BASE = 0x80000000;
/** MariaDB answers an interrupted SLEEP with 1317 (or a row with 1 on some versions). */
const INTERRUPTED = /^(error 1317|rows \[\{"s":1\}\])$/;

describe('KILL across proxies (MariaDB, two proxy processes)', () => {
  let db: TestDatabase;
  let a: ServedProxy;
  let b: ServedProxy;
  let direct: mysql.Connection;
  const lowUser = `sg_fkill_${randomBytes(4).toString('hex')}`;
  const lowPassword = randomBytes(8).toString('hex');

  const connectTo = async (proxy: ServedProxy, user = 'root', password = '') => {
    const url = new URL(proxy.proxyUrl);
    url.username = user;
    url.password = password;
    const conn = await mysql.createConnection(url.toString());
    conn.on('error', () => undefined);
    return conn;
  };
  /**
   * Starts `SELECT SLEEP(30)` on `conn` and resolves once the server runs
   * it, with the statement's outcome to come (`rows ...` or `error <errno>`).
   */
  const sleepOn = async (conn: mysql.Connection) => {
    const thread = await serverIdOf(conn);
    const outcome = conn.query('SELECT SLEEP(30) AS s').then(
      ([rows]) => `rows ${JSON.stringify(rows)}`,
      (err: { errno?: number }) => `error ${err.errno}`,
    );
    await eventually(`thread ${thread} in its SLEEP`, async () => {
      const [rows] = await direct.query(
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = 'Query' AND INFO LIKE '%SLEEP%'",
        [thread],
      );
      return (rows as unknown[]).length === 1 ? true : undefined;
    });
    // Wrapped: an async function returning the promise itself would wait for it.
    return { outcome };
  };

  before(async () => {
    db = await createMysqlDatabase('fleet_kill');
    direct = await mysql.createConnection(MYSQL_URL);
    await direct.query('CREATE USER ?@? IDENTIFIED BY ?', [lowUser, '127.0.0.1', lowPassword]);
    await direct.query(`GRANT SELECT ON \`${db.name}\`.* TO ?@?`, [lowUser, '127.0.0.1']);
    const flags = (id: string) => ({
      upstream: db.url,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      'admin-users': 'root',
      'fleet-proxy-id': id,
    });
    [a, b] = await Promise.all([serveProxy(flags('proxy-a')), serveProxy(flags('proxy-b'))]);
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await direct.query('DROP USER IF EXISTS ?@?', [lowUser, '127.0.0.1']);
    await direct.end();
    await db.drop();
  });

  test('connection ids are unique across proxies: each is its upstream thread id in the proxy range', async () => {
    const onA = await connectTo(a);
    const onB = await connectTo(b);
    try {
      assert.notEqual(onA.threadId, onB.threadId);
      for (const conn of [onA, onB]) {
        assert.equal(conn.threadId, PROXY_ID_BASE + (await serverIdOf(conn)));
      }
    } finally {
      await onA.end();
      await onB.end();
    }
  });

  test('KILL QUERY through B interrupts the SLEEP of a session on A; KILL through B ends it', async () => {
    const victim = await connectTo(a);
    const killer = await connectTo(b);
    try {
      const started = Date.now();
      const { outcome: running } = await sleepOn(victim);
      await killer.query(`KILL QUERY ${victim.threadId}`);
      assert.match(await running, INTERRUPTED);
      assert.ok(Date.now() - started < 10_000, `interrupted after ${Date.now() - started} ms`);
      assert.equal(await alive(victim), true, 'KILL QUERY leaves the connection');

      await killer.query(`KILL ${victim.threadId}`);
      assert.equal(await alive(victim), false, 'KILL ends the session on A');
      assert.equal(await alive(killer), true, 'the killer on B goes on');
    } finally {
      victim.destroy();
      await killer.end();
    }
  });

  test('a KILL QUERY of a session on A inside a multi-statement text sent to B reaches it', async () => {
    const victim = await connectTo(a);
    const url = new URL(b.proxyUrl);
    url.searchParams.set('multipleStatements', 'true');
    const killer = await mysql.createConnection(url.toString());
    try {
      const { outcome: running } = await sleepOn(victim);
      await killer.query(`SELECT 1; KILL QUERY ${victim.threadId}`);
      assert.match(await running, INTERRUPTED);
      assert.equal(await alive(victim), true);
    } finally {
      await victim.end();
      await killer.end();
    }
  });

  test("the server's privilege check decides for a session on another proxy too", async () => {
    const rootSession = await connectTo(a);
    const low = await connectTo(b, lowUser, lowPassword);
    try {
      // 1095: You are not owner of thread <id>.
      await assert.rejects(low.query(`KILL QUERY ${rootSession.threadId}`), { errno: 1095 });
      await assert.rejects(low.query(`KILL ${rootSession.threadId}`), { errno: 1095 });
      assert.equal(await alive(rootSession), true);
      // An account may kill its own session on another proxy.
      const own = await connectTo(a, lowUser, lowPassword);
      await low.query(`KILL ${own.threadId}`);
      assert.equal(await alive(own), false);
      own.destroy();
    } finally {
      await rootSession.end();
      await low.end();
    }
  });

  test('COM_PROCESS_KILL through B ends a session on A', async () => {
    const victim = await connectTo(a);
    const killer = await RawMysqlClient.connect(b.port, 'root', db.name);
    try {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(victim.threadId!);
      killer.send(0, Buffer.concat([Buffer.from([0x0c]), id]));
      assert.equal((await killer.read()).payload[0], 0x00, 'OK');
      assert.equal(await alive(victim), false);
    } finally {
      victim.destroy();
      killer.close();
    }
  });

  test('KILL through B of an id no proxy hands out is 1094, and B keeps serving', async () => {
    const killer = await connectTo(b);
    try {
      await assert.rejects(killer.query(`KILL QUERY ${PROXY_ID_BASE + 0x7ffffff0}`), { errno: 1094 });
      assert.equal(await alive(killer), true);
    } finally {
      await killer.end();
    }
  });
});
