import { ProtocolError } from '../../../proxy/protocol-error.ts';
import { BackendCode } from './message-codes.ts';

/** Every backend message type of protocol 3.0 ('V' is FunctionCallResponse); any other byte is no header. */
const VALID_BACKEND = new Uint8Array(256);
for (const c of 'RKSZTDCENA123nIstGHWdcvV') VALID_BACKEND[c.charCodeAt(0)] = 1;

/**
 * Follows message boundaries in the server-to-client stream without
 * copying or holding it back: the relay forwards each chunk as it came and
 * the scanner only gathers the bodies of the few message types the proxy
 * watches (ReadyForQuery, ErrorResponse). A 10 MB DataRow is skipped by
 * its length, never buffered.
 */
export class BackendScanner {
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private remaining = 0;
  private code = 0;
  private collected: Buffer[] | null = null;
  private readonly watched = new Uint8Array(256);
  /** Bytes of the current partial header that `scan` let the caller forward already. */
  private headerForwarded = 0;
  /** The message being walked is being dropped by `scanFiltering`. */
  private dropping = false;
  /** The message being walked is held whole by `scanFiltering` (header and body so far). */
  private held: Buffer[] | null = null;

  constructor(
    watch: readonly number[],
    private readonly onMessage: (code: number, body: Buffer) => void,
  ) {
    for (const c of watch) this.watched[c] = 1;
  }

  scan(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.collected) this.collected.push(chunk.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0 && this.collected) this.finish();
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && n - i >= 5) {
        this.code = chunk[i]!;
        length = chunk.readInt32BE(i + 1);
        i += 5;
      } else {
        const take = Math.min(5 - this.headerFill, n - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < 5) {
          this.headerForwarded = this.headerFill;
          break;
        }
        this.headerFill = 0;
        this.headerForwarded = 0;
        this.code = this.header[0]!;
        length = this.header.readInt32BE(1);
      }
      checkHeader(this.code, length, i);
      this.remaining = length - 4;
      if (this.watched[this.code]) {
        this.collected = [];
        if (this.remaining === 0) this.finish();
      }
    }
  }

  /**
   * Views of chunks fed before are kept for later (the pieces of a watched
   * message or of a held one): those chunks must not be overwritten.
   */
  get keepsViews(): boolean {
    return this.collected !== null || this.held !== null;
  }

  /**
   * True when `scanFiltering` is inside a message it holds back (part of a
   * header, a held message, the body of a dropped one): the next chunk
   * must be filtered too.
   */
  get holdsBytes(): boolean {
    return (
      this.headerFill > this.headerForwarded || this.held !== null || (this.dropping && this.remaining > 0)
    );
  }

  /**
   * Like `scan`, but decides at each message's header, with `decide(code)`,
   * whether to forward it, drop it, put other bytes in its place (a
   * Buffer), or hold it until it is whole and forward what
   * `resolveHeld(code, raw)` returns instead. Returns what to forward in
   * place of the chunk. Used only while the proxy has responses to remove
   * or replace (re-prepares, local answers); a header split across chunks
   * is held back until it is known.
   */
  scanFiltering(
    chunk: Buffer,
    decide: (code: number) => 'forward' | 'drop' | 'hold' | Buffer,
    resolveHeld: (code: number, raw: Buffer) => Buffer,
  ): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        const part = chunk.subarray(i, i + take);
        if (this.held) this.held.push(part);
        else {
          if (this.collected) this.collected.push(part);
          if (!this.dropping) out.push(part);
        }
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endFiltered(out, resolveHeld);
        continue;
      }
      const take = Math.min(5 - this.headerFill, n - i);
      chunk.copy(this.header, this.headerFill, i, i + take);
      this.headerFill += take;
      i += take;
      if (this.headerFill < 5) break;
      this.code = this.header[0]!;
      const length = this.header.readInt32BE(1);
      checkHeader(this.code, length, i);
      // A header begun by `scan` was partly forwarded already: it cannot be one the proxy acts on.
      const decision = this.headerForwarded === 0 ? decide(this.code) : 'forward';
      this.dropping = decision !== 'forward' && decision !== 'hold';
      if (decision instanceof Buffer) out.push(decision);
      if (decision === 'hold') this.held = [Buffer.from(this.header)];
      else if (!this.dropping) out.push(Buffer.from(this.header.subarray(this.headerForwarded, 5)));
      this.headerFill = 0;
      this.headerForwarded = 0;
      this.remaining = length - 4;
      if (this.watched[this.code] && !this.dropping && !this.held) this.collected = [];
      if (this.remaining === 0) this.endFiltered(out, resolveHeld);
    }
    return out;
  }

  private endFiltered(out: Buffer[], resolveHeld: (code: number, raw: Buffer) => Buffer): void {
    const held = this.held;
    if (held) {
      this.held = null;
      const raw = Buffer.concat(held);
      out.push(resolveHeld(this.code, raw));
      if (this.watched[this.code]) this.onMessage(this.code, raw.subarray(5));
      return;
    }
    if (this.collected) this.finish();
  }

  private finish(): void {
    const parts = this.collected!;
    this.collected = null;
    this.onMessage(this.code, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}

/**
 * A header the proxy can follow: a known type, a length that covers
 * itself, and a ReadyForQuery of exactly one status byte (the proxy reads
 * it; a longer one would make it gather whatever follows as its body).
 */
function checkHeader(code: number, length: number, offset: number): void {
  const type = String.fromCharCode(code);
  if (!VALID_BACKEND[code]) {
    throw new ProtocolError(`unknown server message type 0x${code.toString(16)}`, type, offset);
  }
  if (length < 4) throw new ProtocolError(`server message length ${length} is below 4`, type, offset);
  if (code === BackendCode.ReadyForQuery && length !== 5) {
    throw new ProtocolError(`ReadyForQuery of length ${length}`, type, offset);
  }
}
