/**
 * A bare PostgreSQL client for tests that need exact bytes on the wire:
 * it writes what it is given, in the chunks it is given, and parses what
 * comes back with pg-protocol. The single-byte answers to SSLRequest and
 * GSSENCRequest (which are not messages) are read off first.
 */
import { connect, type Socket } from 'node:net';
import { Parser } from 'pg-protocol/dist/parser.js';

/** A parsed backend message, as pg-protocol names and fills it. */
export type RawMessage = {
  name: string;
  code?: string;
  message?: string;
  hint?: string;
  where?: string;
  status?: string;
  text?: string;
  fields?: unknown[];
  salt?: Buffer;
  data?: string;
  mechanisms?: string[];
};

export class RawPgClient {
  readonly socket: Socket;
  readonly messages: RawMessage[] = [];
  /** The single-byte answers to SSLRequest / GSSENCRequest, in order. */
  declined = '';
  closed = false;
  readonly connected: Promise<void>;
  private readonly parser = new Parser();
  private waiters: (() => void)[] = [];

  /** `answers`: how many SSLRequest / GSSENCRequest answers to read before the messages. */
  constructor(port: number, answers = 0) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    let expectBytes = answers;
    this.socket.on('data', (d: Buffer) => {
      let chunk = d;
      while (expectBytes > 0 && chunk.length > 0) {
        // 'N' or 'S' (or 'G'); anything else is a message, e.g. the ErrorResponse of a refusal.
        if (!'NSG'.includes(String.fromCharCode(chunk[0]!))) {
          expectBytes = 0;
          break;
        }
        this.declined += String.fromCharCode(chunk[0]!);
        chunk = chunk.subarray(1);
        expectBytes--;
      }
      if (chunk.length > 0) {
        this.parser.parse(chunk, (m) => {
          this.messages.push(m as unknown as RawMessage);
        });
      }
      this.notify();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Writes each chunk as its own TCP segment, with a pause between, so the proxy reads them apart. */
  async write(...chunks: Buffer[]): Promise<void> {
    await this.connected;
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 2));
      if (chunk.length > 0) this.socket.write(chunk);
    }
  }

  /** Resolves once `done(messages)` holds (or, with `orClose`, the socket closed), else throws after `ms`. */
  async until(done: (m: RawMessage[]) => boolean, what: string, ms = 5000, orClose = false): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.messages)) {
      if (this.closed) {
        if (orClose) return;
        throw new Error(`closed before ${what}; got ${this.names().join(', ')}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; got ${this.names().join(', ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, left).unref();
      });
    }
  }

  async untilClosed(ms = 5000): Promise<void> {
    await this.until(() => false, 'close', ms, true);
  }

  /** Waits for `count` ReadyForQuery messages in all. */
  async ready(count: number, ms = 5000): Promise<void> {
    await this.until(
      (m) => m.filter((x) => x.name === 'readyForQuery').length >= count,
      `${count} ReadyForQuery`,
      ms,
    );
  }

  names(): string[] {
    return this.messages.map((m) => m.name);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** SSLRequest and GSSENCRequest, as a client sends them. */
export const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
export const GSSENC_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
