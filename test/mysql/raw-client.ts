/**
 * A bare MySQL client for tests that need exact packets: it logs in as a
 * passwordless user with mysql_native_password, then sends and reads raw
 * packets, so a test can issue commands no driver exposes (COM_FIELD_LIST,
 * COM_STATISTICS) or bytes no driver would send.
 */
import { connect, type Socket } from 'node:net';
import { type Packet, PacketFramer } from '../../src/dialects/mysql/framer.ts';
import { decodeHandshakeV10, encodePacket } from '../../src/dialects/mysql/messages.ts';
import { Capability } from '../../src/dialects/mysql/protocol.ts';

export const RAW_CLIENT_CAPABILITIES =
  (Capability.LongPassword |
    Capability.LongFlag |
    Capability.Protocol41 |
    Capability.Transactions |
    Capability.SecureConnection |
    Capability.MultiResults |
    Capability.MultiStatements |
    Capability.PluginAuth |
    Capability.ConnectWithDb) >>>
  0;

export class RawMysqlClient {
  private readonly framer = new PacketFramer();
  private readonly queue: Packet[] = [];
  private waiter: (() => void) | null = null;
  connectionId = 0;
  ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(...this.framer.push(chunk));
      this.waiter?.();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  /** Logs in; `pipelined` bytes go out right behind the handshake response, before the server's OK. */
  static async connect(
    port: number,
    user = 'root',
    database = '',
    pipelined?: Buffer,
  ): Promise<RawMysqlClient> {
    const socket = connect(port, '127.0.0.1');
    const client = new RawMysqlClient(socket);
    const greeting = decodeHandshakeV10((await client.read()).payload);
    client.connectionId = greeting.connectionId;
    const fixed = Buffer.alloc(32);
    fixed.writeUInt32LE(RAW_CLIENT_CAPABILITIES, 0);
    fixed.writeUInt32LE(16 * 1024 * 1024, 4);
    fixed[8] = 45; // utf8mb4_general_ci
    const payload = Buffer.concat([
      fixed,
      Buffer.from(`${user}\0`),
      Buffer.from([0]), // empty auth response: passwordless account
      Buffer.from(`${database}\0`),
      Buffer.from('mysql_native_password\0'),
    ]);
    client.sendRaw(Buffer.concat([encodePacket(1, payload), pipelined ?? Buffer.alloc(0)]));
    const reply = await client.read();
    if (reply.payload[0] !== 0x00) throw new Error(`login failed: ${reply.payload.toString('latin1')}`);
    return client;
  }

  send(sequenceId: number, payload: Buffer): void {
    this.socket.write(encodePacket(sequenceId, payload));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet; rejects when the connection closes first. */
  async read(timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a packet');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  /** Reads packets until `done` says the response ended; returns them all. */
  async readUntil(done: (p: Packet) => boolean): Promise<Packet[]> {
    const out: Packet[] = [];
    for (;;) {
      const p = await this.read();
      out.push(p);
      if (done(p)) return out;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** True for an EOF / ERR packet (a classic, non-DEPRECATE_EOF response end). */
export const isEofOrErr = (p: Packet) =>
  (p.payload[0] === 0xfe && p.payload.length < 9) || p.payload[0] === 0xff;
