import { ProtocolError } from '../../../proxy/protocol-error.ts';

/**
 * Reads fields of one message body. Every read is checked against the end
 * of the frame, so a hostile length or a missing terminator is a
 * ProtocolError, never an out-of-range read.
 */
export class BoundedReader {
  private offset: number;

  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly messageType: string,
    private readonly end: number = buf.length,
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.end) {
      throw new ProtocolError(`${what} runs past the end of the message`, this.messageType, this.offset);
    }
  }

  int16(): number {
    this.need(2, 'Int16');
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  /** An Int16 the protocol reads as unsigned (parameter and format counts go up to 65535). */
  uint16(): number {
    this.need(2, 'Int16');
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'Int32');
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  byte(): number {
    this.need(1, 'Byte1');
    return this.buf[this.offset++]!;
  }

  /** A NUL-terminated UTF-8 string; the terminator must lie inside the frame. */
  cstring(): string {
    const nul = this.buf.indexOf(0, this.offset);
    if (nul < 0 || nul >= this.end) {
      throw new ProtocolError(
        'string is not NUL-terminated inside the message',
        this.messageType,
        this.offset,
      );
    }
    const s = this.buf.toString('utf8', this.offset, nul);
    this.offset = nul + 1;
    return s;
  }

  bytes(n: number): Buffer {
    this.need(n, `${n}-byte field`);
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }

  /** Fails unless the whole body was consumed: trailing garbage is malformed too. */
  done(): void {
    if (this.offset !== this.end) {
      throw new ProtocolError(
        `${this.end - this.offset} unexpected trailing bytes`,
        this.messageType,
        this.offset,
      );
    }
  }
}
