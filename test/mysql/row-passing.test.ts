/**
 * The relay's response follower passes over result rows by their 3-byte
 * lengths (no visit per row) and still finds where every response ends:
 * checked through `ResponseFollower.relay` with a proxy-written marker
 * queued behind each response, so a response end found one byte early or
 * late, or not at all, moves or loses a marker. Server bytes are split at
 * every offset, one byte at a time, and around each packet of 16 MB+ rows;
 * rows that start with 0xFB / 0xFC / 0xFD, ERR packets and MariaDB
 * progress reports among rows, and 16 MB rows whose continuation packets
 * start with 0xFE or 0xFF, are all in the streams.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketScanner } from '../../src/dialects/mysql/framer.ts';
import { encodeErr, encodeOk, encodePacket } from '../../src/dialects/mysql/messages.ts';
import { Command, MAX_PACKET_PAYLOAD, ServerStatus } from '../../src/dialects/mysql/protocol.ts';
import { lenencIntBytes } from '../../src/dialects/mysql/reader.ts';
import { ResponseFollower } from '../../src/dialects/mysql/response-follower.ts';

function column(name: string): Buffer {
  const parts = ['def', 'db', 't', 't', name, name].map((s) =>
    Buffer.concat([lenencIntBytes(s.length), Buffer.from(s)]),
  );
  return Buffer.concat([...parts, Buffer.from([0x0c, 0x21, 0, 0x0b, 0, 0, 0, 0xfe, 0, 0, 0, 0, 0])]);
}

const EOF = (status: number) => {
  const b = Buffer.from([0xfe, 0, 0, 0, 0]);
  b.writeUInt16LE(status, 3);
  return b;
};
const OK_EOF = (status: number) => {
  const ok = encodeOk({ statusFlags: status });
  ok[0] = 0xfe;
  return ok;
};
/** A text row: each value length-encoded, null for SQL NULL (0xFB). */
const textRow = (...values: (Buffer | null)[]) =>
  Buffer.concat(
    values.map((v) => (v === null ? Buffer.from([0xfb]) : Buffer.concat([lenencIntBytes(v.length), v]))),
  );
/** A binary row of one string column: 0x00 header, a null bitmap byte, the value. */
const binaryRow = (value: Buffer) =>
  Buffer.concat([Buffer.from([0, 0]), lenencIntBytes(value.length), value]);
/** A MariaDB progress report: an ERR header with code 0xFFFF, not the end of anything. */
const PROGRESS = Buffer.from([0xff, 0xff, 0xff, 1, 1, 0x10, 0, 0, 0, 0]);

/** Frames one response's payloads with sequence ids from 1, counting every physical packet of a 16 MB+ payload. */
function frame(payloads: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  let seq = 1;
  for (const p of payloads) {
    parts.push(encodePacket(seq, p));
    seq += Math.floor(p.length / MAX_PACKET_PAYLOAD) + 1;
  }
  return Buffer.concat(parts);
}

interface Response {
  command: number;
  bytes: Buffer;
}

const IN_TRANS = ServerStatus.InTrans | ServerStatus.Autocommit;

/** Result sets of every shape whose rows the follower passes over, in both EOF styles. */
function responses(deprecateEof: boolean): Response[] {
  const end = (status: number) => (deprecateEof ? OK_EOF(status) : EOF(status));
  const metadata = (columns: string[], status: number) => [
    lenencIntBytes(columns.length),
    ...columns.map(column),
    ...(deprecateEof ? [] : [EOF(status)]),
  ];
  const long = Buffer.alloc(300, 0xfe);
  return [
    // Binary rows (0x00 first), one whose value is made of 0xFE / 0xFF bytes.
    {
      command: Command.StmtExecute,
      bytes: frame([
        ...metadata(['c'], IN_TRANS),
        binaryRow(Buffer.from('abc')),
        binaryRow(Buffer.from([0xfe, 0xff, 0xfe])),
        binaryRow(Buffer.alloc(0)),
        end(IN_TRANS),
      ]),
    },
    // Text rows starting with NULL (0xFB), a 2-byte length (0xFC) and a value of 0xFE bytes.
    {
      command: Command.Query,
      bytes: frame([
        ...metadata(['a', 'b'], IN_TRANS),
        textRow(null, Buffer.from('x')),
        textRow(long, null),
        textRow(Buffer.from([0xfe]), Buffer.from([0xff])),
        end(IN_TRANS),
      ]),
    },
    // No rows at all.
    { command: Command.StmtExecute, bytes: frame([...metadata(['c'], IN_TRANS), end(IN_TRANS)]) },
    // A multi-statement: an OK, a result set, another result set, the final OK.
    {
      command: Command.Query,
      bytes: frame([
        encodeOk({ statusFlags: IN_TRANS | ServerStatus.MoreResultsExist }),
        ...metadata(['a'], IN_TRANS | ServerStatus.MoreResultsExist),
        textRow(Buffer.from('1')),
        end(IN_TRANS | ServerStatus.MoreResultsExist),
        ...metadata(['b'], IN_TRANS | ServerStatus.MoreResultsExist),
        textRow(Buffer.from('2')),
        textRow(Buffer.from('3')),
        end(IN_TRANS | ServerStatus.MoreResultsExist),
        encodeOk({ statusFlags: IN_TRANS }),
      ]),
    },
    // A progress report among rows, then an ERR that ends them.
    {
      command: Command.Query,
      bytes: frame([
        ...metadata(['a'], IN_TRANS),
        textRow(Buffer.from('1')),
        PROGRESS,
        textRow(Buffer.from('2')),
        encodeErr(1317, '70100', 'Query execution was interrupted'),
      ]),
    },
    // Rows of an open cursor (COM_STMT_FETCH): rows from the first packet on.
    {
      command: Command.StmtFetch,
      bytes: frame([
        binaryRow(Buffer.from('r1')),
        binaryRow(Buffer.from([0xfe])),
        EOF(IN_TRANS | ServerStatus.LastRowSent),
      ]),
    },
    // The transaction ends: the status the proxy keeps must say so.
    { command: Command.Query, bytes: frame([encodeOk({ statusFlags: ServerStatus.Autocommit })]) },
    { command: Command.Ping, bytes: frame([encodeOk({ statusFlags: ServerStatus.Autocommit })]) },
  ];
}

/** What the proxy writes behind response `i`: where it lands tells where the follower saw the response end. */
const marker = (i: number) => Buffer.from(`<end of response ${i}>`);

/** Offsets where each packet of `bytes` starts. */
function packetStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 4 <= bytes.length; at += 4 + bytes.readUIntLE(at, 3)) starts.push(at);
  return starts;
}

/**
 * Relays the responses' bytes, back to back, to a follower in the chunks
 * `cuts` makes, and checks what it writes to the client byte for byte:
 * the server's bytes untouched, each marker right behind its response.
 */
function assertFollowed(list: Response[], deprecateEof: boolean, cuts: number[], what: string): void {
  const server = Buffer.concat(list.map((r) => r.bytes));
  const expected = Buffer.concat(list.flatMap((r, i) => [r.bytes, marker(i)]));
  let at = 0;
  let done = 0;
  let lastRelayed = -1;
  const follower = new ResponseFollower(
    {
      writeClient: (buf) => {
        // Compared as written (no copy): a 16 MB row stream is checked at dozens of cuts.
        if (!buf.equals(expected.subarray(at, at + buf.length)))
          assert.fail(`${what}: ${buf.length} bytes written at ${at} are not the expected ones`);
        at += buf.length;
      },
      startClientResponse: () => {},
      compressed: () => false,
      relayedSequenceId: (seq) => {
        lastRelayed = seq;
      },
      commandDone: () => {
        done++;
      },
    },
    () => 1,
  );
  follower.startFollowing(deprecateEof);
  list.forEach((r, i) => {
    follower.expect(r.command, 0, null);
    follower.answer(0, 0, () => marker(i));
  });
  let from = 0;
  for (const cut of [...cuts, server.length]) {
    follower.relay(server.subarray(from, cut));
    from = cut;
  }
  assert.equal(at, expected.length, `${what}: everything written`);
  assert.equal(done, list.length, what);
  assert.equal(follower.tracker.pending, 0, what);
  // Errors the proxy writes next carry the id after the server's last packet.
  assert.equal(lastRelayed, server[packetStarts(server).at(-1)! + 3], what);
  assert.equal(follower.tracker.statusFlags & ServerStatus.InTrans, 0, what);
}

describe('mysql relay passing over rows', () => {
  for (const deprecateEof of [false, true]) {
    const list = responses(deprecateEof);
    const length = list.reduce((n, r) => n + r.bytes.length, 0);
    const style = deprecateEof ? 'CLIENT_DEPRECATE_EOF' : 'EOF packets';

    it(`ends every response where it ends, split at every offset (${style})`, () => {
      assertFollowed(list, deprecateEof, [], 'one chunk');
      for (let cut = 1; cut < length; cut++) assertFollowed(list, deprecateEof, [cut], `cut at ${cut}`);
    });

    it(`ends every response where it ends, one byte at a time and at pairs of offsets (${style})`, () => {
      assertFollowed(
        list,
        deprecateEof,
        Array.from({ length: length - 1 }, (_, i) => i + 1),
        'one byte at a time',
      );
      for (let a = 1; a < length; a += 13) {
        for (let b = a + 1; b < length; b += 11)
          assertFollowed(list, deprecateEof, [a, b], `cuts ${a}, ${b}`);
      }
    });
  }

  it('passes over a row whose length prefix takes three bytes (0xFD)', () => {
    const value = Buffer.alloc(70_000, 0xff);
    const list: Response[] = [
      {
        command: Command.Query,
        bytes: frame([
          Buffer.from([1]),
          column('a'),
          EOF(IN_TRANS),
          textRow(value),
          textRow(null),
          EOF(ServerStatus.Autocommit),
        ]),
      },
    ];
    const rowAt = packetStarts(list[0]!.bytes)[3]!;
    assertFollowed(list, false, [], 'one chunk');
    for (const d of [0, 1, 3, 4, 5, 6, 9, 64 * 1024, 4 + 4 + value.length - 1])
      assertFollowed(list, false, [rowAt + d], `cut at ${rowAt + d}`);
  });
});

describe('mysql relay passing over 16 MB+ rows', () => {
  /**
   * A text row of `size` payload bytes (its first byte 0xFE: an 8-byte
   * length follows) whose continuation packet (the bytes past the first
   * 0xFFFFFF) starts with `continued`: an EOF or an ERR if it were taken
   * for a packet of its own, or an ordinary byte a row could start with.
   */
  function bigTextRow(size: number, continued: Buffer): Buffer {
    const row = Buffer.alloc(size, 0x61);
    row[0] = 0xfe;
    row.writeBigUInt64LE(BigInt(size - 9), 1);
    continued.copy(row, MAX_PACKET_PAYLOAD);
    return row;
  }
  /** A binary row of `size` payload bytes (0x00 first), the same way. */
  function bigBinaryRow(size: number, continued: Buffer): Buffer {
    const row = Buffer.alloc(size, 0x61);
    row[0] = 0;
    row[1] = 0;
    row[2] = 0xfe;
    row.writeBigUInt64LE(BigInt(size - 11), 3);
    continued.copy(row, MAX_PACKET_PAYLOAD);
    return row;
  }
  const LOOKS_LIKE_EOF = EOF(ServerStatus.Autocommit);
  const LOOKS_LIKE_ERR = encodeErr(1105, 'HY000', 'not an error');

  const cases: { name: string; deprecateEof: boolean; list: Response[] }[] = [
    {
      name: 'text rows of 16 MB + 20 bytes, continued with what looks like an EOF, and with a plain byte right before the EOF',
      deprecateEof: false,
      list: [
        {
          command: Command.Query,
          bytes: frame([
            Buffer.from([1]),
            column('a'),
            EOF(IN_TRANS),
            textRow(Buffer.from('small')),
            bigTextRow(MAX_PACKET_PAYLOAD + 20, LOOKS_LIKE_EOF),
            textRow(Buffer.from('after')),
            bigTextRow(MAX_PACKET_PAYLOAD + 20, Buffer.from('x')),
            EOF(ServerStatus.Autocommit),
          ]),
        },
      ],
    },
    {
      name: 'binary rows of 16 MB + 30 bytes continued with what looks like an ERR, and of 0xFFFFFF bytes (an empty packet ends it)',
      deprecateEof: true,
      list: [
        {
          command: Command.StmtExecute,
          bytes: frame([
            Buffer.from([1]),
            column('a'),
            bigBinaryRow(MAX_PACKET_PAYLOAD + 30, LOOKS_LIKE_ERR),
            bigBinaryRow(MAX_PACKET_PAYLOAD, Buffer.alloc(0)),
            binaryRow(Buffer.from('after')),
            OK_EOF(ServerStatus.Autocommit),
          ]),
        },
        { command: Command.Ping, bytes: frame([encodeOk({ statusFlags: ServerStatus.Autocommit })]) },
      ],
    },
  ];

  for (const { name, deprecateEof, list } of cases) {
    it(`ends the response where it ends: ${name}`, () => {
      const server = Buffer.concat(list.map((r) => r.bytes));
      // Cut around every packet header (and into the first bytes after it), and in 64 KB reads as a socket does.
      assertFollowed(list, deprecateEof, [], 'one chunk');
      for (const start of packetStarts(server)) {
        for (const d of [-1, 1, 3, 4, 5, 6]) {
          const cut = start + d;
          if (cut > 0 && cut < server.length) assertFollowed(list, deprecateEof, [cut], `cut at ${cut}`);
        }
      }
      const reads = Array.from(
        { length: Math.floor((server.length - 1) / 65536) },
        (_, i) => (i + 1) * 65536,
      );
      assertFollowed(list, deprecateEof, reads, '64 KB reads');
    });
  }
});

describe('mysql packet scanner passing over rows', () => {
  const rows = [
    binaryRow(Buffer.from('a')),
    textRow(null),
    textRow(Buffer.alloc(260, 0xfe)),
    binaryRow(Buffer.from([0xff])),
  ];
  const payloads = [...rows, EOF(ServerStatus.Autocommit), textRow(Buffer.from('next'))];
  const bytes = frame(payloads);

  /** The packets visited and, per chunk, the sequence id `feed` reports for it. */
  function scan(cuts: number[]): { visited: number[]; reported: number[] } {
    const scanner = new PacketScanner();
    scanner.passOverRows = true;
    const visited: number[] = [];
    const reported: number[] = [];
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      const chunk = bytes.subarray(from, cut);
      reported.push(
        scanner.feed(chunk, (buf, headStart, headLength, length, seq) => {
          visited.push(seq);
          // Once the rows end, the packets after the terminator are visited again.
          if (length > 0 && buf[headStart] === 0xfe && headLength > 0) scanner.passOverRows = false;
        }),
      );
      from = cut;
    }
    assert.ok(scanner.atBoundary);
    return { visited, reported };
  }

  it('visits only the packet that ends the rows and what follows, at every split offset', () => {
    assert.deepEqual(scan([]), { visited: [5, 6], reported: [6] });
    for (let cut = 1; cut < bytes.length; cut++) {
      const { visited, reported } = scan([cut]);
      // A row split by the cut is visited (its head is in the scanner's buffer, not in place).
      const split = visited.filter((seq) => seq < 5);
      assert.ok(split.length <= 1, `cut at ${cut}: at most the split row is visited`);
      assert.deepEqual(
        visited.filter((seq) => seq >= 5),
        [5, 6],
        `cut at ${cut}`,
      );
      // The second chunk always ends the stream; the first reports the last packet it ended, if any.
      assert.equal(reported[1], 6, `cut at ${cut}`);
      let ended = -1;
      for (let at = 0, seq = 1; at + 4 + bytes.readUIntLE(at, 3) <= cut; seq++) {
        at += 4 + bytes.readUIntLE(at, 3);
        ended = seq;
      }
      assert.equal(reported[0], ended, `cut at ${cut}`);
    }
  });
});

describe('mysql relay keeping the proxy’s own responses from the client', () => {
  /** COM_STMT_PREPARE_OK for statement 7 with `params` parameters and one column, then their definitions. */
  function prepareOk(params: number, deprecateEof: boolean): Buffer[] {
    const ok = Buffer.alloc(12);
    ok.writeUInt32LE(7, 1);
    ok.writeUInt16LE(1, 5);
    ok.writeUInt16LE(params, 7);
    const eof = deprecateEof ? [] : [EOF(ServerStatus.Autocommit)];
    return [ok, ...Array.from({ length: params }, () => column('?')), ...eof, column('c'), ...eof];
  }

  for (const deprecateEof of [false, true]) {
    const style = deprecateEof ? 'CLIENT_DEPRECATE_EOF' : 'EOF packets';
    const visible = responses(deprecateEof)[3]!;
    for (const hiddenOk of [true, false]) {
      const hidden = frame(
        hiddenOk ? prepareOk(2, deprecateEof) : [encodeErr(1054, '42S22', "Unknown column 'x'")],
      );
      it(`drops a hidden ${hiddenOk ? 'prepare' : 'error'} behind a client response at every cut (${style})`, () => {
        const server = Buffer.concat([visible.bytes, hidden]);
        const expected = Buffer.concat([visible.bytes, marker(0), marker(1)]);
        for (let cut = 0; cut < server.length; cut++) {
          let written = Buffer.alloc(0);
          let lastRelayed = -1;
          let outcome: boolean | null = null;
          const follower = new ResponseFollower(
            {
              writeClient: (buf) => {
                written = Buffer.concat([written, buf]);
              },
              startClientResponse: () => {},
              compressed: () => false,
              relayedSequenceId: (seq) => {
                lastRelayed = seq;
              },
              commandDone: () => {},
            },
            () => 1,
          );
          follower.startFollowing(deprecateEof);
          follower.expect(visible.command, 0, null);
          follower.answer(0, 0, () => marker(0));
          follower.expectHidden(Command.StmtPrepare, (ok) => {
            outcome = ok;
          });
          // An answer the proxy queues behind its own command still reaches the client.
          follower.answer(0, 0, () => marker(1));
          follower.relay(server.subarray(0, cut));
          follower.relay(server.subarray(cut));
          assert.deepEqual(written, expected, `cut at ${cut}`);
          assert.equal(outcome, hiddenOk, `cut at ${cut}`);
          assert.equal(follower.tracker.pending, 0);
          const visibleStarts = packetStarts(visible.bytes);
          assert.equal(
            lastRelayed,
            visible.bytes[visibleStarts.at(-1)! + 3],
            `cut at ${cut}: the client's last id`,
          );
          if (hiddenOk) assert.equal(follower.tracker.lastPreparedId, 7);
        }
      });
    }
  }
});
