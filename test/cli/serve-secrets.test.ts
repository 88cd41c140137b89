/**
 * `shiftgate serve` keeps secrets off the screen, and its /healthz cannot be
 * used to open upstream connections at the caller's pace.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLI } from '../helpers/cli.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startFaultRelay } from '../helpers/fault-relay.ts';

interface Served {
  child: ChildProcess;
  proxyUrl: string;
  metricsUrl: string;
  /** Everything written so far to stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
}

function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [...CLI, 'serve', ...args], {
    env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'debug' },
  });
  let out = '';
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const connect = /connect:\s+(\S+)/.exec(out);
      const metrics = /metrics:\s+(\S+)/.exec(out);
      if (connect && metrics) {
        resolve({ child, proxyUrl: connect[1]!, metricsUrl: metrics[1]!, output: () => out, exited });
      }
    });
    exited.then((code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

describe('shiftgate serve: secrets and /healthz', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createPgDatabase('serve_secrets');
  });

  after(async () => {
    await db.drop();
  });

  test('the upstream password is on no line serve prints; the connect line still connects', async () => {
    const secret = 'Sup3r-s3cret-pw';
    const upstream = new URL(db.url);
    upstream.password = secret; // trust authentication ignores it; only its display matters here
    const served = await serve([
      '--upstream',
      upstream.toString(),
      '--listen',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
    ]);
    try {
      const client = new pg.Client({ connectionString: served.proxyUrl });
      await client.connect();
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
      await client.end();
      assert.equal(new URL(served.proxyUrl).username, upstream.username, 'the connect line names the user');
      await new Promise((r) => setTimeout(r, 300));
      const out = served.output();
      assert.match(out, /connect:/);
      assert.ok(!out.includes(secret), `serve printed the password:\n${out}`);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  });

  test('/healthz hammered 100 times opens at most a couple of upstream connections', async () => {
    const target = new URL(db.url);
    const relay = await startFaultRelay({ host: target.hostname, port: Number(target.port || 5432) });
    const upstream = new URL(db.url);
    upstream.hostname = '127.0.0.1';
    upstream.port = String(relay.port);
    const served = await serve([
      '--upstream',
      upstream.toString(),
      '--listen',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
    ]);
    try {
      const healthz = served.metricsUrl.replace('/metrics', '/healthz');
      assert.equal((await fetch(healthz)).status, 200);
      // Let the migration engine open its own connections before counting.
      await new Promise((r) => setTimeout(r, 1000));
      const before = relay.opened;
      const started = Date.now();
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () => fetch(healthz).then((r) => r.status)),
      );
      for (let i = 0; i < 50; i++) statuses.push((await fetch(healthz)).status);
      const elapsed = Date.now() - started;
      const opened = relay.opened - before;
      assert.deepEqual(new Set(statuses), new Set([200]));
      // One probe a second at most, plus one for a window boundary crossed during the burst.
      assert.ok(opened <= Math.ceil(elapsed / 1000) + 1, `${opened} upstream connections in ${elapsed} ms`);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
      await relay.close();
    }
  });
});
