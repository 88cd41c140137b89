/**
 * What the server does, the client sees: when MariaDB ends an upstream
 * connection (KILL CONNECTION from another session, wait_timeout), a client
 * through Shiftgate gets exactly what a direct connection gets in the same
 * test: the server's own last packet when it sends one, then the socket
 * closing the way the server closed it (end of stream, or a reset), so
 * drivers take the fatal path at once and pools drop the connection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { PacketFramer } from '../../src/dialects/mysql/framer.ts';
import { encodeErr, encodeHandshakeV10, encodeOk, encodePacket } from '../../src/dialects/mysql/messages.ts';
import { Capability } from '../../src/dialects/mysql/protocol.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The parts of a driver error that say what happened (messages carry connection ids). */
function outcome(err: unknown): string {
  if (err === null || err === undefined) return 'ok';
  const e = err as { code?: string; errno?: number; fatal?: boolean };
  return `${e.code}/${e.errno}/${e.fatal === true ? 'fatal' : 'not fatal'}`;
}

/** One driver connection, with what it reported on its own (error events). */
interface Client {
  query(sql: string): Promise<unknown>;
  threadId(): Promise<number>;
  events: string[];
  destroy(): void;
}

interface Driver {
  name: string;
  single(port: number, database: string): Promise<Client>;
  pool(port: number, database: string): { query(sql: string): Promise<unknown>; end(): Promise<void> };
}

const DRIVERS: Driver[] = [
  {
    name: 'mysql2',
    async single(port, database) {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database });
      const events: string[] = [];
      c.on('error', (e) => events.push(outcome(e)));
      return {
        events,
        query: (sql) => c.query(sql),
        threadId: async () => {
          const [[row]] = (await c.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
          return Number(row.id);
        },
        destroy: () => c.destroy(),
      };
    },
    pool(port, database) {
      const pool = mysql.createPool({ host: '127.0.0.1', port, user: 'root', database, connectionLimit: 1 });
      return { query: (sql) => pool.query(sql), end: () => pool.end() };
    },
  },
  {
    name: 'mariadb',
    async single(port, database) {
      const c = await mariadb.createConnection({
        host: '127.0.0.1',
        port,
        user: 'root',
        connectTimeout: 10_000,
        database,
      });
      const events: string[] = [];
      c.on('error', (e) => events.push(outcome(e)));
      return {
        events,
        query: (sql) => c.query(sql),
        threadId: async () => Number((await c.query('SELECT CONNECTION_ID() AS id'))[0].id),
        destroy: () => void c.destroy(),
      };
    },
    pool(port, database) {
      const pool = mariadb.createPool({
        host: '127.0.0.1',
        port,
        user: 'root',
        connectTimeout: 10_000,
        database,
        connectionLimit: 1,
        acquireTimeout: 10_000,
      });
      return { query: (sql) => pool.query(sql), end: () => pool.end() };
    },
  },
];

/** Times a promise; `settled` never rejects. */
async function timed(p: Promise<unknown>): Promise<{ result: string; ms: number }> {
  const started = Date.now();
  const result = await p.then(
    () => 'ok',
    (err: unknown) => outcome(err),
  );
  return { result, ms: Date.now() - started };
}

/**
 * What each target (`direct`, `proxy`) shows a session that sets
 * `wait_timeout = 1` and then stays idle for `idleMs`: the driver's events
 * and the outcome of its next query, which must fail at once.
 */
async function afterIdleTimeout(
  driver: Driver,
  ports: Record<string, number>,
  database: string,
  idleMs: number,
): Promise<Record<string, { events: string[]; next: string }>> {
  const seen: Record<string, { events: string[]; next: string }> = {};
  for (const [where, port] of Object.entries(ports)) {
    const c = await driver.single(port, database);
    try {
      await c.query('SET SESSION wait_timeout = 1');
      await sleep(idleMs);
      const next = await timed(c.query('SELECT 1'));
      assert.ok(next.ms < 1000, `${where}: the next query failed at once (${next.ms} ms)`);
      seen[where] = { events: c.events, next: next.result };
    } finally {
      c.destroy();
    }
  }
  return seen;
}

describe('mysql: the upstream connection ended by the server, through Shiftgate and direct', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;
  let admin: mysql.Connection;

  before(async () => {
    db = await createMysqlDatabase('upclose');
    proxy = await startMysqlProxy();
    admin = await mysql.createConnection(MYSQL_URL);
  });

  after(async () => {
    await admin.end();
    await proxy.stop();
    await db.drop();
  });

  const ports = () => ({ direct: Number(new URL(MYSQL_URL).port || 3306), proxy: proxy.port });

  async function sleeping(tag: string): Promise<boolean> {
    const [rows] = await admin.query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, '%') AND INFO NOT LIKE '%PROCESSLIST%'",
      [tag],
    );
    return Number((rows as Array<{ n: number }>)[0]!.n) === 1;
  }

  async function untilSleeping(tag: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await sleeping(tag))) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${tag} to run`);
      await sleep(20);
    }
  }

  for (const driver of DRIVERS) {
    it(`${driver.name}: KILL CONNECTION while idle, then a query`, async () => {
      const seen: Record<string, unknown> = {};
      for (const [where, port] of Object.entries(ports())) {
        const c = await driver.single(port, db.name);
        try {
          await admin.query(`KILL CONNECTION ${await c.threadId()}`);
          await sleep(200);
          const next = await timed(c.query('SELECT 1'));
          assert.ok(next.ms < 1000, `${where}: the next query failed at once (${next.ms} ms)`);
          seen[where] = { events: c.events, next: next.result };
        } finally {
          c.destroy();
        }
      }
      assert.deepEqual(seen.proxy, seen.direct);
      assert.notEqual((seen.direct as { next: string }).next, 'ok');
    });

    it(`${driver.name}: KILL CONNECTION mid-query (SELECT SLEEP(5))`, async () => {
      const seen: Record<string, unknown> = {};
      for (const [where, port] of Object.entries(ports())) {
        const c = await driver.single(port, db.name);
        try {
          const thread = await c.threadId();
          const tag = `sg_kill_mid_${where}_${driver.name}`;
          const running = timed(c.query(`SELECT SLEEP(5) AS ${tag}`));
          await untilSleeping(tag);
          await admin.query(`KILL CONNECTION ${thread}`);
          const { result, ms } = await running;
          assert.ok(ms < 2000, `${where}: the statement failed promptly (${ms} ms)`);
          await sleep(50);
          seen[where] = { result, events: c.events, next: (await timed(c.query('SELECT 1'))).result };
        } finally {
          c.destroy();
        }
      }
      assert.deepEqual(seen.proxy, seen.direct);
      const { result } = seen.direct as { result: string };
      assert.match(result, /\/fatal$/, 'a closed socket is fatal to the driver');
    });

    it(`${driver.name}: SET SESSION wait_timeout = 1, then idle`, async () => {
      const seen = await afterIdleTimeout(driver, ports(), db.name, 2500);
      assert.deepEqual(seen.proxy, seen.direct);
      assert.equal(seen.direct!.events.length, 1, 'the driver saw the close');
    });

    it(`${driver.name}: KILL CONNECTION of its own connection gets the server's own answer`, async () => {
      const seen: Record<string, unknown> = {};
      for (const [where, port] of Object.entries(ports())) {
        const c = await driver.single(port, db.name);
        try {
          const killed = await timed(c.query('KILL CONNECTION CONNECTION_ID()'));
          await sleep(100);
          seen[where] = { killed: killed.result, events: c.events };
        } finally {
          c.destroy();
        }
      }
      assert.deepEqual(seen.proxy, seen.direct);
      // MariaDB answers with 1927 ER_CONNECTION_KILLED before it closes.
      assert.match((seen.direct as { killed: string }).killed, /\/1927\//);
    });

    it(`${driver.name} pool: a connection killed mid-query or while idle is replaced, not reused`, async () => {
      const seen: Record<string, unknown> = {};
      for (const [where, port] of Object.entries(ports())) {
        const pool = driver.pool(port, db.name);
        try {
          const threadOf = async () => {
            const rows = (await pool.query('SELECT CONNECTION_ID() AS id')) as unknown;
            // mysql2 answers [rows, fields]; the mariadb connector answers rows.
            const list = (Array.isArray((rows as unknown[])[0]) ? (rows as unknown[][])[0] : rows) as Array<{
              id: number;
            }>;
            return Number(list[0]!.id);
          };
          const busy = await threadOf();
          const tag = `sg_pool_mid_${where}_${driver.name}`;
          const running = timed(pool.query(`SELECT SLEEP(5) AS ${tag}`));
          await untilSleeping(tag);
          await admin.query(`KILL CONNECTION ${busy}`);
          const mid = await running;
          assert.ok(mid.ms < 2000, `${where}: the pooled statement failed promptly (${mid.ms} ms)`);
          const afterBusy = await timed(pool.query('SELECT 1'));
          await admin.query(`KILL CONNECTION ${await threadOf()}`);
          await sleep(200);
          const afterIdle = await timed(pool.query('SELECT 1'));
          assert.ok(afterIdle.ms < 2000, `${where}: no wait for a dead connection (${afterIdle.ms} ms)`);
          seen[where] = { mid: mid.result, afterBusy: afterBusy.result, afterIdle: afterIdle.result };
        } finally {
          await pool.end().catch(() => undefined);
        }
      }
      assert.deepEqual(seen.proxy, seen.direct);
      assert.deepEqual(
        { afterBusy: (seen.direct as { afterBusy: string }).afterBusy },
        { afterBusy: 'ok' },
        'the pool replaced the killed connection',
      );
    });
  }

  it('mariadb connector destroy() mid-query: "connection destroyed, command was killed", promptly', async () => {
    const seen: Record<string, string> = {};
    for (const [where, port] of Object.entries(ports())) {
      const c = await mariadb.createConnection({
        host: '127.0.0.1',
        port,
        user: 'root',
        connectTimeout: 10_000,
        database: db.name,
      });
      c.on('error', () => undefined);
      const tag = `sg_destroy_${where}`;
      const running = timed(c.query(`SELECT SLEEP(5) AS ${tag}`));
      await untilSleeping(tag);
      c.destroy();
      const { result, ms } = await running;
      assert.ok(ms < 2000, `${where}: destroy() ended the statement promptly (${ms} ms)`);
      seen[where] = result;
    }
    assert.equal(seen.proxy, seen.direct);
    assert.match(seen.direct!, /^ER_CMD_NOT_EXECUTED_DESTROYED\//);
  });
});

/**
 * A server that behaves as MySQL 8.0.24+ does at wait_timeout: it sends an
 * unsolicited ER_CLIENT_INTERACTION_TIMEOUT (4031) and closes. MariaDB just
 * closes, so this server stands in for MySQL: it accepts any login and
 * answers every query with OK, and once a query mentions wait_timeout it
 * times the session out 300 ms later.
 */
async function startTimingOutServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket: Socket) => {
    const framer = new PacketFramer();
    let loggedIn = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const p of framer.push(chunk)) {
        if (!loggedIn) {
          loggedIn = true;
          socket.write(encodePacket(p.sequenceId + 1, encodeOk({ statusFlags: 2 })));
          continue;
        }
        if (p.payload[0] === 0x01) {
          socket.end();
          return;
        }
        socket.write(encodePacket(1, encodeOk({ statusFlags: 2 })));
        if (p.payload.includes('wait_timeout')) {
          setTimeout(() => {
            socket.end(
              encodePacket(
                0,
                encodeErr(
                  4031,
                  'HY000',
                  'The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior.',
                ),
              ),
            );
          }, 300);
        }
      }
    });
    socket.write(
      encodePacket(
        0,
        encodeHandshakeV10({
          protocolVersion: 10,
          serverVersion: '8.0.36-timeout',
          connectionId: 77,
          authPluginData: randomBytes(20),
          capabilities: (0xffffffff & ~(Capability.Ssl | Capability.Compress)) >>> 0,
          mariadbCapabilities: 0,
          characterSet: 255,
          statusFlags: 2,
          authPluginName: 'mysql_native_password',
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('mysql: a server that says why it closes (MySQL 8 wait_timeout), through Shiftgate and direct', () => {
  let fake: { server: Server; port: number };
  let proxy: MysqlProxy;

  before(async () => {
    fake = await startTimingOutServer();
    proxy = await startMysqlProxy({ upstream: `mysql://root@127.0.0.1:${fake.port}/` });
  });

  after(async () => {
    await proxy.stop();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  for (const driver of DRIVERS) {
    it(`${driver.name}: the server's 4031 reaches the client, then the close, as direct`, async () => {
      const seen = await afterIdleTimeout(driver, { direct: fake.port, proxy: proxy.port }, '', 800);
      assert.deepEqual(seen.proxy, seen.direct);
      // mysql2 reports the server's own error; the mariadb connector drops a packet no command
      // waits for and reports the close. Either way, the same through Shiftgate as direct.
      if (driver.name === 'mysql2') {
        assert.match(JSON.stringify(seen.direct), /4031/, "the driver reports the server's own error");
      }
    });
  }
});
