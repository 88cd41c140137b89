/**
 * The upstream MariaDB restarts under a running Shiftgate: a private server
 * (its own data folder made by mariadb-install-db, its own port and socket,
 * started by this test and stopped with SIGTERM, a normal shutdown) goes
 * down while clients are idle, mid-query and mid-transaction, then comes
 * back.
 *
 * Expected: each client hears at once (the server's own error, or the
 * proxy's 2013 when the connection just closed); connecting while the
 * server is down fails at once with 2003; clients that reconnect succeed as
 * soon as the server is back, served by the same proxy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { within } from '../helpers/deadline.ts';
import { freePort } from '../helpers/ports.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type MysqlError = Error & { errno?: number; code?: string };

/** A private MariaDB in `dir`: root without a password, TCP on `port` only for this test. */
class PrivateMariadb {
  private child: ChildProcess | null = null;

  constructor(
    private readonly dir: string,
    readonly port: number,
  ) {
    // --no-defaults: the system my.cnf (user=mysql, its datadir) must not apply to this one.
    execFileSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        '--user=root',
        `--datadir=${join(dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { stdio: 'ignore' },
    );
  }

  async start(): Promise<void> {
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        '--user=root',
        `--datadir=${join(this.dir, 'data')}`,
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        '--innodb-buffer-pool-size=16M',
        '--skip-name-resolve',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}`);
      try {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: this.port, user: 'root' });
        await c.end();
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  }

  /** SIGTERM, the server's normal shutdown; resolves once the process is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await within('mariadbd shutdown', exited, 30_000);
  }
}

describe('upstream MariaDB restart (private server)', () => {
  let workDir: string;
  let server: PrivateMariadb;
  let proxy: MysqlProxy;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'shiftgate-mysql-restart-'));
    server = new PrivateMariadb(workDir, await freePort());
    await server.start();
    proxy = await startMysqlProxy({ upstream: `mysql://root@127.0.0.1:${server.port}/` });
  });

  after(async () => {
    await proxy?.stop();
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function watched(): Promise<{ conn: mysql.Connection; firstError: Promise<MysqlError> }> {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
    const firstError = new Promise<MysqlError>((resolve) => conn.on('error', (e: MysqlError) => resolve(e)));
    return { conn, firstError };
  }

  const describeError = (e: MysqlError) => `${e.errno ?? e.code} ${e.message}`;
  /** The server's shutdown / kill errors, the proxy's 2013, or mysql2's own word for a closed connection. */
  const heardGone = (e: MysqlError) =>
    [1053, 1927, 2013, 4031].includes(e.errno ?? 0) || e.code === 'PROTOCOL_CONNECTION_LOST';

  test('idle, mid-query and mid-transaction clients hear at once; reconnects succeed on the same proxy', async (t) => {
    const running = proxy.proxy;
    const idle = await watched();
    const busy = await watched();
    const inTransaction = await watched();
    await inTransaction.conn.query('CREATE DATABASE IF NOT EXISTS restart_test');
    await inTransaction.conn.query(
      'CREATE TABLE IF NOT EXISTS restart_test.t (id int PRIMARY KEY) ENGINE=InnoDB',
    );
    await inTransaction.conn.query('BEGIN');
    await inTransaction.conn.query('INSERT INTO restart_test.t VALUES (1)');
    const sleeping = busy.conn.query('SELECT SLEEP(60)').then(
      () => null,
      (e: MysqlError) => e,
    );
    await sleep(300);

    const stopping = Date.now();
    const stopped = server.stop();
    const midQuery = await within('the mid-query error', sleeping, 10_000);
    const idleError = await within('the idle client error', idle.firstError, 10_000);
    const txError = await within('the in-transaction client error', inTransaction.firstError, 10_000);
    const heardWithin = Date.now() - stopping;
    await stopped;
    t.diagnostic(
      `mid-query: ${midQuery ? describeError(midQuery) : 'completed'}; idle: ${describeError(idleError)}; ` +
        `in transaction: ${describeError(txError)}; all within ${heardWithin} ms of SIGTERM`,
    );
    // SLEEP() killed by the shutdown may also return 1 as its value, as KILL QUERY does on MariaDB.
    if (midQuery) assert.ok(heardGone(midQuery), `mid-query: ${describeError(midQuery)}`);
    assert.ok(heardGone(idleError), `idle: ${describeError(idleError)}`);
    assert.ok(heardGone(txError), `in transaction: ${describeError(txError)}`);
    await assert.rejects(within('a query after the shutdown', inTransaction.conn.query('SELECT 1'), 5000));

    const t0 = Date.now();
    await assert.rejects(
      within(
        'connect while down',
        mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' }),
        8000,
      ),
      (e: MysqlError) => {
        assert.equal(e.errno, 2003, describeError(e));
        return true;
      },
    );
    t.diagnostic(`connect while the server is down refused in ${Date.now() - t0} ms`);

    await server.start();
    const back = Date.now();
    let last = '';
    let reconnected = false;
    while (Date.now() - back < 30_000 && !reconnected) {
      try {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
        const [[row]] = (await c.query('SELECT COUNT(*) AS n FROM restart_test.t')) as unknown as [
          [{ n: number }],
        ];
        assert.equal(Number(row.n), 0, 'the transaction cut by the shutdown was rolled back');
        await c.end();
        reconnected = true;
      } catch (e) {
        last = (e as Error).message;
        await sleep(100);
      }
    }
    assert.ok(reconnected, `no reconnect within 30 s (last error: ${last})`);
    t.diagnostic(`reconnected ${Date.now() - back} ms after the server was back`);
    assert.equal(proxy.proxy, running, 'the same proxy serves the new connections');
    for (const c of [idle, busy, inTransaction]) c.conn.destroy();
    const deadline = Date.now() + 5000;
    while (running.ctx.registry.size > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(running.ctx.registry.size, 0, 'no session is left behind by the restart');
  });
});
