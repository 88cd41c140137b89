/**
 * Cancel across the fleet on PostgreSQL: a CancelRequest sent to proxy B
 * with the key a client of proxy A holds reaches A (B finds A by the
 * backend pid in A's heartbeat and forwards to A's peer port) and cancels
 * the statement; a key with the right pid and a wrong secret is forwarded
 * too and cancels nothing at A, an unknown pid is dropped at B, and B
 * keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type KeyedClient, sendCancel } from '../helpers/cancel-request.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveProxy } from '../helpers/serve-process.ts';

describe('cancel across proxies (PostgreSQL, two proxy processes)', () => {
  let db: TestDatabase;
  let a: ServedProxy;
  let b: ServedProxy;
  /** What proxy A has logged so far (debug level: its handling of forwarded cancels). */
  let aLog = '';
  let direct: pg.Client;

  const queryOn = async (proxy: ServedProxy, sql: string) => {
    const admin = new pg.Client({ connectionString: proxy.proxyUrl });
    await admin.connect();
    try {
      return (await admin.query(sql)).rows as Record<string, string | null>[];
    } finally {
      await admin.end();
    }
  };
  /** Resolves once the server runs `pid`'s statement (so a cancel cannot land before it starts). */
  const running = (pid: number) =>
    eventually(`backend ${pid} running its statement`, async () => {
      const r = await direct.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
        [pid],
      );
      return r.rowCount === 1 ? true : undefined;
    });
  /** Resolves once B lists a session of A (A's heartbeat carries it, with its backend pid). */
  const listedOnB = () =>
    eventually("B sees A's session", async () =>
      (await queryOn(b, 'SHOW SHIFTGATE SESSIONS')).some((r) => r.proxy === 'proxy-a') ? true : undefined,
    );

  const connectTo = async (proxy: ServedProxy): Promise<KeyedClient> => {
    const client = new pg.Client({ connectionString: proxy.proxyUrl }) as KeyedClient;
    await client.connect();
    return client;
  };

  before(async () => {
    db = await createPgDatabase('fleet_cancel');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    const flags = (id: string) => ({
      upstream: db.url,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      'fleet-proxy-id': id,
    });
    [a, b] = await Promise.all([
      serveProxy(flags('proxy-a'), { SHIFTGATE_LOG_LEVEL: 'debug' }),
      serveProxy(flags('proxy-b')),
    ]);
    a.child.stderr!.on('data', (d) => {
      aLog += d;
    });
  });

  after(async () => {
    await direct.end();
    await Promise.all([a.stop(), b.stop()]);
    await db.drop();
  });

  test("a CancelRequest sent to B with the key of A's client cancels its pg_sleep", async () => {
    const client = await connectTo(a);
    try {
      const started = Date.now();
      const sleeping = client.query('SELECT pg_sleep(30)').then(
        () => assert.fail('the cancelled statement cannot succeed'),
        (e: { code?: string }) => e,
      );
      await running(client.processID);
      // B finds A's session through A's heartbeat: a cancel sent before B has read it finds nothing.
      await listedOnB();
      await sendCancel(b.port, client.processID, client.secretKey);
      const listed = await queryOn(b, 'SHOW SHIFTGATE PROXIES');
      const peer = listed.find((r) => r.proxy === 'proxy-a')?.peer;
      assert.match(String(peer), /^127\.0\.0\.1:\d+$/, 'A advertises its peer port');
      assert.notEqual(peer, `127.0.0.1:${a.port}`, 'a port of its own, not the client port');
      assert.equal((await sleeping).code, '57014');
      assert.ok(Date.now() - started < 10_000, `cancelled after ${Date.now() - started} ms`);
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1, 'the session goes on');
    } finally {
      await client.end();
    }
  });

  test('a wrong secret for a pid on A and an unknown pid cancel nothing, and B keeps serving', async () => {
    const client = await connectTo(a);
    try {
      await listedOnB();
      let finished = false;
      const sleeping = client.query('SELECT pg_sleep(4) AS slept').finally(() => {
        finished = true;
      });
      await running(client.processID);
      const forwardedBefore = aLog.split('forwarded cancel request with an unknown key ignored').length;
      await sendCancel(b.port, client.processID, client.secretKey ^ 1);
      await sendCancel(b.port, 0x7ffffff0, client.secretKey);
      // B forwarded the wrong secret to A, which matched none of its sessions and dropped it.
      await eventually('A dropped the forwarded request', async () =>
        aLog.split('forwarded cancel request with an unknown key ignored').length > forwardedBefore
          ? true
          : undefined,
      );
      assert.equal(finished, false, 'the statement still runs after A dropped the request');
      assert.equal((await sleeping).rowCount, 1, 'the statement ran to the end');
      const viaB = await connectTo(b);
      try {
        assert.equal((await viaB.query('SELECT 2 AS two')).rows[0].two, 2);
      } finally {
        await viaB.end();
      }
    } finally {
      await client.end();
    }
  });
});
