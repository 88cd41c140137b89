/**
 * What a PostgreSQL client can make the proxy hold before it has logged in:
 * the startup packet is capped as the server caps it, frames sent before
 * authentication completes are held up to a bound (the proxy then stops
 * reading), and pipelining behind the StartupMessage still works.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import { MAX_STARTUP_PACKET_LENGTH, PgFramer } from '../../src/dialects/postgres/codec/framer.ts';
import { ProtocolError } from '../../src/proxy/protocol-error.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type FaultRelay, startFaultRelay } from '../helpers/fault-relay.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';

type Message = { name: string; code?: string; message?: string; fields?: unknown[] };

/** A raw client: writes what it is given, parses what comes back. */
function rawClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  const messages: Message[] = [];
  const parser = new Parser();
  let closed = false;
  const waiters: (() => void)[] = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  socket.on('data', (d) =>
    parser.parse(d, (m) => {
      messages.push(m as unknown as Message);
      notify();
    }),
  );
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    notify();
  });
  return {
    socket,
    messages,
    get closed() {
      return closed;
    },
    connected: new Promise((resolve) => socket.once('connect', resolve)),
    /** Resolves once `done(messages)` holds, or rejects after `ms`. */
    async until(done: (m: Message[]) => boolean, ms: number, what: string): Promise<void> {
      const deadline = Date.now() + ms;
      while (!done(messages)) {
        if (closed) throw new Error(`closed before ${what}; got ${messages.map((m) => m.name).join(', ')}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${what} within ${ms} ms; got ${messages.map((m) => m.name)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, left).unref();
        });
      }
    },
  };
}

/** Startup packet with hand-set length field and body, for the cap tests. */
function startupWithLength(lengthField: number, body: Buffer): Buffer {
  const out = Buffer.alloc(8 + body.length);
  out.writeInt32BE(lengthField, 0);
  out.writeInt32BE(196608, 4); // protocol 3.0
  body.copy(out, 8);
  return out;
}

function startupParams(params: Record<string, string>): Buffer {
  const parts = Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0${v}\0`)]);
  return Buffer.concat([...parts, Buffer.from([0])]);
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

describe('PgFramer startup cap', () => {
  test('a startup length over the cap is a ProtocolError as soon as the length is read', () => {
    const framer = new PgFramer(256 * 2 ** 20, true);
    const header = Buffer.alloc(4);
    header.writeInt32BE(4 + MAX_STARTUP_PACKET_LENGTH + 1, 0);
    assert.throws(
      () => framer.push(header, () => assert.fail('no frame')),
      (e: unknown) => e instanceof ProtocolError && e.messageType === 'startup' && e.offset === 0,
    );
  });

  test('a startup packet of exactly the cap frames, and typed messages keep the general limit', () => {
    const framer = new PgFramer(256 * 2 ** 20, true);
    const frames: number[] = [];
    framer.push(
      startupWithLength(4 + MAX_STARTUP_PACKET_LENGTH, Buffer.alloc(MAX_STARTUP_PACKET_LENGTH - 4)),
      (f) => frames.push(f.raw.length),
    );
    assert.deepEqual(frames, [4 + MAX_STARTUP_PACKET_LENGTH]);
    framer.typed();
    framer.push(serialize.query('x'.repeat(50_000)), (f) => frames.push(f.raw.length));
    assert.equal(frames.length, 2);
  });
});

describe('PostgreSQL before login', () => {
  let db: TestDatabase;
  // Holds back what the server sends on chosen connections: a login whose answer never comes.
  let relay: FaultRelay;
  let proxy: TestPgProxy;
  let url: string;

  before(async () => {
    db = await createPgDatabase('prelogin');
    const target = new URL(db.url);
    relay = await startFaultRelay({ host: target.hostname, port: Number(target.port || 5432) });
    const upstream = new URL(db.url);
    upstream.hostname = '127.0.0.1';
    upstream.port = String(relay.port);
    proxy = await startPgProxy(upstream.toString());
    url = proxy.via(db.url);
  });

  after(async () => {
    await proxy.stop();
    await relay.close();
    await db.drop();
  });

  test('a startup packet longer than 10 000 bytes gets 08P01 at once, without waiting for its body', async () => {
    const c = rawClient(proxy.port);
    await c.connected;
    // Claims 100 MB, sends 20 kB: the proxy must not wait for (or buffer) the rest.
    c.socket.write(startupWithLength(100_000_000, Buffer.alloc(20_000, 0x61)));
    await c.until((m) => m.some((x) => x.name === 'error'), 3000, 'ErrorResponse');
    const error = c.messages.find((x) => x.name === 'error')!;
    assert.equal(error.code, '08P01');
    assert.match(error.message ?? '', /startup packet/);
    await c.until(() => c.closed, 3000, 'close');
  });

  test('a well-formed startup packet just over the limit is refused; one just under it logs in', async () => {
    const user = new URL(db.url).username || 'postgres';
    const over = startupParams({ user, database: db.name, application_name: 'x'.repeat(10_000) });
    const c = rawClient(proxy.port);
    await c.connected;
    c.socket.write(startupWithLength(8 + over.length, over));
    await c.until((m) => m.some((x) => x.name === 'error'), 3000, 'ErrorResponse');
    const error = c.messages.find((x) => x.name === 'error')!;
    assert.equal(error.code, '08P01');
    assert.match(error.message ?? '', /exceeds the limit of 10000 bytes/);

    const fits = startupParams({ user, database: db.name, application_name: 'y'.repeat(9_000) });
    assert.ok(4 + fits.length <= 10_000);
    const ok = rawClient(proxy.port);
    await ok.connected;
    ok.socket.write(Buffer.concat([startupWithLength(8 + fits.length, fits), serialize.query('SELECT 7')]));
    await ok.until((m) => m.some((x) => x.name === 'dataRow'), 5000, 'DataRow');
    assert.deepEqual(ok.messages.find((x) => x.name === 'dataRow')!.fields, ['7']);
    ok.socket.destroy();
  });

  test('a Query pipelined right behind the StartupMessage is answered after login', async () => {
    const c = rawClient(proxy.port);
    await c.connected;
    const startup = serialize.startup({ user: new URL(db.url).username || 'postgres', database: db.name });
    c.socket.write(Buffer.concat([startup, serialize.query('SELECT 40 + 2 AS answer')]));
    await c.until((m) => m.filter((x) => x.name === 'readyForQuery').length >= 2, 5000, 'two ReadyForQuery');
    const names = c.messages.map((x) => x.name);
    assert.ok(names.includes('authenticationOk'));
    assert.deepEqual(c.messages.find((x) => x.name === 'dataRow')!.fields, ['42']);
    assert.ok(!names.includes('error'));
    c.socket.destroy();
  });

  test('more than the hold bound pipelined behind a slow login: the proxy stops reading, then answers all', async () => {
    const index = relay.opened;
    relay.stall(index);
    const c = rawClient(proxy.port);
    await c.connected;
    const startup = serialize.startup({ user: new URL(db.url).username || 'postgres', database: db.name });
    // 2 MiB of queries behind the login, well over what the proxy holds before it stops reading.
    const queries = Array.from({ length: 256 }, (_, i) =>
      serialize.query(`SELECT ${i} AS n -- ${'p'.repeat(8000)}`),
    );
    const received = async () =>
      (await proxy.proxy.ctx.metrics.clientBytesReceived.get()).values.reduce((n, v) => n + v.value, 0);
    const before = await received();
    c.socket.write(Buffer.concat([startup, ...queries]));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.messages.length, 0, 'nothing answered while the login hangs');
    const read = (await received()) - before;
    assert.ok(read < 2 ** 20, `the proxy read ${mib(read)} MiB of the 2 MiB before the login completed`);
    relay.release(index);
    await c.until((m) => m.filter((x) => x.name === 'readyForQuery').length >= 257, 15_000, 'every answer');
    const rows = c.messages.filter((x) => x.name === 'dataRow').map((x) => Number((x.fields as string[])[0]));
    assert.deepEqual(
      rows,
      queries.map((_, i) => i),
      'every query answered, in order',
    );
    c.socket.destroy();
  });

  test('a client flooding before login: memory stays flat and other sessions are served', async () => {
    const index = relay.opened;
    relay.stall(index);
    const flooder = rawClient(proxy.port);
    await flooder.connected;
    const startup = serialize.startup({ user: new URL(db.url).username || 'postgres', database: db.name });
    flooder.socket.write(startup);
    // One 64 KiB chunk of Query frames, written again and again as fast as the proxy reads.
    const frame = serialize.query(`SELECT 1 -- ${'f'.repeat(16 * 1024 - 20)}`);
    const chunk = Buffer.concat(Array.from({ length: 4 }, () => frame));
    const limit = 160 * 2 ** 20;
    const rssBefore = process.memoryUsage().rss;
    let written = 0;
    let stop = false;
    const flooding = (async () => {
      const deadline = Date.now() + 4000;
      while (!stop && written < limit && Date.now() < deadline && !flooder.closed) {
        written += chunk.length;
        if (!flooder.socket.write(chunk)) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 100);
            flooder.socket.once('drain', () => {
              clearTimeout(t);
              resolve();
            });
          });
        }
      }
    })();
    // Other sessions keep working meanwhile.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    for (let i = 0; i < 20; i++) {
      const { rows } = await other.query('SELECT $1::int * 2 AS v', [i]);
      assert.equal(rows[0].v, i * 2);
    }
    await other.end();
    await flooding;
    stop = true;
    const accepted = written - flooder.socket.writableLength;
    const rssAfter = process.memoryUsage().rss;
    console.log(
      `pre-login flood: ${mib(accepted)} MiB accepted by the proxy socket; ` +
        `RSS ${mib(rssBefore)} MiB before, ${mib(rssAfter)} MiB after (+${mib(rssAfter - rssBefore)} MiB)`,
    );
    assert.ok(!flooder.closed, 'the flooder is paused, not cut off');
    assert.ok(accepted < 32 * 2 ** 20, `the proxy kept reading: ${mib(accepted)} MiB accepted`);
    assert.ok(rssAfter - rssBefore < 48 * 2 ** 20, `RSS grew by ${mib(rssAfter - rssBefore)} MiB`);
    flooder.socket.destroy();
    relay.release(index);
    await flooder.until(() => flooder.closed, 3000, 'close');
  });
});
