/**
 * Faults through Shiftgate with real clients and the real MariaDB: KILL
 * QUERY across sessions, corrupted client bytes, upstream connections
 * killed or reset, clients vanishing mid-statement, drain on shutdown, an
 * unreachable upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { encodePacket } from '../../src/dialects/mysql/messages.ts';
import type { MysqlSession } from '../../src/dialects/mysql/session.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { startFaultRelay } from '../helpers/fault-relay.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { RawMysqlClient } from './raw-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('mysql faults through Shiftgate', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;
  let admin: mysql.Connection;

  before(async () => {
    db = await createMysqlDatabase('faults');
    proxy = await startMysqlProxy();
    admin = await mysql.createConnection(MYSQL_URL);
  });

  after(async () => {
    await admin.end();
    await proxy.stop();
    await db.drop();
  });

  const connect = (port = proxy.port) =>
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: db.name });

  const sessionOf = (conn: mysql.Connection) =>
    proxy.proxy.ctx.registry.byCancelKey(String(conn.threadId)) as MysqlSession | undefined;

  async function runningQueries(tag: string): Promise<number> {
    const [rows] = await admin.query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, '%') AND INFO NOT LIKE '%PROCESSLIST%'",
      [tag],
    );
    return Number((rows as Array<{ n: number }>)[0]!.n);
  }

  it('KILL QUERY from another session stops a running SELECT SLEEP(10)', async () => {
    const victim = await connect();
    const killer = await connect();
    try {
      const started = Date.now();
      const sleeping = victim.query('SELECT SLEEP(10) AS s').then(
        ([rows]) => `rows ${JSON.stringify(rows)}`,
        (err: { errno?: number }) => `error ${err.errno}`,
      );
      await until('the sleep to run', async () => (await runningQueries('SLEEP(10)')) === 1);
      await killer.query(`KILL QUERY ${victim.threadId}`);
      const outcome = await sleeping;
      assert.ok(Date.now() - started < 5000, 'the statement stopped early');
      // MariaDB answers an interrupted SLEEP with 1317 (or a row with 1 on some versions).
      assert.match(outcome, /^(error 1317|rows \[\{"s":1\}\])$/);
      const [[row]] = (await victim.query('SELECT 5 AS five')) as unknown as [[{ five: number }]];
      assert.equal(row.five, 5, 'KILL QUERY leaves the connection usable');
    } finally {
      victim.destroy();
      await killer.end();
    }
  });

  it('COM_PROCESS_KILL with a proxy connection id kills that session only', async () => {
    const victim = await connect();
    const bystander = await connect();
    const killer = await RawMysqlClient.connect(proxy.port);
    try {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(victim.threadId!);
      killer.send(0, Buffer.concat([Buffer.from([0x0c]), id]));
      assert.equal((await killer.read()).payload[0], 0x00);
      await assert.rejects(victim.query('SELECT 1'));
      const [[row]] = (await bystander.query('SELECT 6 AS six')) as unknown as [[{ six: number }]];
      assert.equal(row.six, 6);
    } finally {
      victim.destroy();
      await bystander.end();
      killer.close();
    }
  });

  it('a malformed packet gets error 1835 and closes that session only', async () => {
    const protocolErrors = async () =>
      (await proxy.proxy.ctx.metrics.protocolErrors.get()).values.find((v) => v.labels.dialect === 'mysql')
        ?.value ?? 0;
    const errorsBefore = await protocolErrors();
    const healthy = await connect();
    for (const bad of [
      encodePacket(5, Buffer.from([0x03, 0x31])), // a command that does not start at sequence id 0
      encodePacket(0, Buffer.alloc(0)), // an empty command
      encodePacket(0, Buffer.from([0x0c, 1])), // COM_PROCESS_KILL cut short
    ]) {
      const c = await RawMysqlClient.connect(proxy.port);
      c.sendRaw(bad);
      const err = await c.read();
      assert.equal(err.payload[0], 0xff);
      assert.equal(err.payload.readUInt16LE(1), 1835);
      assert.match(err.payload.toString('utf8', 9), /malformed packet/);
      await c.closed;
    }
    assert.equal((await protocolErrors()) - errorsBefore, 3);
    const [[row]] = (await healthy.query('SELECT 8 AS eight')) as unknown as [[{ eight: number }]];
    assert.equal(row.eight, 8);
    await healthy.end();
  });

  it('mutated packets from one client do not disturb a concurrent healthy session', async () => {
    const relay = await startFaultRelay({ host: '127.0.0.1', port: proxy.port });
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    // Corrupt every chunk after the handshake: flip 1-3 bytes anywhere, headers included.
    let chunks = new Map<number, number>();
    // Connections that got at least one corrupted chunk: a run that corrupted nothing proves nothing.
    const fuzzed = new Set<number>();
    relay.mutate = (chunk, connection) => {
      const n = (chunks.get(connection) ?? 0) + 1;
      chunks.set(connection, n);
      if (n < 2) return chunk;
      fuzzed.add(connection);
      const out = Buffer.from(chunk);
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
        out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      }
      return out;
    };
    const healthy = await connect();
    let stop = false;
    let healthyQueries = 0;
    const steady = (async () => {
      while (!stop) {
        const i = healthyQueries++;
        const [[row]] = (await healthy.execute('SELECT ? * 2 AS v', [i])) as unknown as [[{ v: number }]];
        assert.equal(Number(row.v), i * 2);
      }
    })();
    const broken: mysql.Connection[] = [];
    for (let round = 0; round < 30; round++) {
      chunks = new Map();
      const c = await mysql
        .createConnection({
          host: '127.0.0.1',
          port: relay.port,
          user: 'root',
          database: db.name,
          connectTimeout: 2000,
        })
        .catch(() => null);
      if (!c) continue;
      broken.push(c);
      c.on('error', () => undefined);
      await Promise.race([
        Promise.allSettled([
          c.query("SELECT 'hello' AS greeting, 12345 AS n"),
          c.execute('SELECT ? AS x', [round]),
          c.query('SELECT REPEAT(?, 100) AS r', ['abc']),
        ]),
        sleep(300),
      ]);
    }
    stop = true;
    await steady;
    // Closed before the checks, so a failing check cannot leave the run waiting on open connections.
    for (const c of broken) c.destroy();
    await relay.close();
    assert.ok(fuzzed.size >= 10, `sessions fuzzed: ${fuzzed.size} of 30 (at least 10 expected)`);
    assert.ok(healthyQueries > 20, `healthy session kept running (${healthyQueries} queries)`);
    // Every corrupted session ends; the healthy one is still there and still answers.
    await until('corrupted sessions to close', () => proxy.proxy.ctx.registry.size === 1);
    const [[row]] = (await healthy.query('SELECT 9 AS nine')) as unknown as [[{ nine: number }]];
    assert.equal(row.nine, 9);
    await healthy.end();
  });

  it('KILL of the upstream connection closes the client connection as the server closed it; the proxy keeps serving', async () => {
    const busy = await connect();
    const idle = await connect();
    const bystander = await connect();
    try {
      const busyThread = sessionOf(busy)!.upstreamThreadId;
      const idleThread = sessionOf(idle)!.upstreamThreadId;
      const running = busy.query('SELECT SLEEP(5)').then(
        () => null,
        (err: Error & { errno?: number }) => err,
      );
      await until('the sleep to run', async () => (await runningQueries('SLEEP(5)')) === 1);
      await admin.query(`KILL CONNECTION ${busyThread}`);
      await admin.query(`KILL CONNECTION ${idleThread}`);
      const err = await running;
      assert.ok(err, 'the killed statement fails');
      // MariaDB closes a killed connection without a word: the client sees the socket close, as direct.
      assert.equal((err as Error & { code?: string }).code, 'PROTOCOL_CONNECTION_LOST', err.message);
      await assert.rejects(idle.query('SELECT 1'), (e: Error) => /closed|lost|killed/i.test(e.message));
      const [[row]] = (await bystander.query('SELECT 10 AS ten')) as unknown as [[{ ten: number }]];
      assert.equal(row.ten, 10);
      const fresh = await connect();
      const [[again]] = (await fresh.query('SELECT 11 AS eleven')) as unknown as [[{ eleven: number }]];
      assert.equal(again.eleven, 11);
      await fresh.end();
    } finally {
      busy.destroy();
      idle.destroy();
      await bystander.end();
    }
  });

  it('upstream link reset mid-query: the client connection is reset too; others unaffected', async () => {
    const relay = await startFaultRelay({ host: '127.0.0.1', port: 3306 });
    const url = new URL(MYSQL_URL);
    url.port = String(relay.port);
    const cutProxy = await startMysqlProxy({ upstream: url.toString() });
    const bystander = await connect();
    try {
      const victim = await connect(cutProxy.port);
      victim.on('error', () => undefined);
      const running = victim.query('SELECT SLEEP(3)').then(
        () => null,
        (err: Error & { errno?: number }) => err,
      );
      await until('the sleep to run', async () => (await runningQueries('SLEEP(3)')) === 1);
      relay.cutAll();
      const err = await running;
      // What a direct client sees when its link is reset (no error packet a pool would take for a statement error).
      assert.equal((err as Error & { code?: string }).code, 'ECONNRESET', err?.message);
      victim.destroy();
      const [[row]] = (await bystander.query('SELECT 12 AS twelve')) as unknown as [[{ twelve: number }]];
      assert.equal(row.twelve, 12);
      const again = await connect(cutProxy.port);
      const [[r2]] = (await again.query('SELECT 13 AS thirteen')) as unknown as [[{ thirteen: number }]];
      assert.equal(r2.thirteen, 13);
      await again.end();
    } finally {
      await bystander.end();
      await cutProxy.stop();
      await relay.close();
    }
  });

  it('client gone mid-query: the proxy stops the upstream statement', async () => {
    const conn = await connect();
    conn.on('error', () => undefined);
    void conn.query('SELECT SLEEP(30) AS shiftgate_abandoned').catch(() => undefined);
    await until('the sleep to run', async () => (await runningQueries('shiftgate_abandoned')) === 1);
    conn.destroy();
    await until(
      'the abandoned statement to stop',
      async () => (await runningQueries('shiftgate_abandoned')) === 0,
      4000,
    );
    await until('the session to close', () => proxy.proxy.ctx.registry.size === 0);
  });

  it('upstream unreachable: error 2003 naming the upstream, counted in metrics', async () => {
    const deadProxy = await startMysqlProxy({ upstream: 'mysql://root@127.0.0.1:1/' });
    try {
      await assert.rejects(
        mysql.createConnection({ host: '127.0.0.1', port: deadProxy.port, user: 'root' }),
        (err: Error & { errno?: number }) =>
          err.errno === 2003 && /Shiftgate could not connect/.test(err.message),
      );
      const errors = (await deadProxy.proxy.ctx.metrics.upstreamConnectErrors.get()).values.find(
        (v) => v.labels.dialect === 'mysql',
      );
      assert.equal(errors?.value, 1);
      await assert.rejects(mysql2ProbeOf(deadProxy));
    } finally {
      await deadProxy.stop();
    }
  });

  it('SIGTERM drain: idle sessions close at once, a running statement finishes first', async () => {
    const drainProxy = await startMysqlProxy();
    const idle = await connect(drainProxy.port);
    const busy = await connect(drainProxy.port);
    idle.on('error', () => undefined);
    busy.on('error', () => undefined);
    const running = busy.query('SELECT SLEEP(1) AS s');
    await until('the sleep to run', async () => (await runningQueries('SLEEP(1) AS s')) === 1);
    const started = Date.now();
    const shutdown = drainProxy.proxy.shutdown(10_000);
    const [[rows]] = (await running) as unknown as [[{ s: number }]];
    assert.equal(rows.s, 0, 'the in-flight statement completed');
    await shutdown;
    assert.ok(Date.now() - started < 5000);
    await assert.rejects(idle.query('SELECT 1'));
    await assert.rejects(busy.query('SELECT 1'));
    await assert.rejects(mysql.createConnection({ host: '127.0.0.1', port: drainProxy.port, user: 'root' }));
    idle.destroy();
    busy.destroy();
  });
});

async function mysql2ProbeOf(p: MysqlProxy): Promise<void> {
  const { mysqlDialect } = await import('../../src/dialects/mysql/index.ts');
  await mysqlDialect.probeUpstream(p.proxy.ctx);
}
