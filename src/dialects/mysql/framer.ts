import { ProtocolError } from '../../proxy/protocol-error.ts';
import { MAX_PACKET_PAYLOAD, PACKET_HEADER_LENGTH, ResponseHeader } from './protocol.ts';

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
 * Where a streaming `PacketFramer` delivers what it reads. Packets the
 * consumer does not need whole (row data, LOAD DATA LOCAL content, large
 * parameters) go through in pieces as their bytes arrive, so one 16 MB
 * packet neither waits for its last byte nor is copied on the proxy's one
 * event loop before it moves on.
 */
export interface PacketSink {
  /** One whole physical packet. */
  packet(p: Packet): void;
  /**
   * A packet of at least `streamFromBytes` payload bytes whose header and
   * first `min(length, headBytes)` payload bytes (`head`, valid only during
   * the call) are in. True: it is delivered through `piece`; false: as a
   * whole packet, as any other.
   */
  large(head: Buffer, length: number, sequenceId: number, continuation: boolean): boolean;
  /**
   * The next bytes of a streamed packet, in order: `raw` as received (the
   * first piece starts with the 4-byte header), `payload` the part of them
   * past the header. `last` on the packet's final piece.
   */
  piece(raw: Buffer, payload: Buffer, last: boolean): void;
}

/** Payload bytes a sink's `large` sees before it decides. */
export const STREAM_HEAD_BYTES = 16;

/**
 * Turns a byte stream into whole physical packets, keeping their raw bytes.
 * Chunks that hold only whole packets are sliced without copying; a packet
 * split across chunks is joined once, when its last byte arrives. With
 * `feed` and a sink, packets from `streamFromBytes` up may instead be
 * relayed in pieces (no join at all).
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
  /** Bytes of the packet being streamed still to come; 0 when none is. */
  private streamRemaining = 0;

  constructor(
    /** A logical message longer than this is a ProtocolError (the session refuses it). */
    readonly maxMessageBytes: number = Number.POSITIVE_INFINITY,
    /** `feed` offers packets of this many payload bytes or more to the sink's `large`. */
    readonly streamFromBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Bytes received but not yet part of a whole packet. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** True between packets: nothing partial is pending or being streamed. */
  get atBoundary(): boolean {
    return this.pendingLength === 0 && this.streamRemaining === 0;
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

  /** The whole packets this chunk completes (nothing is streamed). */
  push(chunk: Buffer): Packet[] {
    const out: Packet[] = [];
    this.feed(chunk, {
      packet: (p) => out.push(p),
      large: () => false,
      piece: () => {},
    });
    return out;
  }

  /** Feeds one chunk; whole packets and pieces of streamed ones go to `sink`, in stream order. */
  feed(chunk: Buffer, sink: PacketSink): void {
    let data: Buffer;
    let offset = 0;
    if (this.streamRemaining > 0) {
      const take = Math.min(this.streamRemaining, chunk.length);
      this.streamRemaining -= take;
      const piece = chunk.subarray(0, take);
      sink.piece(piece, piece, this.streamRemaining === 0);
      if (take === chunk.length) return;
      data = chunk;
      offset = take;
    } else if (this.pendingLength === 0) {
      data = chunk;
    } else if (this.undecided()) {
      // A few bytes of a packet whose header (or a large packet's head) is not in yet: join them and look again.
      data = Buffer.concat([...this.chunks, chunk]);
      this.chunks = [];
      this.pendingLength = 0;
    } else {
      this.chunks.push(chunk);
      this.pendingLength += chunk.length;
      if (this.pendingLength < this.neededLength()!) return;
      data = Buffer.concat(this.chunks, this.pendingLength);
      this.chunks = [];
      this.pendingLength = 0;
    }
    while (data.length - offset >= PACKET_HEADER_LENGTH) {
      const length = data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16);
      const end = offset + PACKET_HEADER_LENGTH + length;
      if (length >= this.streamFromBytes) {
        const headEnd = offset + PACKET_HEADER_LENGTH + Math.min(length, STREAM_HEAD_BYTES);
        if (headEnd > data.length) break;
        this.checkLength(length);
        const head = data.subarray(offset + PACKET_HEADER_LENGTH, headEnd);
        if (sink.large(head, length, data[offset + 3]!, this.inMessage)) {
          this.enterPacket(length);
          const stop = Math.min(end, data.length);
          sink.piece(
            data.subarray(offset, stop),
            data.subarray(offset + PACKET_HEADER_LENGTH, stop),
            stop === end,
          );
          this.streamRemaining = end - stop;
          if (this.streamRemaining > 0) return;
          offset = end;
          continue;
        }
      }
      if (end > data.length) break;
      // A chunk that is one packet (as most commands come) is its raw bytes as it is.
      sink.packet(
        this.packet(offset === 0 && end === data.length ? data : data.subarray(offset, end), length),
      );
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
  }

  /**
   * The pending bytes stop short of the header, or of the head of a packet
   * `large` has not been asked about yet (it is asked once it is in).
   */
  private undecided(): boolean {
    const need = this.neededLength();
    if (need === null) return true;
    const length = need - PACKET_HEADER_LENGTH;
    return (
      length >= this.streamFromBytes &&
      this.pendingLength < PACKET_HEADER_LENGTH + Math.min(length, STREAM_HEAD_BYTES)
    );
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

  /** Follows the logical message a packet of `length` payload bytes belongs to; returns whether it continues one. */
  private enterPacket(length: number): boolean {
    this.checkLength(length);
    const continuation = this.inMessage;
    this.messageLength = continuation ? this.messageLength + length : length;
    this.inMessage = length === MAX_PACKET_PAYLOAD;
    return continuation;
  }

  private packet(raw: Buffer, length: number): Packet {
    const continuation = this.enterPacket(length);
    return {
      sequenceId: raw[3]!,
      payload: raw.subarray(PACKET_HEADER_LENGTH),
      raw,
      continues: length === MAX_PACKET_PAYLOAD,
      continuation,
    };
  }
}

/**
 * Called once per physical packet, when its last byte has been scanned
 * (except rows `PacketScanner.passOverRows` steps over).
 * The packet's first `min(length, prefixBytes)` payload bytes are
 * `buf[headStart, headStart + headLength)`: in place in the chunk when the
 * whole packet is in it, else in the scanner's own buffer; only valid
 * during the call. (No Buffer view is made per packet: the relay scans
 * every packet of every response.)
 */
export type PacketVisitor = (
  buf: Buffer,
  headStart: number,
  headLength: number,
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
 * 20 MB row costs no copy. While `passOverRows` is set, the rows of a
 * result set are stepped over by their 3-byte lengths without a visit each.
 */
export class PacketScanner {
  private readonly header = Buffer.alloc(PACKET_HEADER_LENGTH);
  private headerHave = 0;
  private readonly prefix: Buffer;
  private prefixWant = 0;
  private prefixHave = 0;
  private remaining = 0;
  private inPayload = false;
  private length = 0;
  private sequenceId = 0;
  private continuation = false;
  private continues = false;

  /**
   * The stream is in the rows of a result set (the consumer sets this as
   * it follows the response). A row is any packet that starts with neither
   * 0xFE (the EOF / OK that ends the rows; a text row starting with 0xFE
   * is 16 MB or more, so its packet is 0xFFFFFF long) nor 0xFF (ERR): such
   * packets, when wholly in the chunk and not part of a 16 MB+ message,
   * are passed over with no visit. The others are visited as always.
   */
  passOverRows = false;

  constructor(readonly prefixBytes = 64) {
    this.prefix = Buffer.alloc(prefixBytes);
  }

  /** True between packets: no partial header or payload pending. */
  get atBoundary(): boolean {
    return !this.inPayload && this.headerHave === 0;
  }

  /**
   * Scans one chunk, visiting every packet whose last byte is in it (but
   * rows passed over). Returns the sequence id of the last packet that
   * ended in the chunk, visited or passed over; -1 when none did.
   */
  feed(chunk: Buffer, visit: PacketVisitor): number {
    const n = chunk.length;
    let i = 0;
    let lastSequenceId = -1;
    while (i < n) {
      if (!this.inPayload) {
        if (this.passOverRows && this.headerHave === 0 && !this.continues) {
          // Per row: its length, its first byte, nothing else. Anything else stops here and is visited below.
          while (i + PACKET_HEADER_LENGTH < n) {
            const length = chunk[i]! | (chunk[i + 1]! << 8) | (chunk[i + 2]! << 16);
            const end = i + PACKET_HEADER_LENGTH + length;
            // An empty packet (never sent among rows but to end a 16 MB+ one) may pass as a row: it ends nothing either.
            if (
              end > n ||
              length === MAX_PACKET_PAYLOAD ||
              chunk[i + PACKET_HEADER_LENGTH]! >= ResponseHeader.Eof
            )
              break;
            lastSequenceId = chunk[i + 3]!;
            i = end;
          }
          if (i === n) break;
        }
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
          if (this.headerHave < PACKET_HEADER_LENGTH) return lastSequenceId;
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
        if (length === 0) {
          lastSequenceId = this.sequenceId;
          visit(EMPTY, 0, 0, 0, this.sequenceId, this.continuation, i);
          continue;
        }
        this.inPayload = true;
      }
      const take = Math.min(this.remaining, n - i);
      if (this.prefixHave === 0 && take === this.remaining) {
        // The whole packet is in this chunk: its head is read in place.
        i += take;
        this.remaining = 0;
        this.inPayload = false;
        lastSequenceId = this.sequenceId;
        visit(chunk, i - take, this.prefixWant, this.length, this.sequenceId, this.continuation, i);
        continue;
      }
      if (this.prefixHave < this.prefixWant) {
        const copy = Math.min(this.prefixWant - this.prefixHave, take);
        chunk.copy(this.prefix, this.prefixHave, i, i + copy);
        this.prefixHave += copy;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.inPayload = false;
        lastSequenceId = this.sequenceId;
        visit(this.prefix, 0, this.prefixWant, this.length, this.sequenceId, this.continuation, i);
      }
    }
    return lastSequenceId;
  }
}
