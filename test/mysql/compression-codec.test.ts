/**
 * The compressed-protocol codec: round trips, packets split at every byte
 * offset, frames truncated at every offset, lengths that lie, zlib data
 * that is not, and a decompression bomb. Every failure is a ProtocolError,
 * never a crash, an out-of-range read or an unbounded inflate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import {
  COMPRESSED_HEADER_LENGTH,
  CompressedFramer,
  CompressedLink,
  decodeCompressedFrame,
  encodeCompressedFrame,
  MAX_FRAME_PAYLOAD,
  MIN_COMPRESS_LENGTH,
} from '../../src/dialects/mysql/compression.ts';
import { encodePacket } from '../../src/dialects/mysql/messages.ts';
import { ProtocolError } from '../../src/proxy/protocol-error.ts';

/** A compressed packet with the header fields given (lengths may lie). */
function frame(body: Buffer, sequenceId: number, inflatedLength: number, bodyLength = body.length): Buffer {
  const header = Buffer.alloc(COMPRESSED_HEADER_LENGTH);
  header.writeUIntLE(bodyLength, 0, 3);
  header[3] = sequenceId;
  header.writeUIntLE(inflatedLength, 4, 3);
  return Buffer.concat([header, body]);
}

const text = Buffer.from('SELECT name, price FROM items WHERE id = 1 OR name = "pear" '.repeat(20));

describe('mysql compressed protocol codec', () => {
  it('round trips: deflated when it shrinks, as it is when short or incompressible', () => {
    const deflated = encodeCompressedFrame(text, 3);
    assert.ok(deflated.length < text.length, 'repetitive text is deflated');
    assert.equal(deflated.readUIntLE(4, 3), text.length, 'header carries the inflated length');
    assert.equal(deflated[3], 3);
    assert.deepEqual(decodeCompressedFrame(deflated), { sequenceId: 3, payload: text });

    const short = Buffer.from('SELECT 1'.padEnd(MIN_COMPRESS_LENGTH - 1, ' '));
    const plain = encodeCompressedFrame(short, 0);
    assert.equal(plain.readUIntLE(4, 3), 0, 'a payload under 50 bytes goes uncompressed');
    assert.deepEqual(plain.subarray(COMPRESSED_HEADER_LENGTH), short);
    assert.deepEqual(decodeCompressedFrame(plain).payload, short);

    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + (i >> 3) * 104729) & 0xff));
    const random = deflateSync(noise); // already deflated: cannot shrink again
    const sent = encodeCompressedFrame(random, 9);
    assert.equal(sent.readUIntLE(4, 3), 0, 'data that does not shrink goes as it is');
    assert.deepEqual(decodeCompressedFrame(sent).payload, random);
  });

  it('a stream of compressed packets split at every byte offset gives the same bytes', () => {
    const link = new CompressedLink();
    const packets = Buffer.concat([
      encodePacket(0, Buffer.concat([Buffer.from([0x03]), text])),
      encodePacket(0, Buffer.from([0x0e])),
      encodePacket(0, Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT 2')])),
    ]);
    // Packets deliberately cut across compressed packets, as servers flush them.
    const wire = Buffer.concat([link.write(packets.subarray(0, 700)), link.write(packets.subarray(700))]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const reader = new CompressedLink();
      const frames = [...reader.read(wire.subarray(0, cut)), ...reader.read(wire.subarray(cut))];
      assert.deepEqual(
        frames.map((f) => f.sequenceId),
        [0, 1],
      );
      assert.deepEqual(Buffer.concat(frames.map((f) => f.payload)), packets, `cut at ${cut}`);
      assert.equal(reader.buffered, 0);
    }
  });

  it('a frame truncated at every offset (its lengths fixed up or not) is a ProtocolError or still pending', () => {
    const whole = encodeCompressedFrame(text, 0);
    const body = whole.subarray(COMPRESSED_HEADER_LENGTH);
    for (let n = 0; n < whole.length; n++) {
      // Cut short on the wire: nothing comes out, nothing is read past what arrived.
      const framer = new CompressedFramer();
      assert.deepEqual(framer.push(whole.subarray(0, n)), []);
      assert.equal(framer.buffered, n);
      // Passed to the decoder as if whole.
      assert.throws(() => decodeCompressedFrame(whole.subarray(0, n)), ProtocolError, `raw cut at ${n}`);
    }
    for (let n = 0; n < body.length; n++) {
      // The body length says the truncated length: the zlib data is cut short.
      const cut = frame(body.subarray(0, n), 0, text.length);
      assert.throws(() => new CompressedLink().read(cut), ProtocolError, `body cut at ${n}`);
    }
  });

  it('lengths that lie are refused', () => {
    const body = deflateSync(text);
    // Inflates to more than the header says.
    assert.throws(() => decodeCompressedFrame(frame(body, 0, text.length - 1)), ProtocolError);
    // Inflates to less than the header says.
    assert.throws(() => decodeCompressedFrame(frame(body, 0, text.length + 1)), /inflates to/);
    // Body length field disagrees with the bytes carried.
    assert.throws(
      () => decodeCompressedFrame(frame(body, 0, text.length, body.length + 1)),
      /declares a body/,
    );
    // Not zlib data at all.
    assert.throws(
      () => decodeCompressedFrame(frame(Buffer.from('not zlib data'), 0, 100)),
      /does not inflate/,
    );
    // Raw deflate without the zlib header (what compress() never writes).
    const rawDeflate = deflateSync(text, { level: 6 }).subarray(2);
    assert.throws(() => decodeCompressedFrame(frame(rawDeflate, 0, text.length)), ProtocolError);
  });

  it('a decompression bomb stops at the declared length, and a declared length over the limit is refused unread', () => {
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 100_000);
    // Declares 1 KiB but would inflate to 64 MiB: the inflater stops at 1 KiB and the frame is refused.
    const started = process.hrtime.bigint();
    assert.throws(() => decodeCompressedFrame(frame(bomb, 0, 1024)), ProtocolError);
    assert.ok(process.hrtime.bigint() - started < 500_000_000n, 'refused without inflating it all');
    // Declares more than the limit: refused from the header, as soon as it arrives.
    const framer = new CompressedFramer(1024 * 1024);
    assert.throws(
      () => framer.push(frame(bomb, 0, 0xffffff).subarray(0, COMPRESSED_HEADER_LENGTH)),
      /exceeds the limit/,
    );
    assert.throws(
      () => decodeCompressedFrame(frame(bomb, 0, 2 * 1024 * 1024), 1024 * 1024),
      /exceeds the limit/,
    );
    // A plain (uncompressed) body over the limit too.
    const plain = new CompressedFramer(16);
    assert.throws(() => plain.push(frame(Buffer.alloc(17), 0, 0)), /exceeds the limit/);
  });

  it('numbers outgoing packets from nextSequenceId, wrapping at 256, and splits large writes', () => {
    const link = new CompressedLink();
    link.nextSequenceId = 255;
    const big = Buffer.alloc(MAX_FRAME_PAYLOAD * 2 + 10, 'abc');
    const wire = link.write(big);
    const frames = new CompressedLink().read(wire);
    assert.deepEqual(
      frames.map((f) => f.sequenceId),
      [255, 0, 1],
    );
    assert.deepEqual(Buffer.concat(frames.map((f) => f.payload)), big);
    assert.equal(link.nextSequenceId, 2);
    // An empty compressed packet (the mariadb connector sends one after a 16 MiB one) carries nothing.
    assert.deepEqual(decodeCompressedFrame(frame(Buffer.alloc(0), 4, 0)), {
      sequenceId: 4,
      payload: Buffer.alloc(0),
    });
  });
});
