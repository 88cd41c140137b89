/**
 * Large client messages go upstream as their bytes arrive, not once they
 * are whole: the first half of a 8 MB CopyData or Bind reaches the server
 * while the client still holds back the second half (a fault relay between
 * proxy and server counts what the proxy sent). A large Query is held for
 * the router's prefilter, and one the router wants is still routed whole.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type FaultRelay, startFaultRelay } from '../helpers/fault-relay.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const BODY = 8 * 1024 * 1024;

type Message = { name: string; fields?: unknown[]; message?: string };

/** A raw protocol client: writes what it is given, parses what comes back. */
async function rawClient(port: number, user: string, database: string) {
  const socket = connect(port, '127.0.0.1');
  const messages: Message[] = [];
  const parser = new Parser();
  socket.on('data', (d) => parser.parse(d, (m) => messages.push(m as unknown as Message)));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const until = async (done: () => boolean, what: string, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`no ${what}; got ${messages.map((m) => m.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const readies = () => messages.filter((m) => m.name === 'readyForQuery').length;
  socket.write(serialize.startup({ user, database }));
  await until(() => readies() === 1, 'login');
  return { socket, messages, until, readies };
}

/** Resolves once `count()` has grown by `bytes` since the call, or rejects after `ms`. */
async function grown(count: () => number, bytes: number, ms: number, what: string): Promise<void> {
  const base = count();
  const deadline = Date.now() + ms;
  while (count() - base < bytes) {
    if (Date.now() > deadline)
      throw new Error(`${what}: only ${count() - base} of ${bytes} bytes went upstream`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('postgres large client messages stream through Shiftgate', () => {
  let db: TestDatabase;
  let relay: FaultRelay;
  let sg: TestShiftgate;
  let sentUpstream = 0;
  let user: string;

  before(async () => {
    db = await createPgDatabase('streaming');
    const direct = new URL(db.url);
    user = decodeURIComponent(direct.username) || 'postgres';
    relay = await startFaultRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
    relay.mutate = (chunk) => {
      sentUpstream += chunk.length;
      return chunk;
    };
    const viaRelay = new URL(db.url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(relay.port);
    sg = await startTestShiftgate(viaRelay.toString());
  });

  after(async () => {
    await sg.stop();
    await relay.close();
    await db.drop();
  });

  test('the first half of a CopyData reaches the server before the client sent the second', async () => {
    const c = await rawClient(sg.sg.proxy.address.port, user, db.name);
    try {
      c.socket.write(serialize.query('CREATE TEMP TABLE t (b text); COPY t FROM STDIN'));
      await c.until(() => c.messages.some((m) => m.name === 'copyInResponse'), 'CopyInResponse');
      const body = Buffer.alloc(BODY, 0x61);
      body[BODY - 1] = 0x0a;
      const header = Buffer.alloc(5);
      header[0] = 0x64; // 'd'
      header.writeInt32BE(4 + BODY, 1);
      const half = BODY / 2;
      c.socket.write(Buffer.concat([header, body.subarray(0, half)]));
      await grown(() => sentUpstream, half, 5000, 'CopyData first half');
      c.socket.write(Buffer.concat([body.subarray(half), serialize.copyDone()]));
      await c.until(() => c.readies() === 2, 'COPY done');
      c.socket.write(serialize.query('SELECT length(b) AS n FROM t'));
      await c.until(() => c.readies() === 3, 'SELECT');
      assert.deepEqual(c.messages.find((m) => m.name === 'dataRow')!.fields, [String(BODY - 1)]);
      assert.ok(!c.messages.some((m) => m.name === 'error'));
    } finally {
      c.socket.destroy();
    }
  });

  test('the first half of a Bind parameter reaches the server before the client sent the second', async () => {
    const c = await rawClient(sg.sg.proxy.address.port, user, db.name);
    try {
      const bind = serialize.bind({ statement: '', values: ['b'.repeat(BODY)] });
      const half = Math.floor(bind.length / 2);
      c.socket.write(
        Buffer.concat([serialize.parse({ text: 'SELECT length($1) AS n' }), bind.subarray(0, half)]),
      );
      await grown(() => sentUpstream, half, 5000, 'Bind first half');
      c.socket.write(Buffer.concat([bind.subarray(half), serialize.execute({}), serialize.sync()]));
      await c.until(() => c.readies() === 2, 'Sync');
      assert.deepEqual(c.messages.find((m) => m.name === 'dataRow')!.fields, [String(BODY)]);
      assert.ok(!c.messages.some((m) => m.name === 'error'));
    } finally {
      c.socket.destroy();
    }
  });

  test('large Query texts: passed through unjoined, or routed whole when the router wants them', async () => {
    const client = new pg.Client({ connectionString: sg.via(db.url) });
    await client.connect();
    try {
      const filler = 'q'.repeat(2 * 1024 * 1024);
      const plain = await client.query(`SELECT length('${filler}') AS n`);
      assert.equal(plain.rows[0].n, filler.length);
      // The prefilter's word at the very end: the statement is joined, routed, and forwarded as it is.
      const flagged = await client.query(`SELECT length('${filler}') AS n /* shiftgate */`);
      assert.equal(flagged.rows[0].n, filler.length);
      // An admin command padded past the longest one the proxy takes: the proxy's own refusal.
      await assert.rejects(client.query(`SHOW SHIFTGATE STATUS /* ${filler} */`), (err: Error) =>
        /Shiftgate command too long/.test(err.message),
      );
      const after = await client.query('SELECT 1 AS one');
      assert.equal(after.rows[0].one, 1);
    } finally {
      await client.end();
    }
  });
});
