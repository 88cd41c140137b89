/**
 * Memory before login is bounded: a client that floods commands behind an
 * unfinished login, or sends an oversized login packet, costs the proxy a
 * fixed amount, and other sessions keep being served. The proxy runs in a
 * child process (`shiftgate serve`) so its resident set size is its own.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { type Packet, PacketFramer } from '../../src/dialects/mysql/framer.ts';
import { encodePacket } from '../../src/dialects/mysql/messages.ts';
import { CLI } from '../helpers/cli.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { RAW_CLIENT_CAPABILITIES } from './raw-client.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** A socket plus a packet queue, for clients that misbehave on purpose. */
class RawSocket {
  private readonly framer = new PacketFramer();
  private readonly packets: Packet[] = [];
  ended = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.packets.push(...this.framer.push(chunk)));
    socket.on('close', () => {
      this.ended = true;
    });
    socket.on('error', () => undefined);
  }
  async read(timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length === 0) {
      if (this.ended) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a packet');
      await sleep(10);
    }
    return this.packets.shift()!;
  }
}

/** A HandshakeResponse41 for root naming an auth plugin the server does not have: it answers with an auth switch. */
function handshakeResponse(plugin: string): Buffer {
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(RAW_CLIENT_CAPABILITIES, 0);
  fixed.writeUInt32LE(16 * MiB, 4);
  fixed[8] = 45;
  return encodePacket(
    1,
    Buffer.concat([
      fixed,
      Buffer.from('root\0'),
      Buffer.from([0]),
      Buffer.from('\0'),
      Buffer.from(`${plugin}\0`),
    ]),
  );
}

/** Writes `total` bytes of 64 KiB command packets, honouring backpressure; stops when the socket stays full for `stallMs`. */
async function flood(socket: Socket, total: number, stallMs: number): Promise<number> {
  const packet = encodePacket(0, Buffer.concat([Buffer.from([0x03]), Buffer.alloc(64 * 1024 - 1, 0x20)]));
  let written = 0;
  while (written < total && !socket.destroyed) {
    written += packet.length;
    if (!socket.write(packet)) {
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))),
        sleep(stallMs).then(() => false),
      ]);
      if (!drained) break;
    }
  }
  return written;
}

describe('mysql memory before login', () => {
  let child: ChildProcess;
  let port: number;
  // The proxy's heartbeat is kept under this database and goes with it (the proxy is SIGKILLed).
  let db: TestDatabase;

  before(async () => {
    db = await createMysqlDatabase('prelogin');
    child = spawn(process.execPath, [...CLI, 'serve', '--upstream', db.url, '--listen', '127.0.0.1:0'], {
      env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'error', SHIFTGATE_HTTP: '127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const on = / on 127\.0\.0\.1:(\d+)/.exec(out);
        if (on) resolve(Number(on[1]));
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
  });

  after(async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await exited;
    await db.drop();
  });

  const query = async (sql: string) => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
    try {
      const [rows] = await conn.query(sql);
      return rows as Array<Record<string, unknown>>;
    } finally {
      await conn.end();
    }
  };

  it('a client flooding commands behind an unfinished login leaves the proxy memory flat', async () => {
    await query('SELECT 1');
    await sleep(200);
    const rssBefore = rssOf(child.pid!);
    const socket = connect(port, '127.0.0.1');
    const raw = new RawSocket(socket);
    await raw.read(); // greeting
    socket.write(handshakeResponse('sg_no_such_plugin'));
    const authSwitch = await raw.read();
    assert.equal(
      authSwitch.payload[0],
      0xfe,
      'the server asks for an auth switch, which the client never answers',
    );
    const flooding = flood(socket, 256 * MiB, 1500);
    // Others are served while the flood runs.
    const [row] = await query('SELECT 42 AS answer');
    assert.equal(Number(row!.answer), 42);
    const written = await flooding;
    const rssAfter = rssOf(child.pid!);
    const grown = rssAfter - rssBefore;
    console.log(
      `proxy RSS before ${(rssBefore / MiB).toFixed(1)} MiB, after ${(rssAfter / MiB).toFixed(1)} MiB ` +
        `(+${(grown / MiB).toFixed(1)} MiB); the flooding client got ${(written / MiB).toFixed(1)} MiB out`,
    );
    assert.ok(grown < 48 * MiB, `proxy RSS grew by ${(grown / MiB).toFixed(1)} MiB`);
    const [again] = await query('SELECT 43 AS answer');
    assert.equal(Number(again!.answer), 43);
    socket.destroy();
  });

  it('an oversized login packet is refused with a clear error before it is buffered', async () => {
    const socket = connect(port, '127.0.0.1');
    const raw = new RawSocket(socket);
    await raw.read(); // greeting
    // A HandshakeResponse41 that says it is 8 MiB long, and starts coming.
    const header = Buffer.from([0, 0, 0x80, 1]);
    socket.write(header);
    void flood(socket, 4 * MiB, 1500);
    const err = await raw.read(5000);
    assert.equal(err.payload[0], 0xff, 'an ERR packet');
    assert.match(err.payload.toString('utf8', 9), /login packet .* exceeds the limit/);
    socket.destroy();
    const [row] = await query('SELECT 44 AS answer');
    assert.equal(Number(row!.answer), 44);
  });
});
