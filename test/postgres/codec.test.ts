/**
 * The PostgreSQL wire codec on its own: framing at every split point,
 * bounded decoding, and the proxy's own encoders read back by pg-protocol.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import {
  encodeAuthenticationSASL,
  encodeBackendKeyData,
  encodeErrorResponse,
  encodeNegotiateProtocolVersion,
} from '../../src/dialects/postgres/codec/backend-encoder.ts';
import { BackendScanner } from '../../src/dialects/postgres/codec/backend-scanner.ts';
import { decodeErrorFields, encodeErrorFields } from '../../src/dialects/postgres/codec/error-fields.ts';
import { type Frame, PgFramer } from '../../src/dialects/postgres/codec/framer.ts';
import { decodeFrontend, decodeStartup } from '../../src/dialects/postgres/codec/frontend.ts';
import { encodeStartup } from '../../src/dialects/postgres/codec/startup-encoder.ts';
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
  const errorsReworded = (body: Buffer) =>
    encodeErrorFields(decodeErrorFields(body).map(([t, v]) => [t, t === 'M' ? `reworded ${v}` : v]));

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
          out.push(
            ...scanner.scanFiltering(
              part,
              () => false,
              (code) => (code === 0x45 ? errorsReworded : null),
            ),
          );
        }
        assert.equal(scanner.holdsBytes, false);
        assert.deepEqual(Buffer.concat(out), expected, `splits ${a}, ${b}`);
        assert.deepEqual(seen, [0x45, 0x5a, 0x45, 0x5a]);
      }
    }
  });

  test('nothing to drop or re-make: the chunk goes out as slices of itself, not copies', () => {
    const scanner = new BackendScanner([0x5a, 0x45], () => {});
    const parts = scanner.scanFiltering(
      stream,
      () => false,
      () => null,
    );
    assert.deepEqual(Buffer.concat(parts), stream);
    for (const p of parts) assert.equal(p.buffer, stream.buffer);
  });

  test('a dropped message and a re-made one in the same chunk', () => {
    const scanner = new BackendScanner([0x5a, 0x45], () => {});
    const parts = scanner.scanFiltering(
      stream,
      (code) => code === 0x43, // 'C' CommandComplete
      (code) => (code === 0x45 ? errorsReworded : null),
    );
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
