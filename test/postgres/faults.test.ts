/**
 * Faults around the PostgreSQL proxy: hostile clients, vanished clients,
 * vanished upstreams, shutdown. Each must hurt only the session it hits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type FaultRelay, startFaultRelay } from '../helpers/fault-relay.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';

/** Sends raw bytes to the proxy and collects the backend messages it answers with until it closes. */
async function rawExchange(
  port: number,
  chunks: Buffer[],
  afterReady?: Buffer,
): Promise<{ name: string; code?: string }[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  const messages: { name: string; code?: string }[] = [];
  const parser = new Parser();
  socket.on('data', (d) =>
    parser.parse(d, (m) => {
      messages.push(m as unknown as { name: string; code?: string });
      if (m.name === 'readyForQuery' && afterReady) socket.write(afterReady);
    }),
  );
  await new Promise((r) => socket.once('connect', r));
  for (const c of chunks) socket.write(c);
  await new Promise((resolve) => {
    socket.on('close', resolve);
    socket.on('error', resolve);
    setTimeout(() => socket.destroy(), 5000);
  });
  return messages;
}

/** A startup message plus the trust-auth exchange, ending ready for queries. */
function startupFor(db: TestDatabase): Buffer {
  return serialize.startup({ user: new URL(db.url).username || 'postgres', database: db.name });
}

async function sessionIsHealthy(client: pg.Client): Promise<void> {
  const { rows } = await client.query('SELECT 41 + 1 AS answer');
  assert.equal(rows[0].answer, 42);
}

describe('PostgreSQL proxy faults', () => {
  let db: TestDatabase;
  let proxy: TestPgProxy;
  let url: string;

  before(async () => {
    db = await createPgDatabase('faults');
    proxy = await startPgProxy(db.url);
    url = proxy.via(db.url);
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  test('random and mutated bytes from other clients do not disturb a healthy session', async () => {
    const healthy = new pg.Client({ connectionString: url });
    await healthy.connect();
    await healthy.query('BEGIN');
    await healthy.query('CREATE TABLE survivors (n int)');
    const before = (await proxy.proxy.ctx.metrics.protocolErrors.get()).values[0]?.value ?? 0;
    const attacks: Buffer[][] = [];
    for (let i = 0; i < 20; i++) attacks.push([randomBytes(1 + ((i * 37) % 300))]);
    const valid = Buffer.concat([startupFor(db), serialize.query('SELECT 1')]);
    for (let i = 0; i < 20; i++) {
      const mutated = Buffer.from(valid);
      for (let k = 0; k < 3; k++) {
        const at = (i * 13 + k * 29) % mutated.length;
        mutated[at] = mutated[at]! ^ 0xff;
      }
      attacks.push([mutated]);
    }
    // A client that authenticates, then sends a frame with an absurd length.
    attacks.push([startupFor(db), Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff])]);
    let n = 0;
    await Promise.all(
      attacks.map(async (chunks) => {
        await rawExchange(proxy.port, chunks);
        await healthy.query('INSERT INTO survivors VALUES ($1)', [n++]);
      }),
    );
    await healthy.query('COMMIT');
    const { rows } = await healthy.query('SELECT count(*)::int AS n FROM survivors');
    assert.equal(rows[0].n, attacks.length);
    const afterCount = (await proxy.proxy.ctx.metrics.protocolErrors.get()).values[0]?.value ?? 0;
    assert.ok(afterCount > before, 'protocol errors were counted');
    await healthy.end();
  });

  test('an oversized frame after authentication gets 08P01 and only that session closes', async () => {
    const messages = await rawExchange(
      proxy.port,
      [startupFor(db)],
      Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]),
    );
    const names = messages.map((m) => m.name);
    assert.ok(names.includes('readyForQuery'), 'the session was authenticated first');
    const error = messages.find((m) => m.name === 'error');
    assert.equal(error?.code, '08P01');
  });

  test('a client asking for protocol 3.2 and a _pq_ option is told the proxy speaks 3.0, then served', async () => {
    const startup = serialize.startup({
      user: new URL(db.url).username || 'postgres',
      database: db.name,
      '_pq_.extra': 'on',
    });
    startup.writeInt16BE(2, 6); // minor version 2
    const socket = connect(proxy.port, '127.0.0.1');
    const received: Buffer[] = [];
    let asked = false;
    socket.on('data', (d: Buffer) => {
      received.push(d);
      // After the login's ReadyForQuery: a query and Terminate in one write; the answer must still come.
      if (!asked && Buffer.concat(received).includes(Buffer.from('Z\0\0\0\x05I', 'latin1'))) {
        asked = true;
        socket.write(Buffer.concat([serialize.query('SELECT 1'), serialize.end()]));
      }
    });
    socket.write(startup);
    await new Promise((resolve) => socket.on('close', resolve));
    const all = Buffer.concat(received);
    const codes: string[] = [];
    for (let i = 0; i + 5 <= all.length; i += 1 + all.readInt32BE(i + 1))
      codes.push(String.fromCharCode(all[i]!));
    assert.equal(codes[0], 'v', 'NegotiateProtocolVersion comes first');
    assert.equal(all.readInt32BE(5), 0, 'newest minor version supported: 0');
    assert.ok(all.includes(Buffer.from('_pq_.extra\0')), 'the unrecognised option is named');
    assert.match(
      codes.join(''),
      /Z.*TDCZ$/,
      `${codes.join('')}: the query is answered before the session ends`,
    );
  });

  test('an unknown message type gets 08P01', async () => {
    const messages = await rawExchange(proxy.port, [startupFor(db)], Buffer.from([0x7a, 0, 0, 0, 4]));
    assert.ok(messages.some((m) => m.name === 'readyForQuery'));
    assert.equal(messages.find((m) => m.name === 'error')?.code, '08P01');
  });

  test('pg_terminate_backend: the client gets the server FATAL error, the proxy keeps serving', async () => {
    const victim = new pg.Client({ connectionString: url });
    await victim.connect();
    victim.on('error', () => {});
    const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // The rejection may arrive before pg_terminate_backend returns: take it as soon as it comes.
    const sleeping = victim.query('SELECT pg_sleep(10)').then(
      () => assert.fail('the statement of a terminated backend cannot succeed'),
      (e: { code?: string }) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    assert.equal((await sleeping).code, '57P01');
    await admin.end();
    const next = new pg.Client({ connectionString: url });
    await next.connect();
    await sessionIsHealthy(next);
    await next.end();
  });

  describe('through a relay that cuts the upstream', () => {
    let relay: FaultRelay;
    let relayed: TestPgProxy;

    before(async () => {
      const upstream = new URL(db.url);
      relay = await startFaultRelay({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      upstream.port = String(relay.port);
      relayed = await startPgProxy(upstream.toString());
    });

    after(async () => {
      await relayed.stop();
      await relay.close();
    });

    test('upstream connection lost mid-query: the client gets 08006, others keep working', async () => {
      const victim = new pg.Client({ connectionString: relayed.via(db.url) });
      await victim.connect();
      victim.on('error', () => {});
      const direct = new pg.Client({ connectionString: url });
      await direct.connect();
      const sleeping = victim.query('SELECT pg_sleep(10)');
      await new Promise((r) => setTimeout(r, 200));
      relay.cutAll();
      await assert.rejects(sleeping, (e: { code?: string; message: string }) => {
        assert.equal(e.code, '08006');
        assert.match(e.message, /lost the connection to the upstream server/);
        return true;
      });
      await sessionIsHealthy(direct);
      await direct.end();
      const again = new pg.Client({ connectionString: relayed.via(db.url) });
      await again.connect();
      await sessionIsHealthy(again);
      await again.end();
    });
  });

  test('upstream unreachable at connect: 08006 with a clear message, counted in metrics', async () => {
    const dead = await startPgProxy('postgres://postgres@127.0.0.1:1/postgres');
    const client = new pg.Client({ connectionString: dead.via(db.url) });
    await assert.rejects(client.connect(), (e: { code?: string; message: string }) => {
      assert.equal(e.code, '08006');
      assert.match(e.message, /could not connect to the upstream server/);
      return true;
    });
    const errors = (await dead.proxy.ctx.metrics.upstreamConnectErrors.get()).values[0]?.value;
    assert.equal(errors, 1);
    await dead.stop();
  });

  test('client gone mid-query: the backend is cancelled and its locks are released', async () => {
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE locked (id int PRIMARY KEY, v int)');
    await setup.query('INSERT INTO locked VALUES (1, 0)');
    const doomed = new pg.Client({ connectionString: url, application_name: 'doomed' });
    await doomed.connect();
    doomed.on('error', () => {});
    await doomed.query('BEGIN');
    await doomed.query('UPDATE locked SET v = 1 WHERE id = 1');
    doomed.query('SELECT pg_sleep(30)').catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    (doomed as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
    // The row lock must be free again well before the 30 s sleep would have ended.
    await setup.query("SET lock_timeout = '5s'");
    const started = Date.now();
    await setup.query('UPDATE locked SET v = 2 WHERE id = 1');
    assert.ok(Date.now() - started < 5000);
    const { rows } = await setup.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'doomed'",
    );
    assert.equal(rows[0].n, 0, 'the upstream session is gone');
    const { rows: v } = await setup.query('SELECT v FROM locked');
    assert.equal(v[0].v, 2, 'the doomed transaction was rolled back');
    await setup.end();
  });

  test('shutdown drains: idle sessions close, a busy transaction finishes first', async () => {
    const own = await startPgProxy(db.url, { 'proxy.shutdown_timeout_ms': '10000' });
    const idle = new pg.Client({ connectionString: own.via(db.url) });
    const busy = new pg.Client({ connectionString: own.via(db.url) });
    await idle.connect();
    await busy.connect();
    const idleError = new Promise<{ code?: string }>((resolve) =>
      idle.on('error', (e) => resolve(e as { code?: string })),
    );
    busy.on('error', () => {});
    await busy.query('BEGIN');
    const work = busy.query('SELECT pg_sleep(0.5) AS slept');
    const shutdown = own.proxy.shutdown(10000);
    assert.equal((await idleError).code, '57P01', 'idle session told the proxy is shutting down');
    const result = await work;
    assert.equal(result.rowCount, 1, 'the busy statement finished');
    await busy.query('COMMIT');
    await shutdown;
    assert.equal(own.proxy.ctx.registry.size, 0);
    await assert.rejects(new pg.Client({ connectionString: own.via(db.url) }).connect());
  });
});
