/**
 * The MySQL codec on its own: framing at every split offset, 16 MB split
 * payloads, bounded decoders that only ever throw ProtocolError, the
 * response tracker over whole response streams, captured MariaDB and
 * constructed MySQL 8 handshakes.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptPassword, encryptPassword, xorWithScramble } from '../../src/dialects/mysql/auth.ts';
import {
  type Packet,
  PacketFramer,
  PacketScanner,
  STREAM_HEAD_BYTES,
} from '../../src/dialects/mysql/framer.ts';
import { matchKill } from '../../src/dialects/mysql/kill.ts';
import {
  decodeAuthSwitchRequest,
  decodeChangeUser,
  decodeEof,
  decodeErr,
  decodeHandshakeResponse,
  decodeHandshakeV10,
  decodeOk,
  decodeProcessKill,
  decodeStmtPrepareOk,
  encodeErr,
  encodeHandshakeV10,
  encodeOk,
  encodePacket,
  encodeTextCommandPacket,
  patchHandshakeResponseCapabilities,
  terminatorStatusAt,
} from '../../src/dialects/mysql/messages.ts';
import { Capability, Command, MAX_PACKET_PAYLOAD, ServerStatus } from '../../src/dialects/mysql/protocol.ts';
import { lenencIntBytes, PayloadReader } from '../../src/dialects/mysql/reader.ts';
import { Outcome, ResponseKind, ResponseTracker } from '../../src/dialects/mysql/response.ts';
import { ProtocolError } from '../../src/proxy/protocol-error.ts';

/** A greeting captured from MariaDB 10.11 on this machine. */
const MARIADB_GREETING = Buffer.from(
  '640000000a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100130000002a5966722c22655700fef72d0200ff81150000000000001d00000065753c6a2267623521436c79006d7973716c5f6e61746976655f70617373776f726400',
  'hex',
);

/** A MySQL 8.0 greeting built to the documented layout: caching_sha2_password, 20-byte scramble. */
function mysql8Greeting(): Buffer {
  const scramble = Buffer.from('0123456789abcdefghij');
  const caps = 0xdfffffff & ~Capability.Ssl;
  return encodePacket(
    0,
    encodeHandshakeV10({
      protocolVersion: 10,
      serverVersion: '8.0.36',
      connectionId: 77,
      authPluginData: scramble,
      capabilities: caps >>> 0,
      mariadbCapabilities: 0,
      characterSet: 255,
      statusFlags: 2,
      authPluginName: 'caching_sha2_password',
    }),
  );
}

function column(name: string): Buffer {
  const parts = ['def', 'db', 't', 't', name, name].map((s) =>
    Buffer.concat([lenencIntBytes(s.length), Buffer.from(s)]),
  );
  return Buffer.concat([...parts, Buffer.from([0x0c, 0x21, 0, 0x0b, 0, 0, 0, 0x03, 0, 0, 0, 0, 0])]);
}

const EOF = (status = ServerStatus.Autocommit) => {
  const b = Buffer.from([0xfe, 0, 0, 0, 0]);
  b.writeUInt16LE(status, 3);
  return b;
};
const OK_EOF = (status = ServerStatus.Autocommit) => {
  const ok = encodeOk({ statusFlags: status });
  ok[0] = 0xfe;
  return ok;
};
const textRow = (...values: string[]) =>
  Buffer.concat(values.map((v) => Buffer.concat([lenencIntBytes(v.length), Buffer.from(v)])));

/** Frames payloads with consecutive sequence ids from 1 (a response). */
function stream(payloads: Buffer[], firstSeq = 1): Buffer {
  return Buffer.concat(payloads.map((p, i) => encodePacket(firstSeq + i, p)));
}

function frameAll(bytes: Buffer, cuts: number[]): Packet[] {
  const framer = new PacketFramer();
  const out: Packet[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...framer.push(bytes.subarray(from, cut)));
    from = cut;
  }
  assert.equal(framer.buffered, 0);
  return out;
}

function scanAll(
  bytes: Buffer,
  cuts: number[],
): Array<{ head: string; length: number; seq: number; cont: boolean }> {
  const scanner = new PacketScanner(8);
  const out: Array<{ head: string; length: number; seq: number; cont: boolean }> = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const chunk = bytes.subarray(from, cut);
    scanner.feed(chunk, (buf, headStart, headLength, length, seq, cont, end) => {
      assert.ok(end >= 0 && end <= chunk.length);
      out.push({ head: buf.subarray(headStart, headStart + headLength).toString('hex'), length, seq, cont });
    });
    from = cut;
  }
  assert.ok(scanner.atBoundary);
  return out;
}

/** Asserts that decoding every strict prefix of `payload` throws ProtocolError (never RangeError). */
/**
 * Every prefix of `payload` must throw a ProtocolError, except the lengths
 * `complete` accepts: shorter messages the protocol allows (optional
 * trailing fields, a last string that runs to the end of the packet).
 */
function assertTruncationsThrow(
  decode: (b: Buffer) => unknown,
  payload: Buffer,
  complete: (length: number) => boolean = () => false,
): void {
  let threw = 0;
  for (let n = 0; n < payload.length; n++) {
    if (complete(n)) {
      assert.doesNotThrow(() => decode(payload.subarray(0, n)), `prefix of ${n} bytes is a complete message`);
      continue;
    }
    assert.throws(
      () => decode(payload.subarray(0, n)),
      (err) => err instanceof ProtocolError && typeof err.offset === 'number',
      `prefix of ${n} of ${payload.length} bytes must throw a ProtocolError`,
    );
    threw++;
  }
  assert.ok(threw > 0, 'at least one truncation was checked');
}

describe('mysql packet framer', () => {
  const sample = Buffer.concat([
    MARIADB_GREETING,
    stream([
      Buffer.from([0x01]),
      column('a'),
      column('b'),
      EOF(),
      textRow('1', 'x'),
      textRow('22', ''),
      EOF(),
    ]),
    encodePacket(0, Buffer.alloc(0)),
  ]);

  it('yields the same packets and raw bytes at every split offset', () => {
    const whole = frameAll(sample, []);
    assert.equal(whole.length, 9);
    assert.deepEqual(Buffer.concat(whole.map((p) => p.raw)), sample);
    for (let cut = 1; cut < sample.length; cut++) {
      const split = frameAll(sample, [cut]);
      assert.deepEqual(
        split.map((p) => [p.sequenceId, p.payload.toString('hex')]),
        whole.map((p) => [p.sequenceId, p.payload.toString('hex')]),
        `cut at ${cut}`,
      );
    }
  });

  it('copes with one byte at a time', () => {
    const cuts = Array.from({ length: sample.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(Buffer.concat(frameAll(sample, cuts).map((p) => p.raw)), sample);
  });

  it('marks the packets of a split payload of 16 MB and more', () => {
    const payload = randomBytes(MAX_PACKET_PAYLOAD + 100);
    const bytes = Buffer.concat([encodePacket(0, payload), encodePacket(0, Buffer.from([0x0e]))]);
    for (const cuts of [
      [],
      [3],
      [4],
      [5],
      [MAX_PACKET_PAYLOAD + 3],
      [MAX_PACKET_PAYLOAD + 4],
      [MAX_PACKET_PAYLOAD + 9],
      [1000, 2000000],
    ]) {
      const packets = frameAll(bytes, cuts);
      assert.deepEqual(
        packets.map((p) => [p.sequenceId, p.payload.length, p.continues, p.continuation]),
        [
          [0, MAX_PACKET_PAYLOAD, true, false],
          [1, 100, false, true],
          [0, 1, false, false],
        ],
      );
      assert.deepEqual(Buffer.concat([packets[0]!.payload, packets[1]!.payload]), payload);
    }
  });

  it('ends an exact multiple of 0xFFFFFF with an empty packet', () => {
    const payload = Buffer.alloc(MAX_PACKET_PAYLOAD, 7);
    const packets = frameAll(encodePacket(3, payload), []);
    assert.deepEqual(
      packets.map((p) => [p.sequenceId, p.payload.length, p.continues, p.continuation]),
      [
        [3, MAX_PACKET_PAYLOAD, true, false],
        [4, 0, false, true],
      ],
    );
  });

  it('refuses a message over the limit as soon as the header says so', () => {
    const framer = new PacketFramer(1000);
    assert.throws(
      () => framer.push(Buffer.from([0xe9, 0x03, 0x00, 0x00, 0x03])),
      (err) => err instanceof ProtocolError && /exceeds the limit of 1000/.test(err.message),
    );
    // The limit counts the whole split message, not one physical packet.
    const big = new PacketFramer(MAX_PACKET_PAYLOAD + 10);
    assert.throws(() => big.push(encodePacket(0, Buffer.alloc(MAX_PACKET_PAYLOAD + 11))), ProtocolError);
  });
});

/** One packet as a streaming framer delivered it: whole, or joined back from its pieces. */
interface Delivered {
  seq: number;
  payload: string;
  streamed: boolean;
  continuation: boolean;
}

/**
 * Feeds `bytes` cut at `cuts` to a framer that streams packets from
 * `streamFrom` payload bytes up whose first payload byte is odd; checks
 * every piece against the packet it belongs to and returns the packets.
 */
function streamAll(bytes: Buffer, cuts: number[], streamFrom: number, maxMessage = Infinity): Delivered[] {
  const framer = new PacketFramer(maxMessage, streamFrom);
  const out: Delivered[] = [];
  const raw: Buffer[] = [];
  let open: { seq: number; length: number; parts: Buffer[]; raw: number; continuation: boolean } | null =
    null;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    framer.feed(bytes.subarray(from, cut), {
      packet(p) {
        assert.equal(open, null, 'no whole packet inside a streamed one');
        raw.push(p.raw);
        out.push({
          seq: p.sequenceId,
          payload: p.payload.toString('hex'),
          streamed: false,
          continuation: p.continuation,
        });
      },
      large(head, length, seq, continuation) {
        assert.equal(open, null);
        assert.ok(length >= streamFrom);
        assert.equal(head.length, Math.min(length, STREAM_HEAD_BYTES));
        if (length === 0 || head[0]! % 2 === 0) return false;
        open = { seq, length, parts: [], raw: 0, continuation };
        return true;
      },
      piece(pieceRaw, payload, last) {
        assert.ok(open !== null, 'a piece belongs to a packet large() took');
        assert.ok(pieceRaw.length > 0);
        // The first piece carries the header; the payload is the rest of it.
        const header = open.raw === 0 ? 4 : 0;
        assert.deepEqual(payload, pieceRaw.subarray(header));
        open.raw += pieceRaw.length;
        open.parts.push(payload);
        raw.push(pieceRaw);
        const payloadSoFar = open.raw - 4;
        assert.equal(last, payloadSoFar === open.length, 'last exactly on the final byte');
        if (last) {
          out.push({
            seq: open.seq,
            payload: Buffer.concat(open.parts).toString('hex'),
            streamed: true,
            continuation: open.continuation,
          });
          open = null;
        }
      },
    });
    from = cut;
  }
  assert.equal(open, null);
  assert.ok(framer.atBoundary);
  assert.deepEqual(Buffer.concat(raw), bytes, 'every byte relayed once, in order');
  return out;
}

describe('mysql packet framer, streaming large packets', () => {
  const odd = (n: number, fill: number) => Buffer.concat([Buffer.from([0x17]), Buffer.alloc(n - 1, fill)]);
  const even = (n: number, fill: number) => Buffer.concat([Buffer.from([0x16]), Buffer.alloc(n - 1, fill)]);
  const sample = Buffer.concat([
    encodePacket(0, Buffer.from([0x0e])),
    encodePacket(0, odd(40, 1)),
    encodePacket(0, even(40, 2)),
    encodePacket(0, odd(20, 3)),
    encodePacket(1, Buffer.alloc(0)),
    encodePacket(2, odd(19, 4)),
    encodePacket(0, odd(25, 5)),
  ]);
  const expected = [
    { seq: 0, payload: '0e', streamed: false, continuation: false },
    { seq: 0, payload: odd(40, 1).toString('hex'), streamed: true, continuation: false },
    { seq: 0, payload: even(40, 2).toString('hex'), streamed: false, continuation: false },
    { seq: 0, payload: odd(20, 3).toString('hex'), streamed: true, continuation: false },
    { seq: 1, payload: '', streamed: false, continuation: false },
    { seq: 2, payload: odd(19, 4).toString('hex'), streamed: false, continuation: false },
    { seq: 0, payload: odd(25, 5).toString('hex'), streamed: true, continuation: false },
  ];

  it('streams the packets the sink takes and frames the others whole, at every split offset', () => {
    assert.deepEqual(streamAll(sample, [], 20), expected);
    for (let cut = 1; cut < sample.length; cut++) {
      assert.deepEqual(streamAll(sample, [cut], 20), expected, `cut at ${cut}`);
    }
  });

  it('at every pair of split offsets and one byte at a time', () => {
    for (let a = 1; a < sample.length; a += 3) {
      for (let b = a + 1; b < sample.length; b += 2) {
        assert.deepEqual(streamAll(sample, [a, b], 20), expected, `cuts at ${a}, ${b}`);
      }
    }
    const cuts = Array.from({ length: sample.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(streamAll(sample, cuts, 20), expected);
  });

  it('streams both packets of a 16 MB+ message and follows the split', () => {
    const payload = Buffer.concat([Buffer.from([0x17]), randomBytes(MAX_PACKET_PAYLOAD + 99)]);
    const tail = payload.subarray(MAX_PACKET_PAYLOAD);
    const bytes = Buffer.concat([encodePacket(0, payload), encodePacket(0, Buffer.from([0x0e]))]);
    for (const cuts of [[], [3], [4 + STREAM_HEAD_BYTES - 1], [MAX_PACKET_PAYLOAD + 5], [65536, 131072]]) {
      const packets = streamAll(bytes, cuts, 50);
      assert.deepEqual(
        packets.map((p) => [p.seq, p.payload.length / 2, p.streamed, p.continuation]),
        [
          [0, MAX_PACKET_PAYLOAD, true, false],
          // The 100-byte tail starts with a random byte: whole or streamed as the sink likes, but a continuation.
          [1, 100, tail[0]! % 2 === 1, true],
          [0, 1, false, false],
        ],
      );
    }
  });

  it('refuses a streamed message over the limit as soon as its header is in', () => {
    const framer = new PacketFramer(1000, 10);
    let asked = false;
    assert.throws(
      () =>
        framer.feed(Buffer.concat([Buffer.from([0xe9, 0x03, 0x00, 0x00]), Buffer.alloc(40, 1)]), {
          packet: () => {},
          large: () => {
            asked = true;
            return true;
          },
          piece: () => {},
        }),
      (err) => err instanceof ProtocolError && /exceeds the limit of 1000/.test(err.message),
    );
    assert.equal(asked, false);
  });
});

describe('mysql text command packets', () => {
  it('frame the command byte and the UTF-8 text as one packet, or split at 16 MB', () => {
    for (const sql of [
      '',
      'SELECT 1',
      "SELECT 'héllo €𝄞' AS `naïve`",
      'z'.repeat(MAX_PACKET_PAYLOAD - 2),
      'x'.repeat(MAX_PACKET_PAYLOAD - 1),
      'y'.repeat(MAX_PACKET_PAYLOAD + 5),
    ]) {
      const text = Buffer.from(sql, 'utf8');
      const expected = encodePacket(0, Buffer.concat([Buffer.from([Command.Query]), text]));
      const packet = encodeTextCommandPacket(Command.Query, sql);
      assert.ok(packet.equals(expected), `${text.length} bytes`);
    }
    const packet = encodeTextCommandPacket(Command.StmtPrepare, 'SELECT ?');
    assert.deepEqual([...packet.subarray(0, 5)], [9, 0, 0, 0, Command.StmtPrepare]);
  });
});

describe('mysql packet scanner', () => {
  const payloads = [
    Buffer.from([0x02]),
    column('a'),
    column('bb'),
    OK_EOF(ServerStatus.MoreResultsExist),
    Buffer.alloc(0),
    textRow('abc', 'de'),
  ];
  const bytes = stream(payloads);
  const expected = payloads.map((p, i) => ({
    head: p.subarray(0, 8).toString('hex'),
    length: p.length,
    seq: i + 1,
    cont: false,
  }));

  it('reports every packet with its first bytes at every split offset', () => {
    assert.deepEqual(scanAll(bytes, []), expected);
    for (let cut = 1; cut < bytes.length; cut++)
      assert.deepEqual(scanAll(bytes, [cut]), expected, `cut at ${cut}`);
    for (let a = 1; a < bytes.length; a += 7) {
      for (let b = a; b < bytes.length; b += 5) assert.deepEqual(scanAll(bytes, [a, b]), expected);
    }
  });

  it('flags the continuation of a split payload', () => {
    const big = Buffer.concat([
      encodePacket(1, Buffer.alloc(MAX_PACKET_PAYLOAD + 2, 0xfe)),
      encodePacket(3, EOF()),
    ]);
    const seen = scanAll(big, [10, MAX_PACKET_PAYLOAD + 5]);
    assert.deepEqual(
      seen.map((s) => [s.length, s.seq, s.cont]),
      [
        [MAX_PACKET_PAYLOAD, 1, false],
        [2, 2, true],
        [5, 3, false],
      ],
    );
  });
});

describe('mysql terminator status read in place', () => {
  it('reads OK and EOF status flags where the packet lies, with any length-encoded counts', () => {
    const ok = encodeOk({ affectedRows: 70000n, lastInsertId: 2n ** 40n, statusFlags: 0x4003 });
    const eof = Buffer.from([0xfe, 0, 0, 0x22, 0x00]);
    const chunk = Buffer.concat([Buffer.from([9, 9]), ok, eof, Buffer.from([0xff, 0xff])]);
    assert.equal(terminatorStatusAt(chunk, 2, 2 + ok.length), 0x4003);
    assert.equal(terminatorStatusAt(chunk, 2 + ok.length, 2 + ok.length + eof.length), 0x22);
  });

  it('never reads past the head into the next packet: a truncated OK is refused', () => {
    // An OK cut short after its counts; the bytes behind it (another packet) would look like status flags.
    const chunk = Buffer.from([0x00, 0x01, 0x02, 0x03, 0x00, 0x11, 0x22]);
    assert.throws(() => terminatorStatusAt(chunk, 0, 3), ProtocolError);
    assert.throws(() => terminatorStatusAt(Buffer.from([0x00, 0xfb, 0, 0, 0, 0]), 0, 6), ProtocolError);
    assert.throws(() => terminatorStatusAt(Buffer.from([0xfe, 0, 0, 7, 7]), 0, 3), ProtocolError);
  });
});

describe('mysql bounded decoders', () => {
  const greeting = MARIADB_GREETING.subarray(4);
  const response = (() => {
    const attrs = Buffer.concat([textRow('_client_name', 'test', 'shiftgate_version', 'v2')]);
    return Buffer.concat([
      Buffer.from([0x8d, 0xa2, 0x3a, 0x00]), // CLIENT_PROTOCOL_41 | PLUGIN_AUTH | CONNECT_ATTRS | CONNECT_WITH_DB | SECURE_CONNECTION ...
      Buffer.from([0, 0, 0, 1, 33]),
      Buffer.alloc(23),
      Buffer.from('app\0'),
      Buffer.from([20]),
      Buffer.alloc(20, 9),
      Buffer.from('appdb\0mysql_native_password\0'),
      lenencIntBytes(attrs.length),
      attrs,
    ]);
  })();

  it('decode captured and constructed packets', () => {
    const g = decodeHandshakeV10(greeting);
    assert.equal(g.serverVersion, '5.5.5-10.11.19-MariaDB-0+deb12u1');
    assert.equal(g.connectionId, 19);
    assert.equal(g.authPluginData.length, 20);
    assert.equal(g.authPluginName, 'mysql_native_password');
    assert.equal(g.capabilities & Capability.LongPassword, 0, 'MariaDB clears CLIENT_MYSQL');
    assert.equal(g.mariadbCapabilities, 0x1d);

    const m8 = decodeHandshakeV10(mysql8Greeting().subarray(4));
    assert.equal(m8.authPluginName, 'caching_sha2_password');
    assert.equal(m8.authPluginData.toString(), '0123456789abcdefghij');
    assert.equal(m8.mariadbCapabilities, 0);

    const r = decodeHandshakeResponse(response);
    assert.equal(r.user, 'app');
    assert.equal(r.database, 'appdb');
    assert.equal(r.authResponse.length, 20);
    assert.equal(r.authPluginName, 'mysql_native_password');
    assert.equal(r.attributes.get('shiftgate_version'), 'v2');
    assert.equal(r.sslRequest, false);
    const sslRequest = Buffer.from(response.subarray(0, 32));
    sslRequest.writeUInt32LE((r.capabilities | Capability.Ssl) >>> 0, 0);
    assert.equal(decodeHandshakeResponse(sslRequest).sslRequest, true);
  });

  it('re-encode a greeting with only the fields the proxy changes', () => {
    const g = decodeHandshakeV10(greeting);
    const again = decodeHandshakeV10(
      encodeHandshakeV10({ ...g, connectionId: 5, capabilities: g.capabilities & ~Capability.Compress }),
    );
    assert.deepEqual(again, {
      ...g,
      connectionId: 5,
      capabilities: (g.capabilities & ~Capability.Compress) >>> 0,
    });
  });

  it('patch only the capability words of a handshake response', () => {
    const patched = patchHandshakeResponseCapabilities(response, 0x000aa200, 0x4);
    assert.equal(patched.readUInt32LE(0), 0x000aa200);
    assert.equal(patched.readUInt32LE(28), 0x4);
    assert.deepEqual(patched.subarray(4, 28), response.subarray(4, 28));
    assert.deepEqual(patched.subarray(32), response.subarray(32));
  });

  it('decode OK, EOF, ERR and prepare OK', () => {
    assert.deepEqual(
      decodeOk(encodeOk({ affectedRows: 300, lastInsertId: 70000, statusFlags: 3, warnings: 1 })),
      {
        affectedRows: 300n,
        lastInsertId: 70000n,
        statusFlags: 3,
        warnings: 1,
      },
    );
    assert.deepEqual(decodeEof(EOF(ServerStatus.InTrans)), {
      warnings: 0,
      statusFlags: ServerStatus.InTrans,
    });
    assert.deepEqual(decodeErr(encodeErr(1045, '28000', "Access denied for user 'x'")), {
      code: 1045,
      sqlState: '28000',
      message: "Access denied for user 'x'",
    });
    const prep = Buffer.from([0, 7, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0]);
    assert.deepEqual(decodeStmtPrepareOk(prep), { statementId: 7, numColumns: 2, numParams: 1, warnings: 0 });
  });

  it('read OK counters over the whole 64-bit range of a length-encoded integer', () => {
    for (const n of [
      0n,
      250n,
      251n,
      0xffffn,
      0x10000n,
      0xffffffn,
      0x1000000n,
      2n ** 53n,
      2n ** 53n + 1n,
      2n ** 64n - 1n,
    ]) {
      const ok = decodeOk(encodeOk({ affectedRows: n, lastInsertId: n, statusFlags: ServerStatus.InTrans }));
      assert.equal(ok.affectedRows, n);
      assert.equal(ok.lastInsertId, n);
      assert.equal(ok.statusFlags, ServerStatus.InTrans);
    }
    // As MariaDB sends an insert id of 2^53 and of a signed -5: 0xFE and 8 bytes.
    const minus5 = Buffer.from('00' + '00' + 'fefbffffffffffffff' + '0200' + '0000', 'hex');
    assert.equal(decodeOk(minus5).lastInsertId, 2n ** 64n - 5n);
    assert.equal(decodeOk(minus5).statusFlags, 2);
    const twoTo53 = Buffer.from('00' + 'fe0000000000002000' + '00' + '0200' + '0000', 'hex');
    assert.equal(decodeOk(twoTo53).affectedRows, 2n ** 53n);
    assert.equal(lenencIntBytes(2n ** 64n - 1n).toString('hex'), 'feffffffffffffffff');
    assert.throws(() => lenencIntBytes(2n ** 64n), RangeError);
    // The tracker follows such an OK to the end of its response.
    const t = new ResponseTracker(false);
    t.expect(ResponseKind.Results, 0);
    assert.equal(t.onPacket(minus5, minus5.length, false), Outcome.Complete);
    // A length that large fits no packet: still a ProtocolError, never a wrong number.
    const r = new PayloadReader(Buffer.from('fe0000000000002000', 'hex'), 'test');
    assert.throws(
      () => r.lenencInt(),
      (e) => e instanceof ProtocolError && e.offset === 0,
    );
  });

  it('throw ProtocolError for every truncation', () => {
    // A pre-4.1 greeting ends after the capability word; the plugin name may run to the end (MySQL bug #59453).
    const pluginNameAt = greeting.indexOf('mysql_native_password');
    assertTruncationsThrow(decodeHandshakeV10, greeting, (n) => n === 49 || n >= pluginNameAt);
    // A response may end after its auth data, after the database, or inside the plugin name
    // (read up to NUL or the end); cut inside the attributes it must throw.
    const databaseAt = response.indexOf('appdb\0');
    const attributesAt = response.indexOf('mysql_native_password\0') + 'mysql_native_password\0'.length;
    assertTruncationsThrow(
      decodeHandshakeResponse,
      response,
      (n) => n === databaseAt || (n >= databaseAt + 'appdb\0'.length && n <= attributesAt),
    );
    assertTruncationsThrow(decodeOk, encodeOk({ affectedRows: 70000, lastInsertId: 1 << 25 }));
    assertTruncationsThrow(decodeEof, EOF());
    // Pre-4.1 ERR packets carry no SQL state; the message runs to the end of the packet.
    assertTruncationsThrow(decodeErr, encodeErr(1064, '42000', 'syntax'), (n) => n >= 3);
    assertTruncationsThrow(decodeStmtPrepareOk, Buffer.from([0, 7, 0, 0, 0, 2, 0, 1, 0, 0]));
    assertTruncationsThrow(decodeProcessKill, Buffer.from([0x0c, 1, 2, 3, 4]));
    // The plugin data after the NUL-terminated plugin name runs to the end of the packet.
    assertTruncationsThrow(
      decodeAuthSwitchRequest,
      Buffer.from('\xfeclient_ed25519\0abc', 'latin1'),
      (n) => n >= 16,
    );
    assertTruncationsThrow(
      (b) => decodeChangeUser(b, Capability.SecureConnection | Capability.PluginAuth),
      Buffer.from('\x11bob\0\x02ab', 'latin1'),
    );
  });

  it('refuse lengths that point past the packet and unterminated strings', () => {
    const r = new PayloadReader(Buffer.from([0xfc, 0xff, 0xff, 1, 2]), 'test');
    assert.throws(
      () => r.lenencBytes(),
      (e) => e instanceof ProtocolError && e.messageType === 'test' && e.offset === 3,
    );
    assert.throws(() => new PayloadReader(Buffer.from('abc'), 'test').nulString(), ProtocolError);
    assert.throws(() => new PayloadReader(Buffer.from([0xfb]), 'test').lenencInt(), ProtocolError);
    assert.throws(() => new PayloadReader(Buffer.from([0xff, 1]), 'test').lenencInt(), ProtocolError);
    const huge = Buffer.from([0xfe, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    assert.throws(() => new PayloadReader(huge, 'test').lenencInt(), ProtocolError);
    // A handshake response whose auth length byte claims more than the packet holds.
    const lying = Buffer.from(response);
    lying[36] = 0xf0;
    assert.throws(() => decodeHandshakeResponse(lying), ProtocolError);
  });

  it('throw nothing but ProtocolError on random input', () => {
    const decoders = [
      decodeHandshakeV10,
      decodeHandshakeResponse,
      decodeOk,
      decodeEof,
      decodeErr,
      decodeStmtPrepareOk,
      decodeAuthSwitchRequest,
      (b: Buffer) => decodeChangeUser(b, 0xffffffff),
    ];
    for (let i = 0; i < 3000; i++) {
      const input = randomBytes(i % 64);
      if (i % 3 === 0 && input.length > 0) input[0] = [0x00, 0xfe, 0xff, 0x0a][i % 4]!;
      for (const decode of decoders) {
        try {
          decode(input);
        } catch (err) {
          assert.ok(
            err instanceof ProtocolError,
            `${decode.name}(${input.toString('hex')}) threw ${(err as Error).stack}`,
          );
        }
      }
    }
  });
});

describe('mysql response tracker', () => {
  /** Runs a response stream through scanner + tracker split at every offset; returns the outcomes per cut. */
  function track(kind: ResponseKind, payloads: Buffer[], deprecateEof: boolean): void {
    const bytes = stream(payloads);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const tracker = new ResponseTracker<string>(deprecateEof);
      tracker.expect(kind, 'cmd');
      const scanner = new PacketScanner();
      const outcomes: Outcome[] = [];
      for (const chunk of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
        scanner.feed(chunk, (buf, headStart, headLength, length, _seq, cont) =>
          outcomes.push(tracker.onPacketAt(buf, headStart, headLength, length, cont)),
        );
      }
      assert.equal(outcomes.length, payloads.length);
      assert.deepEqual(
        outcomes,
        [...Array(payloads.length - 1).fill(Outcome.Continue), Outcome.Complete],
        `cut at ${cut}`,
      );
      assert.equal(tracker.pending, 0);
      assert.equal(tracker.completedTag, 'cmd');
    }
  }

  it('ends a text result set at its EOF, with and without CLIENT_DEPRECATE_EOF', () => {
    track(
      ResponseKind.Results,
      [Buffer.from([2]), column('a'), column('b'), EOF(), textRow('1', '2'), EOF()],
      false,
    );
    track(
      ResponseKind.Results,
      [Buffer.from([2]), column('a'), column('b'), textRow('1', '2'), OK_EOF()],
      true,
    );
  });

  it('follows multi-statement results until MORE_RESULTS_EXISTS is clear', () => {
    track(
      ResponseKind.Results,
      [
        encodeOk({ statusFlags: ServerStatus.MoreResultsExist }),
        Buffer.from([1]),
        column('a'),
        textRow('x'),
        OK_EOF(ServerStatus.MoreResultsExist),
        encodeOk({ affectedRows: 3 }),
      ],
      true,
    );
  });

  it('ends at an ERR in the middle of rows', () => {
    track(
      ResponseKind.Results,
      [Buffer.from([1]), column('a'), EOF(), textRow('x'), encodeErr(1317, '70100', 'interrupted')],
      false,
    );
  });

  it('counts parameter and column definitions after COM_STMT_PREPARE_OK', () => {
    const prep = Buffer.from([0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0]);
    track(ResponseKind.Prepare, [prep, column('?'), column('?'), EOF(), column('a'), EOF()], false);
    track(ResponseKind.Prepare, [prep, column('?'), column('?'), column('a')], true);
    track(ResponseKind.Prepare, [Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])], false);
  });

  it('ends COM_STMT_EXECUTE at the metadata EOF when a cursor opened', () => {
    track(ResponseKind.Results, [Buffer.from([1]), column('a'), EOF(ServerStatus.CursorExists)], false);
    track(
      ResponseKind.Rows,
      [Buffer.from([0, 0, 1]), Buffer.from([0, 0, 2]), EOF(ServerStatus.LastRowSent)],
      false,
    );
  });

  it('does not take a 16 MB row starting with 0xFE for a terminator', () => {
    const tracker = new ResponseTracker<string>(true);
    tracker.expect(ResponseKind.Results, 'q');
    const big = Buffer.from([0xfe, 0, 0, 0]);
    assert.equal(tracker.onPacket(Buffer.from([1]), 1, false), Outcome.Continue);
    assert.equal(tracker.onPacket(column('b'), column('b').length, false), Outcome.Continue);
    assert.equal(tracker.onPacket(big, MAX_PACKET_PAYLOAD, false), Outcome.Continue);
    assert.equal(tracker.onPacket(Buffer.from([0xfe]), 9, true), Outcome.Continue);
    assert.equal(tracker.onPacket(OK_EOF(), OK_EOF().length, false), Outcome.Complete);
  });

  it('waits for the file after a LOCAL INFILE request', () => {
    const tracker = new ResponseTracker<string>(true);
    tracker.expect(ResponseKind.Results, 'load');
    assert.equal(tracker.onPacket(Buffer.from('\xfb/tmp/x', 'latin1'), 7, false), Outcome.Continue);
    assert.equal(tracker.awaiting, 1);
    tracker.clientData(false);
    assert.equal(tracker.awaiting, 1);
    tracker.clientData(true);
    assert.equal(tracker.awaiting, 0);
    const ok = encodeOk({ affectedRows: 1 });
    assert.equal(tracker.onPacket(ok, ok.length, false), Outcome.Complete);
  });

  it('follows COM_CHANGE_USER through an auth switch', () => {
    track(
      ResponseKind.Auth,
      [Buffer.from('\xfemysql_native_password\0abcdefghijklmnopqrst\0', 'latin1'), encodeOk()],
      false,
    );
    track(ResponseKind.FieldList, [column('a'), column('b'), EOF()], false);
  });

  it('keeps pipelined responses apart and tracks the transaction flag', () => {
    const tracker = new ResponseTracker<number>(true);
    tracker.expect(ResponseKind.Single, 1);
    tracker.expect(ResponseKind.None, 2);
    tracker.expect(ResponseKind.Results, 3);
    assert.equal(tracker.pending, 2);
    const begin = encodeOk({ statusFlags: ServerStatus.InTrans });
    assert.equal(tracker.onPacket(begin, begin.length, false), Outcome.Complete);
    assert.equal(tracker.completedTag, 1);
    assert.ok(tracker.inTransaction);
    const ok = encodeOk({ statusFlags: ServerStatus.Autocommit });
    assert.equal(tracker.onPacket(ok, ok.length, false), Outcome.Complete);
    assert.equal(tracker.completedTag, 3);
    assert.ok(!tracker.inTransaction);
    assert.equal(tracker.onPacket(ok, ok.length, false), Outcome.Unsolicited);
  });

  it('raises ProtocolError, not a crash, for a nonsense response', () => {
    const tracker = new ResponseTracker<number>(true);
    tracker.expect(ResponseKind.Results, 1);
    assert.throws(() => tracker.onPacket(Buffer.from([0xfc, 1]), 2, false), ProtocolError);
  });
});

describe('mysql caching_sha2_password RSA leg', () => {
  it('encrypts a password the way a MySQL 8 server decrypts it, and back', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const scramble = Buffer.from('0123456789abcdefghij');
    const cipher = encryptPassword(
      Buffer.from('s3cret'),
      scramble,
      publicKey.export({ type: 'spki', format: 'pem' }),
    );
    assert.equal(cipher.length, 256);
    assert.deepEqual(decryptPassword(cipher, scramble, privateKey), Buffer.from('s3cret\0'));
    assert.deepEqual(
      xorWithScramble(xorWithScramble(Buffer.from('pw\0'), scramble), scramble),
      Buffer.from('pw\0'),
    );
    assert.throws(() => decryptPassword(randomBytes(256), scramble, privateKey), ProtocolError);
  });
});

describe('mysql KILL rewriting', () => {
  it('rewrites the connection id of every plain KILL form', () => {
    for (const [sql, id, rewritten] of [
      ['KILL 5', 5, 'KILL 900'],
      ['kill query 12;', 12, 'kill query 900;'],
      ['  KILL HARD CONNECTION 3 ', 3, '  KILL HARD CONNECTION 900 '],
      ['/* app */ KILL SOFT QUERY 7 -- why\n', 7, '/* app */ KILL SOFT QUERY 900 -- why\n'],
    ] as const) {
      const m = matchKill(sql);
      assert.equal(m.kind, 'kill', sql);
      if (m.kind !== 'kill') continue;
      assert.deepEqual(m.connectionIds, [id]);
      assert.equal(m.alone, true);
      assert.equal(
        m.rewrite(() => 900),
        rewritten,
      );
    }
  });

  it('leaves other statements alone and refuses KILL ids it cannot rewrite', () => {
    for (const sql of [
      'SELECT 1',
      "SELECT 'kill 5'",
      'KILL USER bob',
      'KILL QUERY ID 55',
      'SELECT skill FROM t',
    ]) {
      assert.equal(matchKill(sql).kind, 'none', sql);
    }
    for (const sql of [
      '/*!50000 KILL 5 */',
      'KILL 1+2',
      'SELECT 1; KILL (5)',
      'KILL QUERY -5',
      'SELECT 1; /*M! KILL 5 */',
    ]) {
      assert.equal(matchKill(sql).kind, 'unsupported', sql);
    }
  });

  it('finds and rewrites KILLs in every statement of a multi-statement text', () => {
    for (const [sql, ids, rewritten] of [
      ['KILL 5; SELECT SLEEP(0.05)', [5], 'KILL 905; SELECT SLEEP(0.05)'],
      ['SELECT 1;KILL QUERY 12', [12], 'SELECT 1;KILL QUERY 912'],
      [
        "SELECT ';KILL 3', `KILL 4`; /* x */ kill/* y */connection\n\t7 -- z\n; KILL SOFT QUERY 8;",
        [7, 8],
        "SELECT ';KILL 3', `KILL 4`; /* x */ kill/* y */connection\n\t907 -- z\n; KILL SOFT QUERY 908;",
      ],
      ['KILL USER bob; KILL 6 # end', [6], 'KILL USER bob; KILL 906 # end'],
    ] as const) {
      const m = matchKill(sql);
      assert.equal(m.kind, 'kill', sql);
      if (m.kind !== 'kill') continue;
      assert.deepEqual(m.connectionIds, ids, sql);
      assert.equal(m.alone, false);
      assert.equal(
        m.rewrite((id) => 900 + id),
        rewritten,
      );
    }
    // null leaves an id as written; only the others change.
    const m = matchKill('KILL 1; KILL 2; KILL 3');
    assert.equal(
      m.kind === 'kill' && m.rewrite((id) => (id === 2 ? null : id * 10)),
      'KILL 10; KILL 2; KILL 30',
    );
    // Under NO_BACKSLASH_ESCAPES a backslash does not escape the quote: the KILL is a statement.
    assert.equal(matchKill("SELECT 'a\\'; KILL 5", false).kind, 'kill');
    assert.equal(matchKill("SELECT 'a\\'; KILL 5", true).kind, 'none');
    assert.equal(matchKill('SELECT 1; SELECT skill FROM t; -- KILL 5').kind, 'none');
  });
});
