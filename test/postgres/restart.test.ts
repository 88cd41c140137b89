/**
 * The upstream PostgreSQL restarts under a running Shiftgate: a private
 * server (own port and data folder, trust auth) is stopped with a fast
 * shutdown and started again while clients are idle, mid-query and
 * mid-transaction, and while a migration is backfilling.
 *
 * Expected: every client hears at once what the server said on its way
 * down (57P01, forwarded) or 08006 when the upstream vanished without a
 * word; connecting while the server is down fails at once with 08006;
 * clients that reconnect succeed as soon as the server is back, served by
 * the same proxy; the backfill resumes from its checkpoint (rows done never
 * go back) and every row ends right.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/cli/embedded-postgres.ts';
import { within } from '../helpers/deadline.ts';
import { freePort } from '../helpers/ports.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Server-side codes a client may get when its server goes away: the server's own, or the proxy's. */
const GONE = ['57P01', '08006'];

describe('upstream PostgreSQL restart (private server)', () => {
  let workDir: string;
  let port: number;
  let server: EmbeddedServer;
  let direct: string;
  let sg: TestShiftgate;

  const start = async () => {
    server = await startEmbeddedPostgres({ dataDir: join(workDir, 'data'), port, authMethod: 'trust' });
  };

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'shiftgate-restart-'));
    execFileSync('chmod', ['755', workDir]);
    port = await freePort();
    await start();
    direct = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const setup = new pg.Client({ connectionString: direct });
    await setup.connect();
    await setup.query('CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL)');
    await setup.query(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 120000) g`);
    await setup.end();
    // Small batches, so the backfill is still running when the server goes down (paced: at most
    // 1,000 rows per 100 ms interval, about 12 s for the table).
    sg = await startTestShiftgate(direct, {
      'throttle.max_batch': '1000',
      'throttle.min_batch': '50',
      'throttle.latency_headroom': '100',
    });
    sg.writeMigration(
      'add_digest',
      'operations:\n  - add_column:\n      table: items\n      column: { name: digest, type: text }\n      up: "md5(payload)"\n',
    );
  });

  after(async () => {
    await sg?.stop();
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** A client through the proxy whose first error (an 'error' event or a failed query) is kept. */
  async function watchedClient(): Promise<{ client: pg.Client; firstError: Promise<{ code?: string }> }> {
    const client = new pg.Client({ connectionString: sg.via(direct) });
    const firstError = new Promise<{ code?: string }>((resolve) =>
      client.on('error', (e) => resolve(e as { code?: string })),
    );
    await client.connect();
    return { client, firstError };
  }

  /** Connects through the proxy until it works, at most `ms`; returns how long it took. */
  async function reconnect(ms: number): Promise<number> {
    const started = Date.now();
    let last = '';
    while (Date.now() - started < ms) {
      const c = new pg.Client({ connectionString: sg.via(direct), connectionTimeoutMillis: 2000 });
      c.on('error', () => {});
      try {
        await c.connect();
        const { rows } = await c.query('SELECT 1 AS one');
        assert.equal(rows[0].one, 1);
        await c.end();
        return Date.now() - started;
      } catch (e) {
        last = (e as Error).message;
        await c.end().catch(() => {});
        await sleep(100);
      }
    }
    assert.fail(`no reconnect within ${ms} ms (last error: ${last})`);
  }

  test('idle, mid-query and mid-transaction clients get 57P01 at once; reconnects succeed on the same proxy', async (t) => {
    const proxy = sg.sg.proxy;
    const idle = await watchedClient();
    const busy = await watchedClient();
    const inTransaction = await watchedClient();
    await inTransaction.client.query('BEGIN');
    await inTransaction.client.query('SELECT count(*) FROM items');
    const sleeping = busy.client.query('SELECT pg_sleep(60)').then(
      () => assert.fail('a statement on a server that shut down cannot succeed'),
      (e: { code?: string }) => e,
    );
    await sleep(300);

    const stopped = Date.now();
    await within('fast shutdown', server.stop(), 20_000);
    const midQuery = await within('the mid-query error', sleeping, 5000);
    const idleError = await within('the idle client error', idle.firstError, 5000);
    const txError = await within('the in-transaction client error', inTransaction.firstError, 5000);
    t.diagnostic(
      `codes: mid-query ${midQuery.code}, idle ${idleError.code}, in transaction ${txError.code}, ` +
        `all within ${Date.now() - stopped} ms of the shutdown`,
    );
    assert.ok(GONE.includes(midQuery.code ?? ''), `mid-query: ${midQuery.code}`);
    assert.ok(GONE.includes(idleError.code ?? ''), `idle: ${idleError.code}`);
    assert.ok(GONE.includes(txError.code ?? ''), `in transaction: ${txError.code}`);
    await assert.rejects(within('a query after the shutdown', inTransaction.client.query('SELECT 1'), 5000));

    // While the server is down: refused at once with 08006, not left hanging.
    const refused = new pg.Client({ connectionString: sg.via(direct) });
    refused.on('error', () => {});
    const t0 = Date.now();
    await assert.rejects(within('connect while down', refused.connect(), 8000), (e: { code?: string }) => {
      assert.equal(e.code, '08006');
      return true;
    });
    t.diagnostic(`connect while the server is down refused in ${Date.now() - t0} ms`);

    await start();
    const took = await reconnect(30_000);
    t.diagnostic(`reconnected ${took} ms after the server was back`);
    assert.equal(sg.sg.proxy, proxy, 'the same proxy serves the new connections');
    for (const c of [idle, busy, inTransaction]) await c.client.end().catch(() => {});
    const deadline = Date.now() + 5000;
    while (proxy.ctx.registry.size > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(proxy.ctx.registry.size, 0, 'no session is left behind by the restart');
  });

  test('a server killed without a word: 08006 at once; reconnects succeed after its crash recovery', async (t) => {
    const proxy = sg.sg.proxy;
    const idle = await watchedClient();
    const busy = await watchedClient();
    const sleeping = busy.client.query('SELECT pg_sleep(60)').then(
      () => assert.fail('a statement on a killed server cannot succeed'),
      (e: { code?: string }) => e,
    );
    await sleep(300);
    // SIGKILL for every backend and the postmaster: no process gets to say anything.
    const postmaster = Number(readFileSync(join(workDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
      .toString()
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    const signal = (pid: number, name: NodeJS.Signals) => {
      try {
        process.kill(pid, name);
      } catch {
        // Already gone.
      }
    };
    const killed = Date.now();
    // The postmaster is frozen first: a backend that saw it die before its own SIGKILL would still
    // send "unexpected postmaster exit" (57P01), and a postmaster that saw a child die would stop the rest.
    signal(postmaster, 'SIGSTOP');
    for (const pid of children) signal(pid, 'SIGKILL');
    signal(postmaster, 'SIGKILL');
    const midQuery = await within('the mid-query error', sleeping, 5000);
    const idleError = await within('the idle client error', idle.firstError, 5000);
    t.diagnostic(
      `codes: mid-query ${midQuery.code}, idle ${idleError.code} within ${Date.now() - killed} ms`,
    );
    assert.equal(midQuery.code, '08006');
    assert.equal(idleError.code, '08006');
    // The killed server's handle is not stopped again: its process is gone already.
    await start();
    const took = await reconnect(30_000);
    t.diagnostic(`reconnected ${took} ms after the server was back`);
    assert.equal(sg.sg.proxy, proxy, 'the same proxy serves the new connections');
    for (const c of [idle, busy]) await c.client.end().catch(() => {});
  });

  test('a migration backfilling across the restart resumes from its checkpoint', async (t) => {
    const checkpoint = async (): Promise<{ done: number; total: number } | null> => {
      const c = new pg.Client({ connectionString: direct, connectionTimeoutMillis: 2000 });
      c.on('error', () => {});
      try {
        await c.connect();
        const { rows } = await c.query(
          "SELECT rows_done::int AS done, rows_total::int AS total FROM shiftgate.backfill_checkpoints WHERE migration = 'add_digest'",
        );
        return rows[0] ?? null;
      } catch {
        return null;
      } finally {
        await c.end().catch(() => {});
      }
    };
    await sg.admin(direct, "SHIFTGATE START 'add_digest'");
    // Mid-backfill: some rows done, most still to do.
    let before: { done: number; total: number } | null = null;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      before = await checkpoint();
      if (before && before.done >= 3000) break;
      await sleep(50);
    }
    assert.ok(before && before.done >= 3000, `the backfill got going: ${JSON.stringify(before)}`);
    await within('fast shutdown', server.stop(), 20_000);
    assert.ok(
      before.done < before.total,
      `still mid-backfill at the restart (${before.done} of ${before.total})`,
    );
    await start();

    // rows_done read again and again until the migration is active: never below the checkpoint.
    const seen: number[] = [];
    const until = Date.now() + 120_000;
    let phase = '';
    while (Date.now() < until) {
      const cp = await checkpoint();
      if (cp) seen.push(cp.done);
      try {
        phase = (await sg.admin(direct, 'SHOW SHIFTGATE STATUS'))[0]?.phase ?? 'none';
      } catch {
        phase = 'unreachable';
      }
      if (phase === 'active') break;
      await sleep(100);
    }
    t.diagnostic(
      `checkpoint before the restart ${before.done} of ${before.total}; after: first ${seen[0]}, last ${seen.at(-1)}, phase ${phase}`,
    );
    assert.equal(phase, 'active', 'the migration finished its backfill after the restart');
    assert.ok(
      seen.every((n) => n >= before.done),
      `rows done went back below the checkpoint ${before.done}: ${seen.filter((n) => n < before.done)}`,
    );
    assert.ok(
      seen.every((n, i) => i === 0 || n >= seen[i - 1]!),
      'rows done never decreased',
    );
    const final = await checkpoint();
    assert.equal(final?.done, final?.total, 'every row was backfilled once');

    // Every row right, read as the new version through the proxy.
    const c = new pg.Client({ connectionString: sg.via(direct) });
    await c.connect();
    await c.query("SET shiftgate.version = 'add_digest'");
    const { rows } = await c.query(
      'SELECT count(*)::int AS wrong FROM items WHERE digest IS DISTINCT FROM md5(payload)',
    );
    await c.end();
    assert.equal(rows[0].wrong, 0, 'the new column is right for every row');
  });
});
