import { ProtocolError } from '../../../proxy/protocol-error.ts';

/**
 * Longest startup-phase message body the server accepts (PostgreSQL's
 * MAX_STARTUP_PACKET_LENGTH; the Int32 length itself comes on top). Nothing
 * bigger is gathered before the client has even said who it is.
 */
export const MAX_STARTUP_PACKET_LENGTH = 10_000;

/**
 * One whole protocol message, with its raw bytes kept so a message the proxy
 * does not change is forwarded exactly as it arrived.
 */
export interface Frame {
  /** Type byte, or -1 for an untyped startup-phase message. */
  readonly code: number;
  /** The whole message: type byte (if any), length and body. */
  readonly raw: Buffer;
  /** Offset of the body inside `raw` (5 for typed, 4 for startup messages). */
  readonly bodyOffset: number;
  /**
   * Where `raw` starts in the chunk given to `push` when it is a view of
   * that chunk; -1 (or absent) when it was joined from several chunks. The
   * relay forwards runs of untouched frames as one slice of the chunk.
   */
  readonly chunkOffset?: number;
}

/**
 * Where a streaming `PgFramer` sends the large messages its consumer does
 * not need whole (CopyData, Bind parameters, statements it only scans):
 * piece by piece as the bytes arrive, so one 20 MB message is neither
 * waited for nor copied on the event loop every session shares.
 */
export interface FrameStream {
  /**
   * A typed message of at least `streamFromBytes` bytes whose first
   * `min(total, 5 + STREAM_HEAD_BYTES)` bytes (`head`: type byte, length,
   * start of the body; valid only during the call) are in. True: it is
   * delivered through `piece`; false: as a whole frame, as any other.
   */
  large(code: number, head: Buffer, total: number): boolean;
  /** The next bytes of a streamed message, in order (the first piece starts with the type byte); `last` on its final piece. */
  piece(bytes: Buffer, last: boolean): void;
}

/** Body bytes a stream's `large` sees before it decides. */
export const STREAM_HEAD_BYTES = 16;

/**
 * Turns a stream of chunks into whole messages. Frames inside one chunk are
 * zero-copy subarrays of it; a message split across chunks is gathered into
 * a list and joined once, so a 10 MB row costs one copy, not one per chunk.
 *
 * Starts in startup mode (untyped messages: Int32 length first) when
 * `startup` is true; call `typed()` once the startup phase is over.
 */
export class PgFramer {
  private hasType: boolean;
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** Total length of the message being gathered, once its header is known; else -1. */
  private expected = -1;
  /** While `onFrame` runs: bytes already received that follow the frame being delivered. */
  private following = 0;
  /** Bytes of the message being streamed still to come; 0 when none is. */
  private streamRemaining = 0;

  constructor(
    private readonly maxMessageBytes: number,
    startup: boolean,
    /** With a FrameStream, typed messages of this many bytes or more are offered to its `large`. */
    private readonly streamFromBytes: number = Number.POSITIVE_INFINITY,
  ) {
    this.hasType = !startup;
  }

  /** True between messages: nothing partial is pending or being streamed. */
  get atBoundary(): boolean {
    return this.partsLength === 0 && this.streamRemaining === 0;
  }

  typed(): void {
    this.hasType = true;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.partsLength;
  }

  /**
   * Inside `onFrame`: how many bytes the client had already sent behind the
   * frame being delivered (in the same chunk or gathered before it). An
   * SSLRequest answered 'S' must have none: they arrived unencrypted.
   */
  get bytesAfterFrame(): number {
    return this.following;
  }

  /**
   * Feeds one chunk; calls `onFrame` for every message it completes. The
   * callback may switch the framer to typed mode for the frames after it.
   * With `stream`, large messages it takes go to it in pieces instead.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => void, stream?: FrameStream): void {
    let data = chunk;
    /** Where `data` starts in `chunk`; -1 when `data` was joined from earlier chunks. */
    let base = 0;
    let offset = 0;
    if (this.streamRemaining > 0) {
      const take = Math.min(this.streamRemaining, chunk.length);
      this.streamRemaining -= take;
      // Without a stream (the consumer stopped relaying), the rest of the message is dropped.
      stream?.piece(chunk.subarray(0, take), this.streamRemaining === 0);
      if (take === chunk.length) return;
      offset = take;
    } else if (this.partsLength > 0) {
      if (this.expected < 0) {
        // Header (or a large message's head, not yet offered to the stream) incomplete: join the few bytes.
        data = Buffer.concat([...this.parts, chunk]);
        base = -1;
        this.parts = [];
        this.partsLength = 0;
      } else {
        const need = this.expected - this.partsLength;
        if (chunk.length < need) {
          this.parts.push(chunk);
          this.partsLength += chunk.length;
          return;
        }
        this.parts.push(chunk.subarray(0, need));
        const raw = Buffer.concat(this.parts, this.expected);
        this.parts = [];
        this.partsLength = 0;
        this.expected = -1;
        this.deliver(this.frameOf(raw, -1), chunk.length - need, onFrame);
        data = chunk.subarray(need);
        base = need;
      }
    }
    while (offset < data.length) {
      const headerLength = this.hasType ? 5 : 4;
      if (data.length - offset < headerLength) break;
      const lengthField = data.readInt32BE(offset + headerLength - 4);
      const minimum = this.hasType ? 4 : 8;
      if (lengthField < minimum) {
        throw new ProtocolError(
          `message length ${lengthField} is below the minimum of ${minimum}`,
          this.describe(data, offset),
          offset,
        );
      }
      const total = lengthField + (this.hasType ? 1 : 0);
      if (!this.hasType && lengthField - 4 > MAX_STARTUP_PACKET_LENGTH) {
        throw new ProtocolError(
          `startup packet of ${lengthField - 4} bytes exceeds the limit of ${MAX_STARTUP_PACKET_LENGTH} bytes`,
          'startup',
          offset,
        );
      }
      if (total > this.maxMessageBytes) {
        throw new ProtocolError(
          `message of ${total} bytes exceeds the limit of ${this.maxMessageBytes} bytes`,
          this.describe(data, offset),
          offset,
        );
      }
      if (stream && this.hasType && total >= this.streamFromBytes) {
        const headEnd = offset + Math.min(total, 5 + STREAM_HEAD_BYTES);
        // Left unset `expected`: the next chunk is joined to these few bytes and they are looked at again.
        if (headEnd > data.length) break;
        if (stream.large(data[offset]!, data.subarray(offset, headEnd), total)) {
          const stop = Math.min(offset + total, data.length);
          this.streamRemaining = offset + total - stop;
          stream.piece(data.subarray(offset, stop), this.streamRemaining === 0);
          if (this.streamRemaining > 0) return;
          offset = stop;
          continue;
        }
      }
      if (data.length - offset < total) {
        this.expected = total;
        break;
      }
      this.deliver(
        this.frameOf(data.subarray(offset, offset + total), base < 0 ? -1 : base + offset),
        data.length - offset - total,
        onFrame,
      );
      offset += total;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.parts.push(rest);
      this.partsLength += rest.length;
    }
  }

  private deliver(frame: Frame, following: number, onFrame: (frame: Frame) => void): void {
    this.following = following;
    try {
      onFrame(frame);
    } finally {
      this.following = 0;
    }
  }

  private frameOf(raw: Buffer, chunkOffset: number): Frame {
    return this.hasType
      ? { code: raw[0]!, raw, bodyOffset: 5, chunkOffset }
      : { code: -1, raw, bodyOffset: 4, chunkOffset };
  }

  private describe(data: Buffer, offset: number): string {
    return this.hasType ? String.fromCharCode(data[offset]!) : 'startup';
  }
}
