/** `shiftgate serve` as a process: what an operator runs. */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLI } from '../helpers/cli.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { freePort } from '../helpers/ports.ts';

interface Served {
  child: ChildProcess;
  proxyUrl: string;
  metricsUrl: string;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [...CLI, 'serve', ...args], {
    env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const connect = /connect:\s+(\S+)/.exec(stdout);
      const metrics = /metrics:\s+(\S+)/.exec(stdout);
      if (connect && metrics) resolve({ child, proxyUrl: connect[1]!, metricsUrl: metrics[1]!, exited });
    });
    exited.then(({ code }) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/** Runs the CLI with `env`, no flags beyond `args`; never waits longer than 20 s. */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [...CLI, ...args],
      { env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn', ...env }, timeout: 20000 },
      (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    ),
  );
}

describe('shiftgate serve', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createPgDatabase('serve');
  });

  after(async () => {
    await db.drop();
  });

  test('serves clients, exposes /metrics and /healthz, drains on SIGTERM', async () => {
    const served = await serve(['--upstream', db.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    const client = new pg.Client({ connectionString: served.proxyUrl });
    await client.connect();
    const closedByDrain = new Promise<{ code?: string }>((resolve) =>
      client.on('error', (e) => resolve(e as { code?: string })),
    );
    await client.query('SELECT 1');
    const metrics = await (await fetch(served.metricsUrl)).text();
    for (const name of [
      'shiftgate_client_connections{dialect="postgres"} 1',
      'shiftgate_statement_duration_seconds_count{dialect="postgres"}',
      'shiftgate_upstream_connect_errors_total',
      'shiftgate_protocol_errors_total',
      'shiftgate_client_received_bytes_total',
      'shiftgate_client_sent_bytes_total',
      'process_cpu_seconds_total',
    ]) {
      assert.ok(metrics.includes(name), `metrics include ${name}`);
    }
    const health = await fetch(served.metricsUrl.replace('/metrics', '/healthz'));
    assert.equal(health.status, 200);
    served.child.kill('SIGTERM');
    assert.equal((await closedByDrain).code, '57P01');
    assert.equal((await served.exited).code, 0);
  });

  test('/healthz answers 503 while the upstream is unreachable', async () => {
    const served = await serve([
      '--upstream',
      'postgres://postgres@127.0.0.1:1/postgres',
      '--listen',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
    ]);
    const health = await fetch(served.metricsUrl.replace('/metrics', '/healthz'));
    assert.equal(health.status, 503);
    assert.match(await health.text(), /upstream unreachable/);
    served.child.kill('SIGTERM');
    assert.equal((await served.exited).code, 0);
  });

  test('an invalid config stops start-up with a message naming the key', async () => {
    const failed = await serve(['--upstream', db.url, '--listen', '127.0.0.1:0'], {
      SHIFTGATE_THROTTLE_MIN_BATCH: 'lots',
    }).then(
      () => assert.fail('serve should not start'),
      (e: Error) => e,
    );
    assert.match(failed.message, /exited with 2/);
    assert.match(failed.message, /throttle\.min_batch/);
  });

  test('with no configuration: the embedded PostgreSQL, and every CLI command reaches it with no flags', async () => {
    // Only the ports and the data folder differ from a newcomer's `npm start`, so this test cannot
    // collide with one; the CLI gets the same environment and nothing else.
    const dataDir = mkdtempSync(join(tmpdir(), 'shiftgate-embedded-'));
    chmodSync(dataDir, 0o755); // as root, the server runs as the postgres system user
    const env = {
      SHIFTGATE_EMBEDDED_DATA_DIR: join(dataDir, 'pg'),
      SHIFTGATE_EMBEDDED_PORT: String(await freePort()),
      SHIFTGATE_LISTEN: `127.0.0.1:${await freePort()}`,
      SHIFTGATE_HTTP: `127.0.0.1:${await freePort()}`,
    };
    const served = await serve([], env);
    try {
      assert.match(served.proxyUrl, /^postgres:\/\/postgres:shiftgate@127\.0\.0\.1:\d+\/postgres$/);
      const status = await cli(['status'], env);
      assert.equal(status.code, 0, status.err);
      assert.match(status.out, /^name \| phase/);
      const sessions = await cli(['sessions'], env);
      assert.equal(sessions.code, 0, sessions.err);
      assert.match(sessions.out, /shiftgate-cli/);
      const history = await cli(['migrate', 'history'], env);
      assert.equal(history.code, 0, history.err);
      const missing = await cli(['start', 'no_such_migration'], env);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /^shiftgate: no migration file "no_such_migration"/);
    } finally {
      served.child.kill('SIGTERM');
      assert.equal((await served.exited).code, 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
