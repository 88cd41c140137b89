/**
 * The responses Shiftgate writes itself on MySQL, decoded back with bounded
 * readers at every split offset of the stream: admin result sets (text and
 * binary rows, with and without CLIENT_DEPRECATE_EOF and MariaDB extended
 * metadata), OK, ERR, COM_STMT_PREPARE_OK; also the statement splitter
 * that finds a Shiftgate command hidden in a multi-statement text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Packet, PacketFramer, PacketScanner } from '../../src/dialects/mysql/framer.ts';
import {
  CHARSET_UTF8MB4,
  COLUMN_TYPE_VAR_STRING,
  encodeClientError,
  encodeLocalOk,
  encodeLocalPrepareOk,
  encodeResultSet,
  type LocalAnswerContext,
} from '../../src/dialects/mysql/local-answers.ts';
import {
  decodeErr,
  decodeOk,
  decodeStmtPrepareOk,
  terminatorStatus,
} from '../../src/dialects/mysql/messages.ts';
import { MAX_PACKET_PAYLOAD, ServerStatus } from '../../src/dialects/mysql/protocol.ts';
import { PayloadReader } from '../../src/dialects/mysql/reader.ts';
import { Outcome, ResponseKind, ResponseTracker } from '../../src/dialects/mysql/response.ts';
import { shiftgateStatementKind, splitStatements } from '../../src/dialects/mysql/statement-text.ts';
import { ClientError, clientError } from '../../src/proxy/client-error.ts';
import type { LocalResult } from '../../src/proxy/statement-router.ts';

interface DecodedColumn {
  name: string;
  charset: number;
  length: number;
  type: number;
}

interface DecodedResultSet {
  columns: DecodedColumn[];
  rows: (string | null)[][];
  statusFlags: number;
  sequenceIds: number[];
}

function decodeColumn(payload: Buffer, extendedMetadata: boolean): DecodedColumn {
  const r = new PayloadReader(payload, 'ColumnDefinition41');
  assert.equal(r.lenencBytes().toString(), 'def');
  for (let i = 0; i < 3; i++) r.lenencBytes(); // schema, table, org_table
  const name = r.lenencBytes().toString('utf8');
  assert.equal(r.lenencBytes().toString('utf8'), name); // org_name
  if (extendedMetadata) assert.equal(r.lenencBytes().length, 0);
  assert.equal(r.lenencInt(), 0x0c);
  const charset = r.int2();
  const length = r.int4();
  const type = r.int1();
  r.int2(); // flags
  r.int1(); // decimals
  r.skip(2);
  assert.equal(r.remaining, 0, 'nothing after the column definition');
  return { name, charset, length, type };
}

function decodeRow(payload: Buffer, columns: number, binary: boolean): (string | null)[] {
  const r = new PayloadReader(payload, 'row');
  const out: (string | null)[] = [];
  if (binary) {
    assert.equal(r.int1(), 0x00);
    const bitmap = r.bytes(Math.floor((columns + 7 + 2) / 8));
    for (let i = 0; i < columns; i++) {
      const bit = i + 2;
      out.push(bitmap[bit >> 3]! & (1 << (bit & 7)) ? null : r.lenencBytes().toString('utf8'));
    }
  } else {
    for (let i = 0; i < columns; i++) {
      if (payload[r.offset] === 0xfb) {
        r.skip(1);
        out.push(null);
      } else {
        out.push(r.lenencBytes().toString('utf8'));
      }
    }
  }
  assert.equal(r.remaining, 0, 'nothing after the row');
  return out;
}

/** Reads one whole result set back from framed packets, as a client library would. */
function decodeResultSet(packets: Packet[], ctx: LocalAnswerContext, binary: boolean): DecodedResultSet {
  let i = 0;
  const next = () => {
    const p = packets[i++];
    assert.ok(p, 'response ended early');
    return p.payload;
  };
  const count = new PayloadReader(next(), 'column count').lenencInt();
  const columns: DecodedColumn[] = [];
  for (let c = 0; c < count; c++) columns.push(decodeColumn(next(), ctx.extendedMetadata));
  if (!ctx.deprecateEof) {
    const eof = next();
    assert.equal(eof[0], 0xfe);
    assert.ok(eof.length < 9, 'a classic EOF after the column definitions');
  }
  const rows: (string | null)[][] = [];
  for (;;) {
    const p = next();
    if (p[0] === 0xfe && p.length < MAX_PACKET_PAYLOAD) {
      if (!ctx.deprecateEof) assert.ok(p.length < 9, 'rows end with an EOF');
      else assert.ok(p.length >= 7, 'rows end with an OK under CLIENT_DEPRECATE_EOF');
      const statusFlags = terminatorStatus(p);
      assert.equal(i, packets.length, 'nothing after the terminator');
      return { columns, rows, statusFlags, sequenceIds: packets.map((q) => q.sequenceId) };
    }
    rows.push(decodeRow(p, count, binary));
  }
}

function frameAtEveryOffset(bytes: Buffer, check: (packets: Packet[]) => void): void {
  for (let cut = 0; cut <= bytes.length; cut++) {
    const framer = new PacketFramer();
    const packets = [...framer.push(bytes.subarray(0, cut)), ...framer.push(bytes.subarray(cut))];
    assert.equal(framer.buffered, 0);
    check(packets);
  }
}

/** The relay's own response tracker must see the local answer end exactly at its last packet. */
function assertTrackerCompletes(bytes: Buffer, kind: ResponseKind, deprecateEof: boolean): void {
  const tracker = new ResponseTracker<string>(deprecateEof);
  tracker.expect(kind, 'local');
  const outcomes: Outcome[] = [];
  new PacketScanner().feed(bytes, (buf, headStart, headLength, length, _seq, cont) =>
    outcomes.push(tracker.onPacketAt(buf, headStart, headLength, length, cont)),
  );
  assert.equal(outcomes.at(-1), Outcome.Complete);
  assert.ok(outcomes.slice(0, -1).every((o) => o === Outcome.Continue));
}

const SESSIONS: LocalResult = {
  columns: ['id', 'user', 'version', 'note'],
  rows: [
    ['1', 'root', null, 'ünïcödé ✓'],
    ['2', 'app', 'add_email', 'x'.repeat(300)],
    [null, null, null, null],
  ],
  tag: 'SHOW',
};

const CONTEXTS: LocalAnswerContext[] = [
  { deprecateEof: false, extendedMetadata: false, statusFlags: ServerStatus.Autocommit },
  { deprecateEof: true, extendedMetadata: true, statusFlags: ServerStatus.InTrans },
  {
    deprecateEof: true,
    extendedMetadata: false,
    // Response-only flags must never be repeated by a local answer.
    statusFlags:
      ServerStatus.Autocommit |
      ServerStatus.MoreResultsExist |
      ServerStatus.CursorExists |
      ServerStatus.SessionStateChanged,
  },
];

describe('mysql local answers', () => {
  for (const ctx of CONTEXTS) {
    for (const binary of [false, true]) {
      const label = `deprecateEof=${ctx.deprecateEof} extendedMetadata=${ctx.extendedMetadata} binary=${binary}`;
      it(`encodes a result set that decodes back at every split offset (${label})`, () => {
        const bytes = encodeResultSet(SESSIONS, 1, ctx, binary);
        const expectedStatus = ctx.statusFlags & (ServerStatus.InTrans | ServerStatus.Autocommit);
        frameAtEveryOffset(bytes, (packets) => {
          const rs = decodeResultSet(packets, ctx, binary);
          assert.deepEqual(
            rs.columns.map((c) => c.name),
            SESSIONS.columns,
          );
          for (const c of rs.columns) {
            assert.equal(c.type, COLUMN_TYPE_VAR_STRING);
            assert.equal(c.charset, CHARSET_UTF8MB4);
          }
          // The display width covers the longest value in bytes.
          assert.ok(rs.columns[3]!.length >= 300);
          assert.deepEqual(rs.rows, SESSIONS.rows);
          assert.equal(rs.statusFlags, expectedStatus);
          assert.deepEqual(
            rs.sequenceIds,
            rs.sequenceIds.map((_, k) => k + 1),
          );
        });
        assertTrackerCompletes(bytes, ResponseKind.Results, ctx.deprecateEof);
      });
    }
  }

  it('encodes an empty result set and wraps sequence ids past 255', () => {
    const ctx = CONTEXTS[0]!;
    const empty = encodeResultSet({ columns: ['name'], rows: [], tag: 'SHOW' }, 1, ctx);
    frameAtEveryOffset(empty, (packets) => {
      const rs = decodeResultSet(packets, ctx, false);
      assert.deepEqual(rs.rows, []);
      assert.deepEqual(rs.sequenceIds, [1, 2, 3, 4]);
    });
    const many = encodeResultSet(
      { columns: ['n'], rows: Array.from({ length: 300 }, (_, k) => [String(k)]), tag: 'SHOW' },
      1,
      ctx,
    );
    const packets = new PacketFramer().push(many);
    assert.deepEqual(
      packets.map((p) => p.sequenceId),
      packets.map((_, k) => (k + 1) & 0xff),
    );
    assert.equal(decodeResultSet(packets, ctx, false).rows.length, 300);
  });

  it('counts sequence ids across a row of 16 MB and more', () => {
    const ctx = CONTEXTS[1]!;
    const big = 'y'.repeat(MAX_PACKET_PAYLOAD + 10);
    const bytes = encodeResultSet({ columns: ['v'], rows: [[big], ['z']], tag: 'SHOW' }, 1, ctx);
    const packets = new PacketFramer().push(bytes);
    // count, column, row (2 packets), row, OK
    assert.deepEqual(
      packets.map((p) => p.sequenceId),
      [1, 2, 3, 4, 5, 6],
    );
    assert.equal(packets[2]!.continues, true);
    assert.equal(packets[3]!.continuation, true);
    assertTrackerCompletes(bytes, ResponseKind.Results, true);
  });

  it('encodes OK, ERR (SQLSTATE marker, hint after the message) and COM_STMT_PREPARE_OK', () => {
    const ok = encodeLocalOk(1, {
      deprecateEof: false,
      extendedMetadata: false,
      statusFlags: 0x0003 | 0x4000,
    });
    frameAtEveryOffset(ok, (packets) => {
      assert.equal(packets.length, 1);
      assert.equal(packets[0]!.sequenceId, 1);
      assert.equal(decodeOk(packets[0]!.payload).statusFlags, 0x0003);
    });
    const err = decodeErr(
      encodeClientError(clientError('syntax', 'unrecognised Shiftgate command: X', 'valid: Y')),
    );
    assert.equal(err.code, 1064);
    assert.equal(err.sqlState, '42601');
    assert.equal(err.message, 'unrecognised Shiftgate command: X (hint: valid: Y)');
    const plain = decodeErr(encodeClientError(new ClientError('0A000', 1235, 'not available')));
    assert.deepEqual(plain, { code: 1235, sqlState: '0A000', message: 'not available' });
    const prep = decodeStmtPrepareOk(encodeLocalPrepareOk(0xfffffffe));
    assert.deepEqual(prep, { statementId: 0xfffffffe, numColumns: 0, numParams: 0, warnings: 0 });
    assertTrackerCompletes(
      Buffer.concat([Buffer.from([12, 0, 0, 1]), encodeLocalPrepareOk(7)]),
      ResponseKind.Prepare,
      true,
    );
  });
});

describe('mysql statement splitter', () => {
  it('cuts at top-level semicolons only', () => {
    assert.deepEqual(splitStatements('SELECT 1'), ['SELECT 1']);
    assert.deepEqual(splitStatements('SELECT 1;'), ['SELECT 1']);
    assert.deepEqual(splitStatements(' SELECT 1 ;; SELECT 2 ; '), ['SELECT 1', 'SELECT 2']);
    assert.deepEqual(splitStatements('SELECT \';\', "a;b", `c;d`; SELECT 2'), [
      'SELECT \';\', "a;b", `c;d`',
      'SELECT 2',
    ]);
    assert.deepEqual(splitStatements("SELECT 'it''s;'; SELECT 'a\\';b'"), [
      "SELECT 'it''s;'",
      "SELECT 'a\\';b'",
    ]);
    // Without backslash escapes (NO_BACKSLASH_ESCAPES) a backslash is an ordinary character.
    assert.deepEqual(splitStatements("SELECT 'a\\'; SELECT 2", false), ["SELECT 'a\\'", 'SELECT 2']);
    assert.deepEqual(splitStatements('SELECT 1 -- x; y\n; # z;\n SELECT /* ; */ 2'), [
      'SELECT 1 -- x; y',
      'SELECT /* ; */ 2',
    ]);
    // `--` without a following blank is two minus signs.
    assert.deepEqual(splitStatements('SELECT 1--1; SELECT 2'), ['SELECT 1--1', 'SELECT 2']);
    // Comment-only pieces are no statements; executable comments are.
    assert.deepEqual(splitStatements('SHOW SHIFTGATE SESSIONS; -- done'), ['SHOW SHIFTGATE SESSIONS']);
    assert.deepEqual(splitStatements('SELECT 1; /*!40101 SET x = 1 */'), [
      'SELECT 1',
      '/*!40101 SET x = 1 */',
    ]);
    // Unterminated quotes and comments run to the end without reading past it.
    assert.deepEqual(splitStatements("SELECT 'abc; SELECT 2"), ["SELECT 'abc; SELECT 2"]);
    assert.deepEqual(splitStatements('SELECT 1 /* ; '), ['SELECT 1 /* ;']);
  });

  it('recognises statements addressed to Shiftgate', () => {
    assert.equal(shiftgateStatementKind('SHOW SHIFTGATE SESSIONS'), 'shiftgate');
    assert.equal(shiftgateStatementKind("SET shiftgate.version = 'v1'"), 'shiftgate');
    assert.equal(shiftgateStatementKind('RESET shiftgate.version'), 'shiftgate');
    assert.equal(shiftgateStatementKind("SELECT 'shiftgate'"), 'none');
    const malformed = shiftgateStatementKind('SHIFTGATE FROBNICATE');
    assert.ok(malformed instanceof ClientError);
    assert.equal(malformed.mysqlErrno, 1064);
    const local = shiftgateStatementKind("SET LOCAL shiftgate.version = 'v1'");
    assert.ok(local instanceof ClientError);
    assert.equal(local.mysqlErrno, 1235);
  });
});
