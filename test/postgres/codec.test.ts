/**
 * The PostgreSQL wire codec on its own: framing at every split point,
 * bounded decoding, and the proxy's own encoders read back by pg-protocol.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import { decodeBackend } from '../../src/dialects/postgres/codec/backend-decoder.ts';
import {
  encodeAuthenticationSASL,
  encodeBackendKeyData,
  encodeCommandComplete,
  encodeDataRow,
  encodeErrorResponse,
  encodeNegotiateProtocolVersion,
  encodePortalSuspended,
  encodeRowDescription,
} from '../../src/dialects/postgres/codec/backend-encoder.ts';
import { BackendScanner } from '../../src/dialects/postgres/codec/backend-scanner.ts';
import { decodeErrorFields, encodeErrorFields } from '../../src/dialects/postgres/codec/error-fields.ts';
import { type Frame, PgFramer, STREAM_HEAD_BYTES } from '../../src/dialects/postgres/codec/framer.ts';
import { decodeFrontend, decodeStartup } from '../../src/dialects/postgres/codec/frontend.ts';
import { BackendCode } from '../../src/dialects/postgres/codec/message-codes.ts';
import { encodeStartup } from '../../src/dialects/postgres/codec/startup-encoder.ts';
import { LocalAnswerQueue } from '../../src/dialects/postgres/local-answer-queue.ts';
import { encodeLocalRows } from '../../src/dialects/postgres/local-answers.ts';
import { ProtocolError } from '../../src/proxy/protocol-error.ts';
import { commandComplete, dataRow, readyForQuery, rowDescription } from './backend-messages.ts';

/** One of every frontend message type, as a real driver (pg-protocol) encodes it. */
const frontendMessages: Record<string, Buffer> = {
  Query: serialize.query('SELECT \'héllo\' AS "wörld"'),
  Parse: serialize.parse({ name: 's1', text: 'SELECT $1::int', types: [23] }),
  Bind: serialize.bind({ portal: 'p1', statement: 's1', values: ['42', null, Buffer.from([1, 2])] }),
  DescribeStatement: serialize.describe({ type: 'S', name: 's1' }),
  DescribePortal: serialize.describe({ type: 'P', name: '' }),
  Execute: serialize.execute({ portal: 'p1', rows: 10 }),
  CloseStatement: serialize.close({ type: 'S', name: 's1' }),
  Sync: serialize.sync(),
  Flush: serialize.flush(),
  Terminate: serialize.end(),
  CopyData: serialize.copyData(Buffer.from('1\tone\n')),
  CopyDone: serialize.copyDone(),
  CopyFail: serialize.copyFail('client gave up'),
  Password: serialize.password('secret'),
  SASLInitialResponse: serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=abc'),
  SASLResponse: serialize.sendSCRAMClientFinalMessage('c=biws,r=abc,p=xyz'),
};

function frameAll(bytes: Buffer, split: number, startup = false): Frame[] {
  const framer = new PgFramer(1024 * 1024, startup);
  const frames: Frame[] = [];
  framer.push(bytes.subarray(0, split), (f) => frames.push(f));
  framer.push(bytes.subarray(split), (f) => frames.push(f));
  return frames;
}

describe('PgFramer and decodeFrontend', () => {
  const stream = Buffer.concat(Object.values(frontendMessages));
  const expected = Object.values(frontendMessages).map((m) =>
    decodeFrontend({ code: m[0]!, raw: m, bodyOffset: 5 }),
  );

  test('every frontend message type, split at every byte offset, frames and decodes the same', () => {
    for (let split = 0; split <= stream.length; split++) {
      const frames = frameAll(stream, split);
      assert.equal(frames.length, expected.length, `split at ${split}`);
      frames.forEach((f, i) => {
        assert.deepEqual(
          f.raw,
          Object.values(frontendMessages)[i],
          `raw bytes kept (split ${split}, message ${i})`,
        );
        assert.deepEqual(decodeFrontend(f), expected[i]);
      });
    }
  });

  test('decoded fields are the ones the driver sent', () => {
    assert.deepEqual(expected[0], { code: 0x51, sql: 'SELECT \'héllo\' AS "wörld"' });
    assert.deepEqual(expected[1], { code: 0x50, statement: 's1', sql: 'SELECT $1::int', paramTypes: [23] });
    assert.deepEqual(expected[2], { code: 0x42, portal: 'p1', statement: 's1' });
    assert.deepEqual(expected[5], { code: 0x45, portal: 'p1', maxRows: 10 });
  });

  test('a message split across many chunks is joined once and keeps its bytes', () => {
    const big = serialize.query(`SELECT '${'x'.repeat(200_000)}'`);
    const framer = new PgFramer(1024 * 1024, false);
    const frames: Frame[] = [];
    for (let i = 0; i < big.length; i += 1000) framer.push(big.subarray(i, i + 1000), (f) => frames.push(f));
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0]!.raw, big);
  });

  test('startup, SSLRequest, GSSENCRequest and CancelRequest decode at every split', () => {
    const startup = serialize.startup({ user: 'app', database: 'appdb', application_name: 'ünï' });
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const gss = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
    const cancel = serialize.cancel(1234, 5678);
    for (const [bytes, check] of [
      [
        startup,
        (m: ReturnType<typeof decodeStartup>) =>
          m.kind === 'startup' && m.params.get('application_name') === 'ünï',
      ],
      [ssl, (m: ReturnType<typeof decodeStartup>) => m.kind === 'ssl'],
      [gss, (m: ReturnType<typeof decodeStartup>) => m.kind === 'gssenc'],
      [
        cancel,
        (m: ReturnType<typeof decodeStartup>) =>
          m.kind === 'cancel' && m.processId === 1234 && m.secretKey === 5678,
      ],
    ] as const) {
      for (let split = 0; split <= bytes.length; split++) {
        const frames = frameAll(bytes, split, true);
        assert.equal(frames.length, 1);
        assert.ok(check(decodeStartup(frames[0]!)), `split ${split}`);
      }
    }
  });

  test('the startup message the proxy writes carries exactly the given parameters', () => {
    const params = new Map([
      ['user', 'app'],
      ['client_encoding', 'LATIN1'],
      ['options', '-c shiftgate.version=02_add\\ email'],
    ]);
    const frames = frameAll(encodeStartup(params), 3, true);
    const decoded = decodeStartup(frames[0]!);
    assert.equal(decoded.kind, 'startup');
    assert.deepEqual(decoded.kind === 'startup' && [...decoded.params], [...params]);
    assert.equal(decoded.kind === 'startup' && decoded.minorVersion, 0);
  });

  const malformed: [string, Buffer, boolean][] = [
    ['length below 4', Buffer.from([0x51, 0, 0, 0, 2]), false],
    ['length above the limit', Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]), false],
    ['negative length', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]), false],
    ['startup length below 8', Buffer.from([0, 0, 0, 4]), true],
  ];
  for (const [name, bytes, startup] of malformed) {
    test(`framer rejects ${name} with a ProtocolError`, () => {
      const framer = new PgFramer(1024 * 1024, startup);
      assert.throws(
        () => framer.push(bytes, () => {}),
        (e) => e instanceof ProtocolError,
      );
    });
  }

  const badBodies: [string, Buffer][] = [
    ['Query without its NUL terminator', Buffer.from([0x51, 0, 0, 0, 7, 0x61, 0x62, 0x63])],
    ['Query with trailing bytes', Buffer.from([0x51, 0, 0, 0, 7, 0x61, 0, 0x63])],
    [
      'Parse whose parameter count runs past the frame',
      Buffer.from([0x50, 0, 0, 0, 10, 0, 0x61, 0, 0, 9, 0]),
    ],
    [
      'Parse announcing 65,535 parameter types it does not carry',
      Buffer.from([0x50, 0, 0, 0, 8, 0, 0x61, 0, 0xff, 0xff]),
    ],
    ['Execute missing its row limit', Buffer.from([0x45, 0, 0, 0, 5, 0])],
    ['Describe with an invalid target', Buffer.from([0x44, 0, 0, 0, 6, 0x58, 0])],
    ['Sync with a body', Buffer.from([0x53, 0, 0, 0, 5, 1])],
    ['an unknown message type', Buffer.from([0x7a, 0, 0, 0, 4])],
  ];
  for (const [name, raw] of badBodies) {
    test(`decodeFrontend rejects ${name} with a ProtocolError, never reading past the frame`, () => {
      const frames = frameAll(raw, raw.length);
      assert.equal(frames.length, 1);
      assert.throws(
        () => decodeFrontend(frames[0]!),
        (e) => e instanceof ProtocolError && e.offset <= raw.length,
      );
    });
  }

  test('startup messages with a bad protocol or unterminated parameters are ProtocolErrors', () => {
    const v2 = Buffer.from([0, 0, 0, 9, 0, 2, 0, 0, 0]);
    const unterminated = Buffer.from([0, 0, 0, 12, 0, 3, 0, 0, 0x75, 0x73, 0x65, 0x72]);
    for (const raw of [v2, unterminated]) {
      assert.throws(
        () => decodeStartup({ code: -1, raw, bodyOffset: 4 }),
        (e) => e instanceof ProtocolError,
      );
    }
  });

  test('random bytes never crash the framer or decoder with anything but a ProtocolError', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (rand() % 64) }, () => rand() & 0xff));
      if (round % 2 === 0) bytes[0] = 'QPBDECSHXdcfp'.charCodeAt(rand() % 13);
      const framer = new PgFramer(4096, false);
      try {
        framer.push(bytes, (f) => decodeFrontend(f));
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `round ${round}: ${(e as Error).message}`);
      }
    }
  });
});

/** One message as a streaming framer delivered it: whole, or joined back from its pieces. */
type Delivered = { raw: string; streamed: boolean };

/**
 * Feeds `bytes` cut at `cuts` to a framer that streams messages from
 * `streamFrom` bytes up unless they are Parse; checks every piece and
 * returns the messages in order.
 */
function streamAll(bytes: Buffer, cuts: number[], streamFrom: number): Delivered[] {
  const framer = new PgFramer(1024 * 1024, false, streamFrom);
  const out: Delivered[] = [];
  const relayed: Buffer[] = [];
  let open: { total: number; parts: Buffer[] } | null = null;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    framer.push(
      bytes.subarray(from, cut),
      (f) => {
        assert.equal(open, null, 'no whole frame inside a streamed one');
        relayed.push(f.raw);
        out.push({ raw: f.raw.toString('hex'), streamed: false });
      },
      {
        large(code, head, total) {
          assert.equal(open, null);
          assert.ok(total >= streamFrom);
          assert.equal(head.length, Math.min(total, 5 + STREAM_HEAD_BYTES));
          assert.equal(head[0], code);
          assert.equal(head.readInt32BE(1) + 1, total);
          if (code === 0x50 /* 'P' */) return false;
          open = { total, parts: [] };
          return true;
        },
        piece(piece, last) {
          assert.ok(open !== null && piece.length > 0);
          open.parts.push(piece);
          relayed.push(piece);
          const sofar = open.parts.reduce((n, p) => n + p.length, 0);
          assert.equal(last, sofar === open.total, 'last exactly on the final byte');
          if (last) {
            out.push({ raw: Buffer.concat(open.parts).toString('hex'), streamed: true });
            open = null;
          }
        },
      },
    );
    from = cut;
  }
  assert.equal(open, null);
  assert.ok(framer.atBoundary);
  assert.deepEqual(Buffer.concat(relayed), bytes, 'every byte relayed once, in order');
  return out;
}

describe('PgFramer streaming large messages', () => {
  const messages = [
    serialize.query('SELECT 1'),
    serialize.copyData(Buffer.alloc(30, 0x61)),
    serialize.parse({ text: `SELECT '${'p'.repeat(30)}'` }),
    serialize.sync(),
    serialize.bind({ values: ['b'.repeat(40)] }),
    serialize.copyData(Buffer.alloc(3, 0x62)),
    serialize.query(`SELECT '${'q'.repeat(25)}'`),
  ];
  const bytes = Buffer.concat(messages);
  const expected = messages.map((m) => ({
    raw: m.toString('hex'),
    streamed: m.length >= 24 && m[0] !== 0x50,
  }));

  test('streams the messages the consumer takes and frames the others whole, at every split offset', () => {
    assert.ok(expected.filter((e) => e.streamed).length >= 3);
    assert.deepEqual(streamAll(bytes, [], 24), expected);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(streamAll(bytes, [cut], 24), expected, `cut at ${cut}`);
    }
  });

  test('at pairs of split offsets and one byte at a time', () => {
    for (let a = 1; a < bytes.length; a += 3) {
      for (let b = a + 1; b < bytes.length; b += 2) {
        assert.deepEqual(streamAll(bytes, [a, b], 24), expected, `cuts at ${a}, ${b}`);
      }
    }
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(streamAll(bytes, cuts, 24), expected);
  });

  test('a message over the limit is refused before it is offered, and a short length is malformed', () => {
    const framer = new PgFramer(100, false, 10);
    const stream = { large: () => assert.fail('not offered'), piece: () => {} };
    assert.throws(
      () => framer.push(serialize.copyData(Buffer.alloc(200)), () => {}, stream),
      (e: unknown) => e instanceof ProtocolError && /exceeds the limit/.test(e.message),
    );
    assert.throws(
      () => new PgFramer(100, false, 10).push(Buffer.from([0x64, 0, 0, 0, 2]), () => {}, stream),
      ProtocolError,
    );
  });
});

describe('backend encoders and scanner', () => {
  function parseBackend(bytes: Buffer): { name: string; [k: string]: unknown }[] {
    const out: { name: string }[] = [];
    new Parser().parse(bytes, (m) => out.push(m as unknown as { name: string }));
    return out as { name: string; [k: string]: unknown }[];
  }

  test('pg-protocol reads back every message the proxy writes', () => {
    const [error] = parseBackend(
      encodeErrorResponse({ severity: 'FATAL', code: '08006', message: 'upstream gone', hint: 'reconnect' }),
    );
    assert.equal(error!.name, 'error');
    assert.equal(error!.code, '08006');
    assert.equal(error!.message, 'upstream gone');
    assert.equal(error!.hint, 'reconnect');
    const [key] = parseBackend(encodeBackendKeyData(77, 88));
    assert.equal(key!.processID, 77);
    assert.equal(key!.secretKey, 88);
    const [sasl] = parseBackend(encodeAuthenticationSASL(['SCRAM-SHA-256']));
    assert.deepEqual(sasl!.mechanisms, ['SCRAM-SHA-256']);
    const [rowDesc, row, done, ready] = parseBackend(
      Buffer.concat([
        rowDescription(['name', 'phase']),
        dataRow(['add_email', null]),
        commandComplete('SHOW'),
        readyForQuery('I'),
      ]),
    );
    assert.deepEqual(
      (rowDesc!.fields as { name: string }[]).map((f) => f.name),
      ['name', 'phase'],
    );
    assert.deepEqual(row!.fields, ['add_email', null]);
    assert.equal(done!.text, 'SHOW');
    assert.equal(ready!.status, 'I');
    const npv = encodeNegotiateProtocolVersion(0, ['_pq_.x']);
    assert.equal(String.fromCharCode(npv[0]!), 'v');
    assert.equal(npv.readInt32BE(1), npv.length - 1);
  });

  test('the scanner finds ReadyForQuery and errors at every split, skipping big rows unbuffered', () => {
    const stream = Buffer.concat([
      rowDescription(['x']),
      dataRow(['y'.repeat(70_000)]),
      commandComplete('SELECT 1'),
      readyForQuery('T'),
      encodeErrorResponse({ severity: 'ERROR', code: '42P01', message: 'nope' }),
      readyForQuery('E'),
    ]);
    for (let split = 0; split <= stream.length; split += split < 40 || split > stream.length - 80 ? 1 : 997) {
      const seen: [number, string][] = [];
      const scanner = new BackendScanner([0x5a, 0x45], (code, body) =>
        seen.push([code, code === 0x5a ? String.fromCharCode(body[0]!) : body.toString('latin1')]),
      );
      scanner.scan(stream.subarray(0, split));
      scanner.scan(stream.subarray(split));
      assert.equal(seen.length, 3, `split ${split}`);
      assert.deepEqual(seen[0], [0x5a, 'T']);
      assert.equal(seen[1]![0], 0x45);
      assert.ok(seen[1]![1].includes('C42P01'));
      assert.deepEqual(seen[2], [0x5a, 'E']);
    }
  });

  test('the result-set encoders write what the server writes for text columns', () => {
    assert.deepEqual(encodeRowDescription(['name', 'phase']), rowDescription(['name', 'phase']));
    assert.deepEqual(encodeDataRow(['add_émail', null, '']), dataRow(['add_émail', null, '']));
    assert.deepEqual(encodeCommandComplete('SHOW'), commandComplete('SHOW'));
    const [suspended] = parseBackend(encodePortalSuspended());
    assert.equal(suspended!.name, 'portalSuspended');
    const result = { columns: ['n'], rows: [['1'], ['2'], ['3']], tag: 'SHOW' };
    const first = encodeLocalRows(result, 0, 2);
    assert.deepEqual(
      parseBackend(first.bytes).map((m) => m.name),
      ['dataRow', 'dataRow', 'portalSuspended'],
    );
    assert.equal(first.next, 2);
    const rest = encodeLocalRows(result, 2, 2);
    assert.deepEqual(
      parseBackend(rest.bytes).map((m) => m.name),
      ['dataRow', 'commandComplete'],
    );
    assert.equal(rest.next, null);
  });

  test('local answers replace the stand-ins responses in place, at every split', () => {
    const marker = Buffer.from('shiftgate_local_answer_1f');
    const markerError = encodeErrorResponse({
      severity: 'ERROR',
      code: '26000',
      message: `prepared statement "${marker}" does not exist`,
    });
    const ours = encodeErrorResponse({
      severity: 'ERROR',
      code: '42601',
      message: 'unrecognised',
      hint: 'valid',
    });
    const rows = Buffer.concat([dataRow(['a']), commandComplete('SHOW')]);
    const result = Buffer.concat([rowDescription(['v']), dataRow(['b']), commandComplete('SHOW')]);
    const serverOwn = encodeErrorResponse({ severity: 'ERROR', code: '25P02', message: 'aborted' });
    const closeComplete = Buffer.from([0x33, 0, 0, 0, 4]);
    const parseComplete = Buffer.from([0x31, 0, 0, 0, 4]);
    const noColumns = Buffer.from([0x54, 0, 0, 0, 6, 0, 0]);
    const stream = Buffer.concat([
      // Batch 0: a re-prepare's ParseComplete, the client's own Close, an Execute's stand-in, a refusal's.
      parseComplete,
      closeComplete,
      closeComplete,
      markerError,
      readyForQuery('E'),
      // Batch 1: a Query answered with rows.
      noColumns,
      commandComplete('SELECT 0'),
      readyForQuery('I'),
      // Batch 2: a refusal's stand-in in a failed transaction gets the server's own 25P02.
      serverOwn,
      readyForQuery('E'),
      // Batch 3: nothing of the proxy's.
      dataRow(['z'.repeat(3000)]),
      readyForQuery('I'),
    ]);
    const expected = Buffer.concat([
      closeComplete,
      rows,
      ours,
      readyForQuery('E'),
      result,
      readyForQuery('I'),
      serverOwn,
      readyForQuery('E'),
      dataRow(['z'.repeat(3000)]),
      readyForQuery('I'),
    ]);
    for (let split = 0; split <= stream.length; split++) {
      const queue = new LocalAnswerQueue();
      queue.drop(0, BackendCode.ParseComplete);
      queue.closeFromClient(0);
      queue.replace(0, BackendCode.CloseComplete, rows);
      queue.replaceError(0, marker, ours);
      queue.drop(1, BackendCode.RowDescription);
      queue.replace(1, BackendCode.CommandComplete, result);
      queue.replaceError(2, marker, ours);
      const scanner = new BackendScanner([0x5a, 0x45], (code) =>
        code === 0x5a ? queue.onReadyForQuery() : queue.onError(),
      );
      const out: Buffer[] = [];
      for (const chunk of [stream.subarray(0, split), stream.subarray(split)]) {
        if (queue.active || scanner.holdsBytes) {
          out.push(
            ...scanner.scanFiltering(
              chunk,
              (code) => queue.decide(code),
              (code, raw) => queue.decideHeld(code, raw),
            ),
          );
        } else {
          scanner.scan(chunk);
          out.push(chunk);
        }
      }
      assert.deepEqual(Buffer.concat(out), expected, `split ${split}`);
      assert.equal(queue.active, false, `split ${split}: nothing left pending`);
    }
  });
});

describe('malformed server messages', () => {
  const frame = (code: string, body: Buffer): Frame => {
    const raw = Buffer.alloc(5 + body.length);
    raw[0] = code.charCodeAt(0);
    raw.writeInt32BE(body.length + 4, 1);
    body.copy(raw, 5);
    return { code: raw[0]!, raw, bodyOffset: 5 };
  };

  test('login messages pg-protocol cannot read are ProtocolErrors, not plain errors', () => {
    const unknownAuth = Buffer.alloc(4);
    unknownAuth.writeInt32BE(192);
    for (const bad of [frame('R', unknownAuth), frame('K', Buffer.alloc(2)), frame('R', Buffer.alloc(0))]) {
      assert.throws(
        () => decodeBackend(bad),
        ProtocolError,
        `${String.fromCharCode(bad.code)} ${bad.raw.length}`,
      );
    }
  });

  test('the scanner refuses unknown message types and a ReadyForQuery that is not one status byte', () => {
    for (const bad of [
      frame('z', Buffer.alloc(0)),
      frame('\0', Buffer.alloc(3)),
      frame('Z', Buffer.from('II')),
    ]) {
      for (let split = 0; split <= bad.raw.length; split++) {
        const scanner = new BackendScanner([0x5a], () => {});
        assert.throws(
          () => {
            scanner.scan(bad.raw.subarray(0, split));
            scanner.scan(bad.raw.subarray(split));
          },
          ProtocolError,
          `${JSON.stringify(bad.raw.toString('latin1'))} split at ${split}`,
        );
      }
    }
  });
});

describe('backend scanner filtering', () => {
  const stream = Buffer.concat([
    rowDescription(['x']),
    dataRow(['y'.repeat(3000)]),
    commandComplete('SELECT 1'),
    encodeErrorResponse({ severity: 'ERROR', code: '23514', message: 'check "_shiftgate_nn_x"' }),
    readyForQuery('E'),
    encodeErrorResponse({ severity: 'ERROR', code: '42P01', message: 'nope' }),
    readyForQuery('I'),
  ]);
  const errorsReworded = (raw: Buffer) =>
    encodeErrorFields(
      decodeErrorFields(raw.subarray(5)).map(([t, v]) => [t, t === 'M' ? `reworded ${v}` : v]),
    );
  /** Errors held whole and re-made; `drop` codes taken out of the stream; the rest forwarded. */
  const decide =
    (drop = -1) =>
    (code: number) =>
      code === drop ? 'drop' : code === 0x45 ? 'hold' : 'forward';
  const remake = (code: number, raw: Buffer) => (code === 0x45 ? errorsReworded(raw) : raw);

  test('held errors are re-made in place, at every split into two and three chunks, other bytes unchanged', () => {
    const expected = Buffer.concat([
      rowDescription(['x']),
      dataRow(['y'.repeat(3000)]),
      commandComplete('SELECT 1'),
      encodeErrorResponse({ severity: 'ERROR', code: '23514', message: 'reworded check "_shiftgate_nn_x"' }),
      readyForQuery('E'),
      encodeErrorResponse({ severity: 'ERROR', code: '42P01', message: 'reworded nope' }),
      readyForQuery('I'),
    ]);
    const points: number[] = [];
    for (let p = 0; p <= stream.length; p += p < 60 || p > stream.length - 200 ? 1 : 331) points.push(p);
    for (const a of points) {
      for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 7)]) {
        const seen: number[] = [];
        const scanner = new BackendScanner([0x5a, 0x45], (code) => seen.push(code));
        const out: Buffer[] = [];
        for (const part of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) {
          out.push(...scanner.scanFiltering(part, decide(), remake));
        }
        assert.equal(scanner.holdsBytes, false);
        assert.deepEqual(Buffer.concat(out), expected, `splits ${a}, ${b}`);
        assert.deepEqual(seen, [0x45, 0x5a, 0x45, 0x5a]);
      }
    }
  });

  test('a dropped message and a re-made one in the same chunk', () => {
    const scanner = new BackendScanner([0x5a, 0x45], () => {});
    const parts = scanner.scanFiltering(stream, decide(0x43 /* 'C' CommandComplete */), remake);
    const text = Buffer.concat(parts).toString('latin1');
    assert.ok(!text.includes('SELECT 1'));
    assert.ok(text.includes('reworded nope'));
  });

  test('an ErrorResponse body without its terminator is a ProtocolError', () => {
    assert.throws(() => decodeErrorFields(Buffer.from('C23505\0Mx')), ProtocolError);
    assert.throws(() => decodeErrorFields(Buffer.from('C23505\0')), ProtocolError);
    assert.deepEqual(decodeErrorFields(Buffer.from('C23505\0Mdup\0\0')), [
      ['C', '23505'],
      ['M', 'dup'],
    ]);
  });
});
