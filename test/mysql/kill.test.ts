/**
 * KILL through Shiftgate with ids from both sources a client can see: the
 * connection id of the handshake (mysql2's `threadId`, the proxy's own id)
 * and the server's thread ids (CONNECTION_ID(), SHOW PROCESSLIST). Neither
 * may ever be taken for the other, and the server keeps deciding who may
 * kill what.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { newSessionInfo } from '../../src/proxy/session.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { alive, serverIdOf } from './connection-probes.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { RawMysqlClient } from './raw-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mysql KILL through Shiftgate', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;
  const lowUser = `sg_kill_${randomBytes(4).toString('hex')}`;
  const lowPassword = randomBytes(8).toString('hex');

  before(async () => {
    db = await createMysqlDatabase('kill');
    proxy = await startMysqlProxy();
    const root = await mysql.createConnection(MYSQL_URL);
    try {
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', [lowUser, '127.0.0.1', lowPassword]);
      await root.query(`GRANT SELECT ON \`${db.name}\`.* TO ?@?`, [lowUser, '127.0.0.1']);
    } finally {
      await root.end();
    }
  });

  after(async () => {
    await proxy.stop();
    const root = await mysql.createConnection(MYSQL_URL);
    try {
      await root.query('DROP USER IF EXISTS ?@?', [lowUser, '127.0.0.1']);
    } finally {
      await root.end();
    }
    await db.drop();
  });

  const connect = (user = 'root', password = '') =>
    mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user, password, database: db.name });

  it('hands out connection ids the server shows for none of its threads', async () => {
    const conn = await connect();
    try {
      assert.notEqual(conn.threadId, await serverIdOf(conn));
      const [rows] = await conn.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [
        conn.threadId,
      ]);
      assert.equal((rows as unknown[]).length, 0, 'no server thread carries the proxy connection id');
    } finally {
      await conn.end();
    }
  });

  it('KILL <server thread id> kills that thread, never the proxy session that happens to hold the same number', async () => {
    // A thread outside the proxy, as SHOW PROCESSLIST lists it.
    const direct = await mysql.createConnection(MYSQL_URL);
    direct.on('error', () => undefined);
    const threadId = direct.threadId!;
    // Make the next proxy session's counter land on that same number.
    const probe = newSessionInfo('test', 'test');
    assert.ok(probe.id < threadId, `session counter ${probe.id} already past the server thread ${threadId}`);
    while (newSessionInfo('test', 'test').id < threadId - 1);
    const bystander = await connect();
    const killer = await connect();
    try {
      const [listed] = await killer.query('SHOW PROCESSLIST');
      assert.ok(
        (listed as Array<{ Id: number }>).some((r) => Number(r.Id) === threadId),
        'the thread is in SHOW PROCESSLIST',
      );
      await killer.query(`KILL CONNECTION ${threadId}`);
      assert.equal(await alive(bystander), true, 'the proxy session numbered like the thread survives');
      assert.equal(await alive(direct), false, 'the server thread named by the KILL is gone');
    } finally {
      direct.destroy();
      await bystander.end().catch(() => undefined);
      await killer.end();
    }
  });

  it('KILL QUERY <CONNECTION_ID() of another proxy session> stops its statement', async () => {
    const victim = await connect();
    const killer = await connect();
    try {
      const serverId = await serverIdOf(victim);
      const started = Date.now();
      const running = victim.query('SELECT SLEEP(10) AS s').then(
        ([rows]) => `rows ${JSON.stringify(rows)}`,
        (err: { errno?: number }) => `error ${err.errno}`,
      );
      await sleep(300);
      await killer.query(`KILL QUERY ${serverId}`);
      // MariaDB answers an interrupted SLEEP with 1317 (or a row with 1 on some versions).
      assert.match(await running, /^(error 1317|rows \[\{"s":1\}\])$/);
      assert.ok(Date.now() - started < 5000, 'the statement stopped early');
      assert.equal(await alive(victim), true, 'KILL QUERY leaves the connection');
    } finally {
      await victim.end();
      await killer.end();
    }
  });

  it('KILL CONNECTION <threadId from the handshake> kills that proxy session only', async () => {
    const victim = await connect();
    victim.on('error', () => undefined);
    const bystander = await connect();
    const killer = await connect();
    try {
      await killer.query(`KILL CONNECTION ${victim.threadId}`);
      assert.equal(await alive(victim), false);
      assert.equal(await alive(bystander), true);
      assert.equal(await alive(killer), true);
    } finally {
      victim.destroy();
      await bystander.end();
      await killer.end();
    }
  });

  it('COM_PROCESS_KILL with a server thread id reaches that thread', async () => {
    const direct = await mysql.createConnection(MYSQL_URL);
    direct.on('error', () => undefined);
    const killer = await RawMysqlClient.connect(proxy.port);
    try {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(direct.threadId!);
      killer.send(0, Buffer.concat([Buffer.from([0x0c]), id]));
      assert.equal((await killer.read()).payload[0], 0x00, 'OK');
      assert.equal(await alive(direct), false);
    } finally {
      direct.destroy();
      killer.close();
    }
  });

  it("the server's privilege check decides, whichever id the client names", async () => {
    const rootSession = await connect();
    const low = await connect(lowUser, lowPassword);
    try {
      const serverId = await serverIdOf(rootSession);
      // 1095: You are not owner of thread <id>.
      await assert.rejects(low.query(`KILL ${serverId}`), { errno: 1095 });
      await assert.rejects(low.query(`KILL QUERY ${rootSession.threadId}`), { errno: 1095 });
      assert.equal(await alive(rootSession), true);
      // An account may kill its own threads by either id.
      const own = await connect(lowUser, lowPassword);
      own.on('error', () => undefined);
      await low.query(`KILL ${await serverIdOf(own)}`);
      assert.equal(await alive(own), false);
      own.destroy();
    } finally {
      await rootSession.end();
      await low.end();
    }
  });

  it('a KILL of an id no thread or session holds gets "Unknown thread id"', async () => {
    const conn = await connect();
    try {
      await assert.rejects(conn.query('KILL 999999'), { errno: 1094, message: /Unknown thread id: 999999/ });
      // A proxy connection id no live session holds: answered by the proxy, nothing reaches the server.
      await assert.rejects(conn.query('KILL QUERY 4294967000'), { errno: 1094, message: /4294967000/ });
      assert.equal(await alive(conn), true);
    } finally {
      await conn.end();
    }
  });
});
