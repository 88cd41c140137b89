/**
 * `shiftgate serve` with `proxy.workers: 2` in front of MariaDB: clients
 * are spread over both worker processes, each a fleet member seen in SHOW
 * SHIFTGATE PROXIES / SESSIONS; one /metrics scrape adds up both workers;
 * and `KILL QUERY` of a session on one worker, sent through a connection on
 * the other, interrupts its statement (the workers are separate fleet
 * members, so it goes by the owner's heartbeat like a KILL between proxies).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveProxy } from '../helpers/serve-process.ts';
import { serverIdOf } from '../mysql/connection-probes.ts';

const WORKERS = ['pool/w1', 'pool/w2'];

describe('proxy.workers: 2 (MariaDB, one serve process)', () => {
  let db: TestDatabase;
  let proxy: ServedProxy;
  const connections: mysql.Connection[] = [];

  const connect = async () => {
    const conn = await mysql.createConnection(proxy.proxyUrl);
    conn.on('error', () => undefined);
    connections.push(conn);
    return conn;
  };
  const rows = async (sql: string) => {
    const conn = await mysql.createConnection(proxy.proxyUrl);
    try {
      return (await conn.query(sql))[0] as Record<string, string | number | null>[];
    } finally {
      await conn.end();
    }
  };

  before(async () => {
    db = await createMysqlDatabase('workers');
    proxy = await serveProxy({
      upstream: db.url,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      'proxy-workers': '2',
      'fleet-proxy-id': 'pool',
      'admin-users': 'root',
    });
  });

  after(async () => {
    await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
    await proxy.stop();
    await db.drop();
  });

  test('clients on both workers; KILL QUERY from one worker interrupts a statement on the other', async () => {
    await eventually('both workers are fleet members', async () => {
      const live = (await rows('SHOW SHIFTGATE PROXIES')).map((r) => r.proxy);
      return WORKERS.every((w) => live.includes(w)) ? true : undefined;
    });
    const spread = await Promise.all(Array.from({ length: 6 }, () => connect()));
    const ids = new Set(spread.map((c) => String(c.threadId)));
    const workerOf = await eventually('every session is in its worker heartbeat', async () => {
      const m = new Map(
        (await rows('SHOW SHIFTGATE SESSIONS'))
          .filter((r) => ids.has(String(r.id)))
          .map((r) => [String(r.id), String(r.proxy)]),
      );
      return m.size === 6 ? m : undefined;
    });
    for (const w of WORKERS) {
      assert.ok([...workerOf.values()].includes(w), `${w} serves some clients: ${[...workerOf.values()]}`);
    }

    const text = await eventually('a scrape that adds up both workers', async () => {
      const body = await (await fetch(proxy.metricsUrl)).text();
      const m = /^shiftgate_client_connections\{dialect="mysql"\}\s+(\S+)$/m.exec(body);
      return m && Number(m[1]) >= 6 ? body : undefined;
    });
    assert.match(text, /^shiftgate_fleet_proxies 2$/m);

    const sleeper = spread.find((c) => workerOf.get(String(c.threadId)) === WORKERS[0])!;
    const killer = spread.find((c) => workerOf.get(String(c.threadId)) === WORKERS[1])!;
    const thread = await serverIdOf(sleeper);
    const outcome = sleeper.query('SELECT SLEEP(30) AS s').then(
      ([r]) => `rows ${JSON.stringify(r)}`,
      (err: { errno?: number }) => `error ${err.errno}`,
    );
    const admin = await mysql.createConnection(db.url);
    try {
      await eventually(`thread ${thread} in its SLEEP`, async () => {
        const [r] = await admin.query(
          "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = 'Query' AND INFO LIKE '%SLEEP%'",
          [thread],
        );
        return (r as unknown[]).length === 1 ? true : undefined;
      });
    } finally {
      await admin.end();
    }
    const started = Date.now();
    await killer.query(`KILL QUERY ${sleeper.threadId}`);
    // MariaDB answers an interrupted SLEEP with 1317, or with a row holding 1.
    assert.match(await outcome, /^(error 1317|rows \[\{"s":1\}\])$/);
    assert.ok(Date.now() - started < 10_000, 'interrupted well before the sleep would have ended');
    // Both sessions go on.
    assert.deepEqual((await sleeper.query('SELECT 1 AS one'))[0], [{ one: 1 }]);
    assert.deepEqual((await killer.query('SELECT 1 AS one'))[0], [{ one: 1 }]);
  });
});
