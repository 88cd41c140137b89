/** `shiftgate serve` as a process: what an operator runs. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';

const BIN = new URL('../../bin/shiftgate.js', import.meta.url).pathname;

interface Served {
  child: ChildProcess;
  proxyUrl: string;
  metricsUrl: string;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
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
});
