import { ProtocolError } from '../../proxy/protocol-error.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const U64_MAX = 2n ** 64n - 1n;

/**
 * A cursor over one packet payload. Every read checks the payload bounds
 * first and throws `ProtocolError` instead of reading past the end, so a
 * hostile length field can never reach memory outside the packet.
 *
 * @example
 * const r = new PayloadReader(payload, 'OK');
 * r.int1(); const affected = r.lenencBigInt(); const insertId = r.lenencBigInt();
 */
export class PayloadReader {
  offset = 0;

  constructor(
    readonly payload: Buffer,
    /** Packet kind being decoded, carried into every ProtocolError. */
    readonly messageType: string,
  ) {}

  get remaining(): number {
    return this.payload.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.payload.length) {
      throw new ProtocolError(
        `${this.messageType}: ${what} needs ${n} bytes at offset ${this.offset}, packet has ${this.payload.length}`,
        this.messageType,
        this.offset,
      );
    }
  }

  int1(): number {
    this.need(1, 'int<1>');
    return this.payload[this.offset++]!;
  }

  int2(): number {
    this.need(2, 'int<2>');
    const v = this.payload.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }

  int3(): number {
    this.need(3, 'int<3>');
    const v = this.payload.readUIntLE(this.offset, 3);
    this.offset += 3;
    return v;
  }

  int4(): number {
    this.need(4, 'int<4>');
    const v = this.payload.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  int8(): bigint {
    this.need(8, 'int<8>');
    const v = this.payload.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }

  /**
   * Length-encoded integer used as a length or a count (string lengths,
   * column counts). The protocol allows up to 2^64-1, but such a length must
   * fit the packet, so a value above 2^53 is refused as the malformed length
   * it is. Counters that can really be that large (OK packet affected rows
   * and last insert id) are read with `lenencBigInt`.
   */
  lenencInt(): number {
    const start = this.offset;
    const v = this.lenencBigInt();
    if (v > MAX_SAFE) {
      throw new ProtocolError(
        `${this.messageType}: length-encoded length ${v} is larger than any packet`,
        this.messageType,
        start,
      );
    }
    return Number(v);
  }

  /** Length-encoded integer over the protocol's whole range, 0 to 2^64-1 (`0xFE` + 8 bytes). */
  lenencBigInt(): bigint {
    const first = this.int1();
    if (first < 0xfb) return BigInt(first);
    if (first === 0xfc) return BigInt(this.int2());
    if (first === 0xfd) return BigInt(this.int3());
    if (first === 0xfe) return this.int8();
    // 0xFB is NULL in a row and 0xFF starts an ERR packet: neither is an integer here.
    throw new ProtocolError(
      `${this.messageType}: invalid length-encoded integer prefix 0x${first.toString(16)}`,
      this.messageType,
      this.offset - 1,
    );
  }

  bytes(n: number): Buffer {
    this.need(n, 'string<fix>');
    const v = this.payload.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  skip(n: number): void {
    this.need(n, 'filler');
    this.offset += n;
  }

  lenencBytes(): Buffer {
    return this.bytes(this.lenencInt());
  }

  /** NUL-terminated string; the terminator must lie inside the packet. */
  nulBytes(): Buffer {
    const end = this.payload.indexOf(0, this.offset);
    if (end < 0) {
      throw new ProtocolError(`${this.messageType}: unterminated string`, this.messageType, this.offset);
    }
    const v = this.payload.subarray(this.offset, end);
    this.offset = end + 1;
    return v;
  }

  nulString(): string {
    return this.nulBytes().toString('utf8');
  }

  /** A string that runs to the end of the packet. */
  restBytes(): Buffer {
    const v = this.payload.subarray(this.offset);
    this.offset = this.payload.length;
    return v;
  }

  /** Like `nulBytes`, but a missing terminator at the very end is accepted (some servers omit it). */
  nulOrEofBytes(): Buffer {
    const end = this.payload.indexOf(0, this.offset);
    if (end < 0) return this.restBytes();
    const v = this.payload.subarray(this.offset, end);
    this.offset = end + 1;
    return v;
  }
}

/** Writes the length-encoded integer form of `n` (0 to 2^64-1). */
export function lenencIntBytes(n: number | bigint): Buffer {
  if (n < 0 || BigInt(n) > U64_MAX) throw new RangeError(`length-encoded integer out of range: ${n}`);
  if (n < 0xfb) return Buffer.from([Number(n)]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0xfc;
    b.writeUInt16LE(Number(n), 1);
    return b;
  }
  if (n < 0x1000000) {
    const b = Buffer.alloc(4);
    b[0] = 0xfd;
    b.writeUIntLE(Number(n), 1, 3);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}
