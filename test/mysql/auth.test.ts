/**
 * Authentication through Shiftgate: the server stays the authority on
 * passwords. Real MariaDB for mysql_native_password, ed25519 and wrong
 * passwords (error 1045); client TLS terminated by the proxy; and, for
 * MySQL 8's caching_sha2_password full authentication with its RSA public
 * key request, a small server built from the codec's constructed packets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { decryptPassword } from '../../src/dialects/mysql/auth.ts';
import { PacketFramer } from '../../src/dialects/mysql/framer.ts';
import {
  decodeHandshakeResponse,
  encodeErr,
  encodeHandshakeV10,
  encodeOk,
  encodePacket,
} from '../../src/dialects/mysql/messages.ts';
import { Capability } from '../../src/dialects/mysql/protocol.ts';
import { selfSignedCertificate } from '../helpers/certificates.ts';
import { MYSQL_URL } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

const run = promisify(execFile);
const suffix = randomBytes(3).toString('hex');
const NATIVE_USER = `sg_native_${suffix}`;
const ED_USER = `sg_ed25519_${suffix}`;
const PASSWORD = 'S3cret-pass';

describe('mysql authentication through Shiftgate', () => {
  let proxy: MysqlProxy;
  let tlsProxy: MysqlProxy;
  let admin: mysql.Connection;
  let dir: string;
  /** The proxy's client TLS certificate. */
  let tls: { cert: string; key: string };
  let installedEd25519 = false;
  let ed25519 = false;

  before(async () => {
    admin = await mysql.createConnection(MYSQL_URL);
    await admin.query(`CREATE USER '${NATIVE_USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
    // ed25519 only when the server already has the plugin library; it is unloaded again afterwards.
    const [plugins] = (await admin.query(
      "SELECT PLUGIN_STATUS AS s FROM information_schema.ALL_PLUGINS WHERE PLUGIN_NAME = 'ed25519'",
    )) as unknown as [Array<{ s: string }>];
    if (plugins[0]?.s === 'NOT INSTALLED') {
      await admin.query("INSTALL SONAME 'auth_ed25519'");
      installedEd25519 = true;
    }
    ed25519 = plugins[0] !== undefined;
    if (ed25519)
      await admin.query(`CREATE USER '${ED_USER}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${PASSWORD}')`);
    dir = mkdtempSync(join(tmpdir(), 'shiftgate-mysql-tls-'));
    tls = selfSignedCertificate(dir);
    proxy = await startMysqlProxy();
    tlsProxy = await startMysqlProxy({
      flags: { 'tls.cert': tls.cert, 'tls.key': tls.key },
    });
  });

  after(async () => {
    await proxy.stop();
    await tlsProxy.stop();
    await admin.query(`DROP USER IF EXISTS '${NATIVE_USER}'@'%'`);
    await admin.query(`DROP USER IF EXISTS '${ED_USER}'@'%'`);
    if (installedEd25519) await admin.query("UNINSTALL SONAME 'auth_ed25519'");
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mysql_native_password: the right password works, a wrong one gets the server error 1045', async () => {
    const ok = await mysql.createConnection({
      host: '127.0.0.1',
      port: proxy.port,
      user: NATIVE_USER,
      password: PASSWORD,
    });
    const [[row]] = (await ok.query('SELECT CURRENT_USER() AS u')) as unknown as [[{ u: string }]];
    assert.equal(row.u, `${NATIVE_USER}@%`);
    await ok.end();
    const direct = await mysql
      .createConnection({ host: '127.0.0.1', port: 3306, user: NATIVE_USER, password: 'wrong' })
      .catch((e: Error & { errno: number; sqlState: string }) => e);
    await assert.rejects(
      mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: NATIVE_USER, password: 'wrong' }),
      (err: Error & { errno: number; sqlState: string }) => {
        assert.equal(err.errno, 1045);
        assert.equal(err.sqlState, (direct as { sqlState: string }).sqlState);
        assert.equal(err.message, (direct as Error).message);
        return true;
      },
    );
    await assert.rejects(
      run('mariadb', [
        '--protocol=TCP',
        '-h',
        '127.0.0.1',
        '-P',
        String(proxy.port),
        '-u',
        NATIVE_USER,
        '-pwrong',
        '-e',
        'SELECT 1',
      ]),
      (err: { stderr: string }) => /ERROR 1045 \(28000\): Access denied/.test(err.stderr),
    );
    // Refused sessions leave the registry once both sockets have closed, just after the client exits.
    for (let i = 0; i < 100 && proxy.proxy.ctx.registry.size > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(proxy.proxy.ctx.registry.size, 0);
  });

  it('ed25519 on MariaDB: the mariadb connector and client sign the server challenge through the proxy', async (t) => {
    if (!ed25519) {
      t.skip('the server has no ed25519 plugin library');
      return;
    }
    const conn = await mariadb.createConnection({
      host: '127.0.0.1',
      port: proxy.port,
      user: ED_USER,
      password: PASSWORD,
    });
    const [row] = await conn.query('SELECT CURRENT_USER() AS u');
    assert.equal(row.u, `${ED_USER}@%`);
    await conn.end();
    const cli = ['--protocol=TCP', '-h', '127.0.0.1', '-P', String(proxy.port), '-u', ED_USER];
    const { stdout } = await run('mariadb', [...cli, `-p${PASSWORD}`, '-B', '-N', '-e', 'SELECT 42']);
    assert.equal(stdout, '42\n');
    await assert.rejects(
      mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, user: ED_USER, password: 'wrong' }),
      (err: { errno: number }) => err.errno === 1045,
    );
  });

  it('terminates client TLS when tls.cert / tls.key are set; clear clients still work', async () => {
    const secure = await mysql.createConnection({
      host: '127.0.0.1',
      port: tlsProxy.port,
      user: NATIVE_USER,
      password: PASSWORD,
      ssl: { rejectUnauthorized: false },
    });
    const [[row]] = (await secure.query('SELECT 1 + 1 AS two')) as unknown as [[{ two: number }]];
    assert.equal(row.two, 2);
    const [big] = (await secure.query('SELECT REPEAT(?, 200000) AS r', ['x'])) as unknown as [
      [{ r: string }],
    ];
    assert.equal(big[0].r.length, 200000);
    await secure.end();

    const cli = ['--protocol=TCP', '-h', '127.0.0.1', '-P', String(tlsProxy.port), '-u', 'root'];
    const { stdout } = await run('mariadb', [
      ...cli,
      '--ssl',
      '--skip-ssl-verify-server-cert',
      '-e',
      'status',
    ]);
    assert.match(stdout, /SSL:\s+Cipher in use is/);
    const { stdout: clear } = await run('mariadb', [...cli, '--skip-ssl', '-e', 'status']);
    assert.match(clear, /SSL:\s+Not in use/);

    // Without a certificate the proxy offers no TLS: a client that insists is told so.
    await assert.rejects(
      mysql.createConnection({
        host: '127.0.0.1',
        port: proxy.port,
        user: 'root',
        ssl: { rejectUnauthorized: false },
      }),
      /does not support secure connection/,
    );
  });

  describe('caching_sha2_password full authentication (MySQL 8, constructed server)', () => {
    let fake: FakeMysql8;
    let plainProxy: MysqlProxy;
    let tlsFakeProxy: MysqlProxy;

    before(async () => {
      fake = await startFakeMysql8(PASSWORD);
      const upstream = `mysql://root@127.0.0.1:${fake.port}/`;
      plainProxy = await startMysqlProxy({ upstream });
      tlsFakeProxy = await startMysqlProxy({
        upstream,
        flags: { 'tls.cert': tls.cert, 'tls.key': tls.key },
      });
    });

    after(async () => {
      await plainProxy.stop();
      await tlsFakeProxy.stop();
      fake.server.close();
    });

    it('clear client: its own RSA public-key request and encrypted password are relayed', async () => {
      fake.log.length = 0;
      const conn = await mysql.createConnection({
        host: '127.0.0.1',
        port: plainProxy.port,
        user: 'app',
        password: PASSWORD,
      });
      await conn.ping();
      await conn.end();
      assert.deepEqual(fake.log, ['switch', 'full-auth', 'key-request', 'rsa-password-ok']);
    });

    it('TLS client: the proxy requests the key and encrypts the cleartext password for the clear upstream link', async () => {
      fake.log.length = 0;
      const conn = await mysql.createConnection({
        host: '127.0.0.1',
        port: tlsFakeProxy.port,
        user: 'app',
        password: PASSWORD,
        ssl: { rejectUnauthorized: false },
      });
      await conn.ping();
      await conn.end();
      assert.deepEqual(fake.log, ['switch', 'full-auth', 'key-request', 'rsa-password-ok']);
      fake.log.length = 0;
      await assert.rejects(
        mysql.createConnection({
          host: '127.0.0.1',
          port: tlsFakeProxy.port,
          user: 'app',
          password: 'wrong',
          ssl: { rejectUnauthorized: false },
        }),
        (err: { errno: number }) => err.errno === 1045,
      );
      assert.deepEqual(fake.log, ['switch', 'full-auth', 'key-request', 'rsa-password-wrong']);
    });
  });
});

interface FakeMysql8 {
  server: Server;
  port: number;
  /** What happened in each authentication, in order. */
  log: string[];
}

/**
 * Speaks just enough MySQL 8 for caching_sha2_password full authentication
 * on a clear link: greeting, auth switch, "perform full authentication",
 * the RSA public key on request, then OK for COM_PING and nothing else.
 */
async function startFakeMysql8(password: string): Promise<FakeMysql8> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const log: string[] = [];
  const server = createServer((socket: Socket) => {
    const framer = new PacketFramer();
    let scramble = randomBytes(20);
    let step = 'response';
    const send = (seq: number, payload: Buffer) => socket.write(encodePacket(seq, payload));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const p of framer.push(chunk)) {
        const next = p.sequenceId + 1;
        if (step === 'response') {
          decodeHandshakeResponse(p.payload);
          scramble = randomBytes(20);
          log.push('switch');
          send(
            next,
            Buffer.concat([Buffer.from('\xfecaching_sha2_password\0', 'latin1'), scramble, Buffer.from([0])]),
          );
          step = 'token';
        } else if (step === 'token') {
          log.push('full-auth');
          send(next, Buffer.from([0x01, 0x04]));
          step = 'full';
        } else if (step === 'full') {
          if (p.payload.length === 1 && p.payload[0] === 0x02) {
            log.push('key-request');
            send(next, Buffer.concat([Buffer.from([0x01]), Buffer.from(pem)]));
            step = 'rsa';
          } else {
            log.push('cleartext-refused');
            send(next, encodeErr(1045, '28000', 'Access denied (cleartext password on an insecure link)'));
            socket.end();
          }
        } else if (step === 'rsa') {
          const plain = decryptPassword(p.payload, scramble, privateKey);
          if (plain.equals(Buffer.from(`${password}\0`))) {
            log.push('rsa-password-ok');
            send(next, encodeOk());
            step = 'commands';
          } else {
            log.push('rsa-password-wrong');
            send(next, encodeErr(1045, '28000', "Access denied for user 'app'"));
            socket.end();
          }
        } else if (p.payload[0] === 0x01) {
          socket.end();
        } else {
          send(1, encodeOk());
        }
      }
    });
    send(
      0,
      encodeHandshakeV10({
        protocolVersion: 10,
        serverVersion: '8.0.36-fake',
        connectionId: 1000 + log.length,
        authPluginData: scramble,
        capabilities: (0xffffffff & ~(Capability.Ssl | Capability.Compress)) >>> 0,
        mariadbCapabilities: 0,
        characterSet: 255,
        statusFlags: 2,
        authPluginName: 'mysql_native_password',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, log };
}
