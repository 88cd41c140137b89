/**
 * The MySQL compressed protocol (CLIENT_COMPRESS, zlib), a layer under the
 * packet framer. After the login OK, each side sends compressed packets:
 *
 *   3 bytes  length of the body as sent
 *   1 byte   compressed sequence id (its own counter, reset with each command)
 *   3 bytes  length of the body once inflated; 0: the body is sent as it is
 *   body     zlib data (compress(), RFC 1950) or the bytes themselves
 *
 * Inflated bodies joined make the ordinary packet stream; a packet may
 * begin in one compressed packet and end in another (servers flush theirs
 * every net_buffer_length bytes). The codec functions are pure, over
 * buffers, bounded by the frame: a malformed or hostile frame is a
 * ProtocolError, and nothing inflates past the length its header declares.
 * zstd (CLIENT_ZSTD_COMPRESSION_ALGORITHM) is not implemented: MariaDB does
 * not offer it, and the proxy clears the flag.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { ProtocolError } from '../../proxy/protocol-error.ts';

/** 3-byte body length + 1-byte compressed sequence id + 3-byte inflated length. */
export const COMPRESSED_HEADER_LENGTH = 7;
/** The largest value a 3-byte length field holds. */
export const MAX_COMPRESSED_FIELD = 0xffffff;
/** Bodies shorter than this go uncompressed, as the server and libmariadb send them (deflate cannot shrink them). */
export const MIN_COMPRESS_LENGTH = 50;
/**
 * What the proxy puts in one compressed packet at most. NOTE: relayed
 * server bytes arrive in socket chunks of at most 64 KiB, so this only
 * splits the proxy's own large answers; it stays well under 0xFFFFFF,
 * a body length the mariadb connector reads as "continued in the next one".
 */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

/** One compressed packet, inflated. */
export interface CompressedFrame {
  readonly sequenceId: number;
  /** The packet-stream bytes it carried. */
  readonly payload: Buffer;
}

function uint24(buf: Buffer, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16);
}

/**
 * Decodes one whole compressed packet (`raw` is header and body exactly).
 * `maxPayloadBytes` bounds what it may inflate to: a larger declared length
 * is refused before any inflating, and the inflater stops at the declared
 * length, so a small body cannot expand without bound.
 *
 * @example
 * decodeCompressedFrame(encodeCompressedFrame(Buffer.from('x'), 0)).payload; // <Buffer 78>
 */
export function decodeCompressedFrame(raw: Buffer, maxPayloadBytes = MAX_COMPRESSED_FIELD): CompressedFrame {
  if (raw.length < COMPRESSED_HEADER_LENGTH) {
    throw new ProtocolError(
      `compressed packet of ${raw.length} bytes is shorter than its header`,
      'compressed packet',
      0,
    );
  }
  const bodyLength = uint24(raw, 0);
  if (bodyLength !== raw.length - COMPRESSED_HEADER_LENGTH) {
    throw new ProtocolError(
      `compressed packet declares a body of ${bodyLength} bytes but carries ${raw.length - COMPRESSED_HEADER_LENGTH}`,
      'compressed packet',
      0,
    );
  }
  const sequenceId = raw[3]!;
  const inflatedLength = uint24(raw, 4);
  const body = raw.subarray(COMPRESSED_HEADER_LENGTH);
  const declared = inflatedLength === 0 ? bodyLength : inflatedLength;
  if (declared > maxPayloadBytes) {
    throw new ProtocolError(
      `compressed packet of ${declared} bytes exceeds the limit of ${maxPayloadBytes}`,
      'compressed packet',
      4,
    );
  }
  if (inflatedLength === 0) return { sequenceId, payload: body };
  let payload: Buffer;
  try {
    payload = inflateSync(body, { maxOutputLength: inflatedLength });
  } catch (err) {
    throw new ProtocolError(
      `compressed packet body does not inflate to ${inflatedLength} bytes (${(err as Error).message})`,
      'compressed packet',
      COMPRESSED_HEADER_LENGTH,
    );
  }
  if (payload.length !== inflatedLength) {
    throw new ProtocolError(
      `compressed packet inflates to ${payload.length} bytes, its header says ${inflatedLength}`,
      'compressed packet',
      4,
    );
  }
  return { sequenceId, payload };
}

/**
 * One compressed packet carrying `payload` (at most MAX_COMPRESSED_FIELD
 * bytes): deflated at `level`, or sent as it is when it is short or does
 * not shrink.
 */
export function encodeCompressedFrame(payload: Buffer, sequenceId: number, level = 1): Buffer {
  if (payload.length > MAX_COMPRESSED_FIELD) {
    throw new RangeError(
      `a compressed packet carries at most ${MAX_COMPRESSED_FIELD} bytes, not ${payload.length}`,
    );
  }
  let body = payload;
  let inflatedLength = 0;
  if (payload.length >= MIN_COMPRESS_LENGTH) {
    const deflated = deflateSync(payload, { level });
    if (deflated.length < payload.length) {
      body = deflated;
      inflatedLength = payload.length;
    }
  }
  const header = Buffer.allocUnsafe(COMPRESSED_HEADER_LENGTH);
  header.writeUIntLE(body.length, 0, 3);
  header[3] = sequenceId & 0xff;
  header.writeUIntLE(inflatedLength, 4, 3);
  return Buffer.concat([header, body], COMPRESSED_HEADER_LENGTH + body.length);
}

/**
 * Splits a byte stream into whole compressed packets, keeping their raw
 * bytes; a packet split across chunks is joined once its last byte is in.
 * A header declaring more than `maxPayloadBytes` is refused as soon as it
 * arrives, before its body is buffered.
 */
export class CompressedFramer {
  private chunks: Buffer[] = [];
  private pendingLength = 0;

  constructor(readonly maxPayloadBytes = MAX_COMPRESSED_FIELD) {}

  /** Bytes received but not yet part of a whole compressed packet. */
  get buffered(): number {
    return this.pendingLength;
  }

  push(chunk: Buffer): Buffer[] {
    let data: Buffer;
    if (this.pendingLength === 0) data = chunk;
    else {
      this.chunks.push(chunk);
      this.pendingLength += chunk.length;
      if (this.pendingLength < COMPRESSED_HEADER_LENGTH) return [];
      const head =
        this.chunks[0]!.length >= COMPRESSED_HEADER_LENGTH
          ? this.chunks[0]!
          : Buffer.concat(this.chunks, this.pendingLength);
      this.checkHeader(head, 0);
      // Joined once, when the packet's last byte is in.
      if (this.pendingLength < COMPRESSED_HEADER_LENGTH + uint24(head, 0)) return [];
      data = Buffer.concat(this.chunks, this.pendingLength);
      this.chunks = [];
      this.pendingLength = 0;
    }
    const out: Buffer[] = [];
    let offset = 0;
    while (data.length - offset >= COMPRESSED_HEADER_LENGTH) {
      this.checkHeader(data, offset);
      const end = offset + COMPRESSED_HEADER_LENGTH + uint24(data, offset);
      if (end > data.length) break;
      out.push(data.subarray(offset, end));
      offset = end;
    }
    if (offset < data.length) {
      this.chunks = [data.subarray(offset)];
      this.pendingLength = data.length - offset;
    }
    return out;
  }

  private checkHeader(data: Buffer, offset: number): void {
    const bodyLength = uint24(data, offset);
    const inflatedLength = uint24(data, offset + 4);
    const declared = inflatedLength === 0 ? bodyLength : inflatedLength;
    if (declared > this.maxPayloadBytes) {
      throw new ProtocolError(
        `compressed packet of ${declared} bytes exceeds the limit of ${this.maxPayloadBytes}`,
        'compressed packet',
        4,
      );
    }
  }
}

/**
 * One side of a connection in the compressed protocol: inflates what comes
 * in, deflates what goes out, and numbers outgoing compressed packets from
 * `nextSequenceId` (the owner sets it at the start of each response: the
 * sequence id of the compressed packet that ended the command, plus one).
 *
 * @example
 * const link = new CompressedLink();
 * for (const f of link.read(chunk)) framer.push(f.payload);
 * socket.write(link.write(packets));
 */
export class CompressedLink {
  nextSequenceId = 0;
  private readonly framer: CompressedFramer;

  constructor(
    readonly maxPayloadBytes = MAX_COMPRESSED_FIELD,
    /** zlib level of outgoing packets. */
    readonly level = 1,
  ) {
    this.framer = new CompressedFramer(maxPayloadBytes);
  }

  /** Bytes received but not yet part of a whole compressed packet. */
  get buffered(): number {
    return this.framer.buffered;
  }

  read(chunk: Buffer): CompressedFrame[] {
    return this.framer.push(chunk).map((raw) => decodeCompressedFrame(raw, this.maxPayloadBytes));
  }

  /** `data` (any run of packet-stream bytes) as one or more compressed packets. */
  write(data: Buffer): Buffer {
    if (data.length <= MAX_FRAME_PAYLOAD) return this.frame(data);
    const frames: Buffer[] = [];
    for (let at = 0; at < data.length; at += MAX_FRAME_PAYLOAD) {
      frames.push(this.frame(data.subarray(at, at + MAX_FRAME_PAYLOAD)));
    }
    return Buffer.concat(frames);
  }

  private frame(data: Buffer): Buffer {
    const seq = this.nextSequenceId;
    this.nextSequenceId = (seq + 1) & 0xff;
    return encodeCompressedFrame(data, seq, this.level);
  }
}
