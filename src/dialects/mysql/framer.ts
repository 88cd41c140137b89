import { ProtocolError } from '../../proxy/protocol-error.ts';
import { MAX_PACKET_PAYLOAD, PACKET_HEADER_LENGTH } from './protocol.ts';

/**
 * One physical packet. A logical message of 16 MB or more travels as
 * several physical packets: every one but the last carries exactly
 * 0xFFFFFF payload bytes (`continues`), and the next packet of the same
 * message is a `continuation`. The relay forwards `raw` untouched unless it
 * rewrites the message.
 */
export interface Packet {
  readonly sequenceId: number;
  /** The payload: a view into `raw`. */
  readonly payload: Buffer;
  /** Header and payload exactly as received. */
  readonly raw: Buffer;
  /** The payload is 0xFFFFFF bytes long: the message goes on in the next packet. */
  readonly continues: boolean;
  /** This packet carries the rest of the previous packet's message. */
  readonly continuation: boolean;
}

/**
 * Turns a byte stream into whole physical packets, keeping their raw bytes.
 * Chunks that hold only whole packets are sliced without copying; a packet
 * split across chunks is joined once, when its last byte arrives.
 *
 * @example
 * const framer = new PacketFramer(64 * 1024 * 1024);
 * socket.on('data', (chunk) => { for (const p of framer.push(chunk)) handle(p); });
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private pendingLength = 0;
  private inMessage = false;
  private messageLength = 0;

  constructor(
    /** A logical message longer than this is a ProtocolError (the session refuses it). */
    readonly maxMessageBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Bytes received but not yet part of a whole packet. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** Sequence id of the partial packet buffered, once its header is in; else null. */
  get pendingSequenceId(): number | null {
    if (this.pendingLength < PACKET_HEADER_LENGTH) return null;
    const first = this.chunks[0]!;
    return first.length >= PACKET_HEADER_LENGTH ? first[3]! : Buffer.concat(this.chunks)[3]!;
  }

  /** Hands the buffered partial packet to another consumer and forgets it. */
  takeBuffered(): Buffer {
    const out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.pendingLength);
    this.chunks = [];
    this.pendingLength = 0;
    return out;
  }

  push(chunk: Buffer): Packet[] {
    const out: Packet[] = [];
    let data: Buffer;
    if (this.pendingLength === 0) {
      data = chunk;
    } else {
      this.chunks.push(chunk);
      this.pendingLength += chunk.length;
      const need = this.neededLength();
      if (need === null || this.pendingLength < need) return out;
      data = Buffer.concat(this.chunks, this.pendingLength);
      this.chunks = [];
      this.pendingLength = 0;
    }
    let offset = 0;
    while (data.length - offset >= PACKET_HEADER_LENGTH) {
      const length = data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16);
      const end = offset + PACKET_HEADER_LENGTH + length;
      if (end > data.length) break;
      out.push(this.packet(data.subarray(offset, end), length));
      offset = end;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.chunks = [rest];
      this.pendingLength = rest.length;
      // Refuse an oversized message as soon as its header says so, not after buffering it.
      if (rest.length >= PACKET_HEADER_LENGTH)
        this.checkLength(rest[0]! | (rest[1]! << 8) | (rest[2]! << 16));
    }
    return out;
  }

  private neededLength(): number | null {
    if (this.pendingLength < PACKET_HEADER_LENGTH) return null;
    const head = this.chunks[0]!.length >= 3 ? this.chunks[0]! : Buffer.concat(this.chunks, 3);
    return PACKET_HEADER_LENGTH + (head[0]! | (head[1]! << 8) | (head[2]! << 16));
  }

  private checkLength(length: number): void {
    const total = (this.inMessage ? this.messageLength : 0) + length;
    if (total > this.maxMessageBytes) {
      throw new ProtocolError(
        `packet message of ${total} bytes exceeds the limit of ${this.maxMessageBytes}`,
        'packet',
        0,
      );
    }
  }

  private packet(raw: Buffer, length: number): Packet {
    this.checkLength(length);
    const continuation = this.inMessage;
    const continues = length === MAX_PACKET_PAYLOAD;
    this.messageLength = continuation ? this.messageLength + length : length;
    this.inMessage = continues;
    return {
      sequenceId: raw[3]!,
      payload: raw.subarray(PACKET_HEADER_LENGTH),
      raw,
      continues,
      continuation,
    };
  }
}

/**
 * Called once per physical packet, when its last byte has been scanned.
 * `head` holds the first `min(length, prefixBytes)` payload bytes and is
 * only valid during the call.
 */
export type PacketVisitor = (
  head: Buffer,
  length: number,
  sequenceId: number,
  continuation: boolean,
  /** Offset in the current chunk just past this packet. */
  endOffset: number,
) => void;

const EMPTY = Buffer.alloc(0);

/**
 * Finds packet boundaries in a stream without buffering payloads: the relay
 * forwards each chunk as it arrives and learns from the scanner only the
 * first bytes of every packet (enough for OK / EOF / ERR status), so a
 * 20 MB row costs no copy.
 */
export class PacketScanner {
  private readonly header = Buffer.alloc(PACKET_HEADER_LENGTH);
  private headerHave = 0;
  private readonly prefix: Buffer;
  private prefixWant = 0;
  private prefixHave = 0;
  private prefixView: Buffer | null = null;
  private remaining = 0;
  private inPayload = false;
  private length = 0;
  private sequenceId = 0;
  private continuation = false;
  private continues = false;

  constructor(readonly prefixBytes = 64) {
    this.prefix = Buffer.alloc(prefixBytes);
  }

  /** True between packets: no partial header or payload pending. */
  get atBoundary(): boolean {
    return !this.inPayload && this.headerHave === 0;
  }

  feed(chunk: Buffer, visit: PacketVisitor): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (!this.inPayload) {
        let length: number;
        if (this.headerHave === 0 && i + PACKET_HEADER_LENGTH <= n) {
          length = chunk[i]! | (chunk[i + 1]! << 8) | (chunk[i + 2]! << 16);
          this.sequenceId = chunk[i + 3]!;
          i += PACKET_HEADER_LENGTH;
        } else {
          const take = Math.min(PACKET_HEADER_LENGTH - this.headerHave, n - i);
          chunk.copy(this.header, this.headerHave, i, i + take);
          this.headerHave += take;
          i += take;
          if (this.headerHave < PACKET_HEADER_LENGTH) return;
          this.headerHave = 0;
          length = this.header[0]! | (this.header[1]! << 8) | (this.header[2]! << 16);
          this.sequenceId = this.header[3]!;
        }
        this.length = length;
        this.continuation = this.continues;
        this.continues = length === MAX_PACKET_PAYLOAD;
        this.remaining = length;
        this.prefixWant = Math.min(length, this.prefixBytes);
        this.prefixHave = 0;
        this.prefixView = null;
        if (length === 0) {
          visit(EMPTY, 0, this.sequenceId, this.continuation, i);
          continue;
        }
        this.inPayload = true;
      }
      const take = Math.min(this.remaining, n - i);
      if (this.prefixHave < this.prefixWant) {
        if (this.prefixHave === 0 && take >= this.prefixWant) {
          this.prefixView = chunk.subarray(i, i + this.prefixWant);
          this.prefixHave = this.prefixWant;
        } else {
          const copy = Math.min(this.prefixWant - this.prefixHave, take);
          chunk.copy(this.prefix, this.prefixHave, i, i + copy);
          this.prefixHave += copy;
        }
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.inPayload = false;
        visit(
          this.prefixView ?? this.prefix.subarray(0, this.prefixWant),
          this.length,
          this.sequenceId,
          this.continuation,
          i,
        );
      }
    }
  }
}
