/**
 * Authentication relay and TLS, against a private PostgreSQL that this test
 * starts on its own port and data folder (the shared server trusts every
 * local connection, so it cannot show password exchanges).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import postgres from 'postgres';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/cli/embedded-postgres.ts';
import { selfSignedCertificate } from '../helpers/certificates.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';
import { freePort } from '../helpers/ports.ts';
import { startTestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);

describe('authentication relay and TLS (private server)', () => {
  let workDir: string;
  let server: EmbeddedServer;
  let port: number;
  let proxy: TestPgProxy;
  let tlsProxy: TestPgProxy;
  let upstreamTlsProxy: TestPgProxy;
  let bothTlsProxy: TestPgProxy;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'shiftgate-auth-'));
    execFileSync('chmod', ['755', workDir]);
    const serverTls = selfSignedCertificate(join(workDir), 'postgres');
    port = await freePort();
    server = await startEmbeddedPostgres({
      dataDir: join(workDir, 'data'),
      port,
      password: 'supersecret',
      authMethod: 'md5', // "md5" in pg_hba also accepts SCRAM for users whose password is stored as SCRAM
      postgresFlags: [
        '-c',
        'ssl=on',
        '-c',
        `ssl_cert_file=${serverTls.cert}`,
        '-c',
        `ssl_key_file=${serverTls.key}`,
      ],
    });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query("CREATE ROLE scram_user LOGIN PASSWORD 'scram-pass'");
    await admin.query("SET password_encryption = 'md5'");
    await admin.query("CREATE ROLE md5_user LOGIN PASSWORD 'md5-pass'");
    await admin.end();
    const proxyTls = selfSignedCertificate(mkdtempSync(join(tmpdir(), 'shiftgate-proxy-tls-')));
    const terminate = { 'tls.cert': proxyTls.cert, 'tls.key': proxyTls.key };
    proxy = await startPgProxy(`postgres://127.0.0.1:${port}/postgres`);
    tlsProxy = await startPgProxy(`postgres://127.0.0.1:${port}/postgres`, terminate);
    upstreamTlsProxy = await startPgProxy(`postgres://127.0.0.1:${port}/postgres?sslmode=require`);
    bothTlsProxy = await startPgProxy(`postgres://127.0.0.1:${port}/postgres?sslmode=require`, terminate);
  });

  after(async () => {
    await proxy?.stop();
    await tlsProxy?.stop();
    await upstreamTlsProxy?.stop();
    await bothTlsProxy?.stop();
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('SCRAM-SHA-256 user authenticates through the proxy', async () => {
    const client = new pg.Client({
      connectionString: `postgres://scram_user:scram-pass@127.0.0.1:${proxy.port}/postgres`,
    });
    await client.connect();
    const { rows } = await client.query('SELECT current_user AS u');
    assert.equal(rows[0].u, 'scram_user');
    await client.end();
  });

  test('md5 user authenticates through the proxy', async () => {
    const sql = postgres(`postgres://md5_user:md5-pass@127.0.0.1:${proxy.port}/postgres`, { max: 1 });
    const [row] = await sql`SELECT current_user AS u`;
    assert.equal(row!.u, 'md5_user');
    await sql.end();
  });

  test('a wrong password gets the server own error 28P01', async () => {
    for (const user of ['scram_user', 'md5_user']) {
      const client = new pg.Client({
        connectionString: `postgres://${user}:wrong@127.0.0.1:${proxy.port}/postgres`,
      });
      await assert.rejects(client.connect(), (e: { code?: string; message: string }) => {
        assert.equal(e.code, '28P01');
        assert.match(e.message, /password authentication failed/);
        return true;
      });
    }
  });

  test('client TLS terminated by the proxy: SCRAM works, channel binding is not offered', async () => {
    const client = new pg.Client({
      connectionString: `postgres://scram_user:scram-pass@127.0.0.1:${tlsProxy.port}/postgres`,
      ssl: { rejectUnauthorized: false },
    });
    await client.connect();
    const stream = (client as unknown as { connection: { stream: unknown } }).connection.stream;
    assert.ok(stream instanceof TLSSocket, 'the client side is TLS');
    await client.end();
    // psql uses channel binding when it is offered; it would bind to the proxy's certificate and fail.
    const { stdout } = await run(
      'psql',
      [
        `postgres://scram_user@127.0.0.1:${tlsProxy.port}/postgres?sslmode=require&channel_binding=prefer`,
        '-Atc',
        'SELECT 1',
      ],
      { env: { ...process.env, PGPASSWORD: 'scram-pass' } },
    );
    assert.equal(stdout.trim(), '1');
  });

  test('upstream over TLS when the URL asks for it, SCRAM relayed', async () => {
    const client = new pg.Client({
      connectionString: `postgres://scram_user:scram-pass@127.0.0.1:${upstreamTlsProxy.port}/postgres`,
    });
    await client.connect();
    const { rows } = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    assert.equal(rows[0].ssl, true, 'the upstream side is TLS');
    await client.end();
  });

  test('TLS on both sides with SCRAM works when the client does not demand channel binding', async () => {
    const { stdout } = await run(
      'psql',
      [
        `postgres://scram_user@127.0.0.1:${bothTlsProxy.port}/postgres?sslmode=require&channel_binding=disable`,
        '-Atc',
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      ],
      { env: { ...process.env, PGPASSWORD: 'scram-pass' } },
    );
    assert.equal(stdout.trim(), 't');
  });

  test('statements pipelined behind an unfinished login are not routed: no admin command runs', async () => {
    const sg = await startTestShiftgate(`postgres://postgres:supersecret@127.0.0.1:${port}/postgres`);
    try {
      // Startup as the admin user with an admin command right behind it, and no password ever.
      const socket = connect(sg.sg.proxy.address.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        Buffer.concat([
          serialize.startup({ user: 'postgres', database: 'postgres' }),
          serialize.query('SHIFTGATE PAUSE'),
        ]),
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(sg.sg.control?.throttle.isPaused, false, 'the command waited for authentication');
      socket.destroy();
      // The same command from an authenticated session runs.
      const client = new pg.Client({
        connectionString: sg.via(`postgres://postgres:supersecret@127.0.0.1:${port}/postgres`),
      });
      await client.connect();
      await client.query('SHIFTGATE PAUSE');
      assert.equal(sg.sg.control?.throttle.isPaused, true);
      await client.query('SHIFTGATE RESUME');
      await client.end();
    } finally {
      await sg.stop();
    }
  });

  test('without a configured certificate the proxy declines TLS', async () => {
    const client = new pg.Client({
      connectionString: `postgres://scram_user:scram-pass@127.0.0.1:${proxy.port}/postgres`,
      ssl: { rejectUnauthorized: false },
    });
    await assert.rejects(client.connect(), /does not support SSL/);
    const { stdout } = await run(
      'psql',
      [`postgres://scram_user@127.0.0.1:${proxy.port}/postgres?sslmode=prefer`, '-Atc', 'SELECT 2'],
      { env: { ...process.env, PGPASSWORD: 'scram-pass' } },
    );
    assert.equal(stdout.trim(), '2');
  });
});
