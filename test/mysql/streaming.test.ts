/**
 * Large client packets go upstream as their bytes arrive, not once they
 * are whole: the first half of an 8 MB COM_QUERY or COM_STMT_EXECUTE
 * reaches the server while the client still holds back the second half (a
 * fault relay between proxy and server counts what the proxy sent). With a
 * router, a large COM_QUERY is held for its prefilter and still answered
 * right whether the router wants it or not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { decodeErr, encodePacket, encodeQuery } from '../../src/dialects/mysql/messages.ts';
import { Command } from '../../src/dialects/mysql/protocol.ts';
import { PayloadReader } from '../../src/dialects/mysql/reader.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type FaultRelay, startFaultRelay } from '../helpers/fault-relay.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { isEofOrErr, RawMysqlClient } from './raw-client.ts';

const BODY = 8 * 1024 * 1024;

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

/** Sends `packet` in two writes and checks the first half went upstream before the second is sent. */
async function sendInHalves(
  client: RawMysqlClient,
  packet: Buffer,
  sent: () => number,
  what: string,
): Promise<void> {
  const half = Math.floor(packet.length / 2);
  client.sendRaw(packet.subarray(0, half));
  await grown(sent, half - 1024, 5000, what);
  client.sendRaw(packet.subarray(half));
}

/** Reads a result set of one row and one column (text or binary protocol); returns the value's bytes. */
async function readSingleValue(client: RawMysqlClient, binary: boolean): Promise<Buffer> {
  const head = await client.read(20_000);
  if (head.payload[0] === 0xff) throw new Error(`ERR ${decodeErr(head.payload).message}`);
  await client.readUntil(isEofOrErr); // column definition, EOF
  const rows = await client.readUntil(isEofOrErr);
  assert.equal(rows.length, 2);
  const r = new PayloadReader(rows[0]!.payload, 'row');
  if (binary) r.skip(2); // 0x00 header and a one-byte NULL bitmap
  return binary ? rows[0]!.payload.subarray(r.offset) : r.lenencBytes();
}

describe('mysql large client packets stream through Shiftgate', () => {
  let db: TestDatabase;
  let relay: FaultRelay;
  let proxy: MysqlProxy;
  let sentUpstream = 0;

  before(async () => {
    db = await createMysqlDatabase('streaming');
    const direct = new URL(db.url);
    relay = await startFaultRelay({ host: direct.hostname, port: Number(direct.port || 3306) });
    relay.mutate = (chunk) => {
      sentUpstream += chunk.length;
      return chunk;
    };
    const viaRelay = new URL(db.url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(relay.port);
    proxy = await startMysqlProxy({ upstream: viaRelay.toString() });
  });

  after(async () => {
    await proxy.stop();
    await relay.close();
    await db.drop();
  });

  it('the first half of a COM_QUERY reaches the server before the client sent the second', async () => {
    const client = await RawMysqlClient.connect(proxy.port, 'root', db.name);
    try {
      const packet = encodePacket(0, encodeQuery(`SELECT LENGTH('${'x'.repeat(BODY)}')`));
      await sendInHalves(client, packet, () => sentUpstream, 'COM_QUERY first half');
      assert.equal((await readSingleValue(client, false)).toString(), String(BODY));
    } finally {
      client.close();
    }
  });

  it('the first half of a COM_STMT_EXECUTE reaches the server before the client sent the second', async () => {
    const client = await RawMysqlClient.connect(proxy.port, 'root', db.name);
    try {
      client.send(0, Buffer.concat([Buffer.from([Command.StmtPrepare]), Buffer.from('SELECT LENGTH(?)')]));
      const prepared = await client.read();
      assert.equal(prepared.payload[0], 0x00, 'COM_STMT_PREPARE OK');
      const id = prepared.payload.readUInt32LE(1);
      // Parameter definition + EOF, column definition + EOF.
      await client.readUntil(isEofOrErr);
      await client.readUntil(isEofOrErr);
      const value = Buffer.alloc(BODY, 0x79);
      const length = Buffer.alloc(4);
      length[0] = 0xfd;
      length.writeUIntLE(BODY, 1, 3);
      const execute = Buffer.alloc(1 + 4 + 1 + 4 + 1 + 1 + 2);
      execute[0] = Command.StmtExecute;
      execute.writeUInt32LE(id, 1);
      execute.writeUInt32LE(1, 6); // iteration count
      execute[11] = 1; // new parameters bound; NULL bitmap (byte 10) all zero
      execute[12] = 0xfb; // MYSQL_TYPE_LONG_BLOB
      await sendInHalves(
        client,
        encodePacket(0, Buffer.concat([execute, length, value])),
        () => sentUpstream,
        'COM_STMT_EXECUTE first half',
      );
      // LENGTH(?) comes back as an integer of 4 or 8 bytes, little-endian, in the binary protocol.
      const n = await readSingleValue(client, true);
      assert.equal(n.readUIntLE(0, Math.min(n.length, 6)), BODY);
      // The session is still in step.
      client.send(0, encodeQuery('SELECT 5'));
      assert.equal((await readSingleValue(client, false)).toString(), '5');
    } finally {
      client.close();
    }
  });

  it('with a router, a large COM_QUERY is answered right whether the router wants it or not', async () => {
    const seen: string[] = [];
    const routed = await startMysqlProxy({
      upstream: db.url,
      router: {
        generation: 0,
        mayRoute: (bytes, start, end) => bytes.subarray(start, end).includes('/*route*/'),
        route: (_session, sql) => {
          seen.push(sql.slice(-20));
          return { kind: 'rewrite', sql: 'SELECT 7 AS n' };
        },
        bindAtConnect: () => {},
        localResultColumns: () => null,
      },
    });
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: routed.port, user: 'root' });
    try {
      const filler = 'z'.repeat(2 * 1024 * 1024);
      const [[plain]] = (await conn.query(`SELECT LENGTH('${filler}') AS n`)) as unknown as [[{ n: number }]];
      assert.equal(plain.n, filler.length);
      assert.deepEqual(seen, []);
      const [[rewritten]] = (await conn.query(`SELECT LENGTH('${filler}') AS n /*route*/`)) as unknown as [
        [{ n: number }],
      ];
      assert.equal(rewritten.n, 7);
      assert.deepEqual(seen, [`${filler}') AS n /*route*/`.slice(-20)]);
    } finally {
      await conn.end();
      await routed.stop();
    }
  });
});
