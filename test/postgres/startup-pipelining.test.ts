/**
 * Messages pipelined behind the startup-phase messages. After a
 * StartupMessage every message is typed; after an SSLRequest or
 * GSSENCRequest answered 'N' the next one is untyped again; bytes behind an
 * SSLRequest the proxy answers 'S' arrived unencrypted and are refused
 * (CVE-2021-23214). Each sequence is sent coalesced into one chunk and
 * split at every byte boundary, to the framer alone and through the proxy
 * to real servers (the shared trusting one, and a private one for
 * cleartext, md5 and SCRAM passwords).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import postgres from 'postgres';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/cli/embedded-postgres.ts';
import { type Frame, PgFramer } from '../../src/dialects/postgres/codec/framer.ts';
import { decodeStartup } from '../../src/dialects/postgres/codec/frontend.ts';
import { selfSignedCertificate } from '../helpers/certificates.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';
import { freePort } from '../helpers/ports.ts';
import { GSSENC_REQUEST, RawPgClient, SSL_REQUEST } from './raw-client.ts';

interface ScramSession {
  mechanism: string;
  response: string;
}
const sasl = createRequire(import.meta.url)('pg/lib/crypto/sasl.js') as {
  startSession(mechanisms: string[]): ScramSession;
  continueSession(session: ScramSession, password: string, serverData: string): Promise<void>;
  finalizeSession(session: ScramSession, serverData: string): void;
};

const startup = (user: string, database: string) => serialize.startup({ user, database });

/** Every way of cutting `bytes` into two chunks, the uncut stream first. */
function splits(bytes: Buffer): { label: string; chunks: Buffer[] }[] {
  const out = [{ label: 'coalesced', chunks: [bytes] }];
  for (let i = 1; i < bytes.length; i++) {
    out.push({ label: `split at ${i}`, chunks: [bytes.subarray(0, i), bytes.subarray(i)] });
  }
  return out;
}

/** Frames `chunks` the way the session does: typed from the frame after a StartupMessage. */
function frameLikeSession(chunks: Buffer[]): { frames: Frame[]; afterSsl: number[] } {
  const framer = new PgFramer(1024 * 1024, true);
  const frames: Frame[] = [];
  const afterSsl: number[] = [];
  for (const chunk of chunks) {
    framer.push(chunk, (frame) => {
      frames.push(frame);
      if (frame.code !== -1) return;
      const msg = decodeStartup(frame);
      if (msg.kind === 'startup') framer.typed();
      if (msg.kind === 'ssl') afterSsl.push(framer.bytesAfterFrame);
    });
  }
  return { frames, afterSsl };
}

const user = 'postgres';
const frameSequences = (database: string): [string, Buffer[]][] => [
  ['Startup + Terminate', [startup(user, database), serialize.end()]],
  ['Startup + Query', [startup(user, database), serialize.query('SELECT 1')]],
  [
    'Startup + PasswordMessage + Query',
    [startup(user, database), serialize.password('pw'), serialize.query('SELECT 1')],
  ],
  [
    'Startup + SASLInitialResponse',
    [startup(user, database), serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=*,r=abc')],
  ],
  ['SSLRequest + Startup + Query', [SSL_REQUEST, startup(user, database), serialize.query('SELECT 1')]],
  ['GSSENCRequest + Startup + Query', [GSSENC_REQUEST, startup(user, database), serialize.query('SELECT 1')]],
  [
    'GSSENCRequest + SSLRequest + Startup + Query',
    [GSSENC_REQUEST, SSL_REQUEST, startup(user, database), serialize.query('SELECT 1')],
  ],
];

describe('PgFramer: messages pipelined behind startup-phase messages', () => {
  for (const [name, messages] of frameSequences('appdb')) {
    test(`${name}: the same frames coalesced, split at every byte and fed byte by byte`, () => {
      const stream = Buffer.concat(messages);
      const cuts = [
        ...splits(stream),
        { label: 'byte by byte', chunks: [...stream].map((b) => Buffer.from([b])) },
      ];
      for (const { label, chunks } of cuts) {
        const { frames } = frameLikeSession(chunks);
        assert.equal(frames.length, messages.length, label);
        frames.forEach((f, i) => {
          assert.deepEqual(f.raw, messages[i], `${label}: message ${i} keeps its bytes`);
          const untyped =
            messages[i] === SSL_REQUEST ||
            messages[i] === GSSENC_REQUEST ||
            i === messages.findIndex((m) => m.readInt32BE(4) === 196608);
          assert.equal(f.code, untyped ? -1 : messages[i]![0], `${label}: message ${i} typed or not`);
        });
      }
    });
  }

  test('bytesAfterFrame tells what was sent behind an SSLRequest, in the same chunk or the one completing it', () => {
    const stream = Buffer.concat([SSL_REQUEST, startup(user, 'appdb')]);
    for (const { label, chunks } of splits(stream)) {
      const { afterSsl } = frameLikeSession(chunks);
      const expected =
        chunks.length === 1 || chunks[0]!.length < 8 ? stream.length - 8 : chunks[0]!.length - 8;
      assert.deepEqual(afterSsl, [expected], label);
    }
    assert.deepEqual(frameLikeSession([SSL_REQUEST]).afterSsl, [0]);
  });
});

const rows = (c: RawPgClient) => c.messages.filter((m) => m.name === 'dataRow').map((m) => m.fields);
const errors = (c: RawPgClient) => c.messages.filter((m) => m.name === 'error');

async function protocolErrors(proxy: TestPgProxy): Promise<number> {
  return (await proxy.proxy.ctx.metrics.protocolErrors.get()).values.reduce((n, v) => n + v.value, 0);
}

describe('startup pipelining through the proxy (shared server, trust)', () => {
  let db: TestDatabase;
  let proxy: TestPgProxy;

  before(async () => {
    db = await createPgDatabase('startup_pipe');
    proxy = await startPgProxy(db.url);
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  const queries: [string, (database: string) => Buffer[], number][] = [
    ['Startup + Query', (d) => [startup(user, d), serialize.query('SELECT 40 + 2')], 0],
    [
      'SSLRequest (N) + Startup + Query',
      (d) => [SSL_REQUEST, startup(user, d), serialize.query('SELECT 40 + 2')],
      1,
    ],
    [
      'GSSENCRequest (N) + Startup + Query',
      (d) => [GSSENC_REQUEST, startup(user, d), serialize.query('SELECT 40 + 2')],
      1,
    ],
    [
      'GSSENCRequest (N) + SSLRequest (N) + Startup + Query',
      (d) => [GSSENC_REQUEST, SSL_REQUEST, startup(user, d), serialize.query('SELECT 40 + 2')],
      2,
    ],
  ];
  for (const [name, build, answers] of queries) {
    test(`${name}: answered after login, coalesced and split at every byte`, async () => {
      for (const { label, chunks } of splits(Buffer.concat(build(db.name)))) {
        const c = new RawPgClient(proxy.port, answers);
        await c.write(...chunks);
        await c.ready(2).catch((e: Error) => assert.fail(`${label}: ${e.message}`));
        assert.equal(c.declined, 'N'.repeat(answers), label);
        assert.deepEqual(errors(c), [], label);
        assert.ok(c.names().includes('authenticationOk'), label);
        assert.deepEqual(rows(c), [['42']], label);
        c.destroy();
      }
      assert.equal(await protocolErrors(proxy), 0);
    });
  }

  test('Startup + Terminate: the session logs in and closes quietly, coalesced and split at every byte', async () => {
    const before = (await proxy.proxy.ctx.metrics.clientConnections.get()).values[0]?.value ?? 0;
    for (const { label, chunks } of splits(Buffer.concat([startup(user, db.name), serialize.end()]))) {
      const c = new RawPgClient(proxy.port);
      await c.write(...chunks);
      await c.untilClosed();
      assert.ok(c.closed, label);
      assert.deepEqual(errors(c), [], label);
      assert.ok(c.names().includes('readyForQuery'), `${label}: ${c.names()}`);
    }
    assert.equal(await protocolErrors(proxy), 0);
    // Every one of those sessions is gone on the proxy too.
    for (let i = 0; i < 50; i++) {
      const now = (await proxy.proxy.ctx.metrics.clientConnections.get()).values[0]?.value ?? 0;
      if (now <= before) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(((await proxy.proxy.ctx.metrics.clientConnections.get()).values[0]?.value ?? 0) <= before);
  });

  test('pg and postgres.js connect-and-quit loops', async () => {
    const url = proxy.via(db.url);
    for (let i = 0; i < 30; i++) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.end();
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      const [row] = await sql`SELECT ${i}::int AS i`;
      assert.equal(row!.i, i);
      await sql.end();
    }
    assert.equal(await protocolErrors(proxy), 0);
  });
});

describe('startup pipelining with passwords (private server)', () => {
  let workDir: string;
  let server: EmbeddedServer;
  let proxy: TestPgProxy;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'shiftgate-startup-pipe-'));
    execFileSync('chmod', ['755', workDir]);
    const port = await freePort();
    server = await startEmbeddedPostgres({
      dataDir: join(workDir, 'data'),
      port,
      password: 'supersecret',
      authMethod: 'md5', // md5 in pg_hba also accepts SCRAM for users whose password is stored as SCRAM
    });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query("CREATE ROLE scram_user LOGIN PASSWORD 'scram-pass'");
    await admin.query("CREATE ROLE clear_user LOGIN PASSWORD 'clear-pass'");
    await admin.query("SET password_encryption = 'md5'");
    await admin.query("CREATE ROLE md5_user LOGIN PASSWORD 'md5-pass'");
    // A cleartext-password rule, so a client can send its password before the server asks for it.
    const hba = (await admin.query('SHOW hba_file')).rows[0].hba_file as string;
    writeFileSync(hba, `host all clear_user 127.0.0.1/32 password\n${readFileSync(hba, 'utf8')}`);
    await admin.query('SELECT pg_reload_conf()');
    await admin.end();
    proxy = await startPgProxy(`postgres://127.0.0.1:${port}/postgres`);
  });

  after(async () => {
    await proxy?.stop();
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('Startup + PasswordMessage + Query (cleartext), coalesced and split at every byte', async () => {
    const stream = Buffer.concat([
      startup('clear_user', 'postgres'),
      serialize.password('clear-pass'),
      serialize.query('SELECT current_user'),
    ]);
    for (const { label, chunks } of splits(stream)) {
      const c = new RawPgClient(proxy.port);
      await c.write(...chunks);
      await c.ready(2).catch((e: Error) => assert.fail(`${label}: ${e.message}`));
      assert.equal(c.messages[0]!.name, 'authenticationCleartextPassword', label);
      assert.deepEqual(errors(c), [], label);
      assert.deepEqual(rows(c), [['clear_user']], label);
      c.destroy();
    }
    assert.equal(await protocolErrors(proxy), 0);
  });

  test('Startup + wrong PasswordMessage + Query: the server refuses the login, nothing runs', async () => {
    const c = new RawPgClient(proxy.port);
    await c.write(
      Buffer.concat([
        startup('clear_user', 'postgres'),
        serialize.password('nope'),
        serialize.query('SELECT 1'),
      ]),
    );
    await c.untilClosed();
    assert.deepEqual(
      errors(c).map((e) => e.code),
      ['28P01'],
    );
    assert.deepEqual(rows(c), []);
  });

  test('SCRAM: Startup + SASLInitialResponse split at every byte, then SASLResponse + Query', async () => {
    const first = startup('scram_user', 'postgres');
    const probe = sasl.startSession(['SCRAM-SHA-256']);
    const length =
      first.length + serialize.sendSASLInitialResponseMessage(probe.mechanism, probe.response).length;
    for (let split = 0; split < length; split++) {
      const session = sasl.startSession(['SCRAM-SHA-256']);
      const stream = Buffer.concat([
        first,
        serialize.sendSASLInitialResponseMessage(session.mechanism, session.response),
      ]);
      const c = new RawPgClient(proxy.port);
      await c.write(...(split === 0 ? [stream] : [stream.subarray(0, split), stream.subarray(split)]));
      await c.until(
        (m) => m.some((x) => x.name === 'authenticationSASLContinue'),
        `SASLContinue (split ${split})`,
      );
      const serverFirst = c.messages.find((x) => x.name === 'authenticationSASLContinue')!.data!;
      await sasl.continueSession(session, 'scram-pass', serverFirst);
      // The last SASLResponse with a Query behind it, cut somewhere too.
      const last = Buffer.concat([
        serialize.sendSCRAMClientFinalMessage(session.response),
        serialize.query('SELECT current_user'),
      ]);
      const cut = split % last.length;
      await c.write(...(cut === 0 ? [last] : [last.subarray(0, cut), last.subarray(cut)]));
      await c.ready(2).catch((e: Error) => assert.fail(`split ${split}: ${e.message}`));
      sasl.finalizeSession(session, c.messages.find((x) => x.name === 'authenticationSASLFinal')!.data!);
      assert.deepEqual(errors(c), [], `split ${split}`);
      assert.deepEqual(rows(c), [['scram_user']], `split ${split}`);
      c.destroy();
    }
    assert.equal(await protocolErrors(proxy), 0);
  });

  test('md5: PasswordMessage + Query sent together after the salt, split at every byte', async () => {
    const probe = Buffer.concat([
      serialize.password(`md5${'0'.repeat(32)}`),
      serialize.query('SELECT current_user'),
    ]);
    for (let split = 0; split < probe.length; split++) {
      const c = new RawPgClient(proxy.port);
      await c.write(startup('md5_user', 'postgres'));
      await c.until((m) => m.some((x) => x.name === 'authenticationMD5Password'), 'md5 request');
      const salt = c.messages.find((x) => x.name === 'authenticationMD5Password')!.salt!;
      const inner = createHash('md5').update('md5-passmd5_user').digest('hex');
      const hashed = `md5${createHash('md5')
        .update(Buffer.concat([Buffer.from(inner), salt]))
        .digest('hex')}`;
      const stream = Buffer.concat([serialize.password(hashed), serialize.query('SELECT current_user')]);
      await c.write(...(split === 0 ? [stream] : [stream.subarray(0, split), stream.subarray(split)]));
      await c.ready(2).catch((e: Error) => assert.fail(`split ${split}: ${e.message}`));
      assert.deepEqual(errors(c), [], `split ${split}`);
      assert.deepEqual(rows(c), [['md5_user']], `split ${split}`);
      c.destroy();
    }
  });

  test('pg and postgres.js connect-and-quit loops with SCRAM and md5', async () => {
    for (const [name, password] of [
      ['scram_user', 'scram-pass'],
      ['md5_user', 'md5-pass'],
    ]) {
      const url = `postgres://${name}:${password}@127.0.0.1:${proxy.port}/postgres`;
      for (let i = 0; i < 10; i++) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.end();
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        const [row] = await sql`SELECT current_user AS u`;
        assert.equal(row!.u, name);
        await sql.end();
      }
    }
    assert.equal(await protocolErrors(proxy), 0);
  });
});

describe('SSLRequest answered S: pipelined bytes refused (CVE-2021-23214)', () => {
  let db: TestDatabase;
  let proxy: TestPgProxy;
  let certDir: string;

  before(async () => {
    db = await createPgDatabase('startup_tls');
    certDir = mkdtempSync(join(tmpdir(), 'shiftgate-startup-tls-'));
    const { cert, key } = selfSignedCertificate(certDir);
    proxy = await startPgProxy(db.url, { 'tls.cert': cert, 'tls.key': key });
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('anything sent behind the SSLRequest, in its chunk or the one completing it, gets 08P01 in plain text', async () => {
    const stream = Buffer.concat([SSL_REQUEST, startup(user, db.name), serialize.query('SELECT 1')]);
    for (const { label, chunks } of splits(stream)) {
      const c = new RawPgClient(proxy.port, 1);
      await c.write(...chunks);
      await c.untilClosed();
      if (chunks.length === 2 && chunks[0]!.length === 8) {
        // The SSLRequest came alone and was accepted; the plain-text startup behind it is not TLS.
        assert.equal(c.declined, 'S', label);
        assert.ok(!c.names().includes('authenticationOk'), label);
        continue;
      }
      assert.deepEqual(
        errors(c).map((e) => [e.code, e.message]),
        [['08P01', 'invalid frontend message: unencrypted data after SSLRequest']],
        label,
      );
      assert.ok(!c.names().includes('authenticationOk'), label);
    }
  });

  test('pg over TLS still connects and quits', async () => {
    for (let i = 0; i < 5; i++) {
      const client = new pg.Client({
        connectionString: proxy.via(db.url),
        ssl: { rejectUnauthorized: false },
      });
      await client.connect();
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
      await client.end();
    }
  });
});
