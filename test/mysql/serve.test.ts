/** `shiftgate serve --upstream mysql://...`: the scheme picks the MySQL dialect; what an operator runs. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI } from '../helpers/cli.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';

const run = promisify(execFile);

describe('shiftgate serve with a mysql upstream', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createMysqlDatabase('serve');
  });

  after(async () => {
    await db.drop();
  });

  it('serves mariadb clients, exports metrics with the mysql label, drains on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        ...CLI,
        'serve',
        '--upstream',
        db.url.replace(/^mysql:/, 'mariadb:'),
        '--listen',
        '127.0.0.1:0',
        '--http',
        '127.0.0.1:0',
      ],
      { env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' } },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const { port, metrics } = await new Promise<{ port: number; metrics: string }>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          const on = / on 127\.0\.0\.1:(\d+)/.exec(stdout);
          const m = /metrics:\s+(\S+)/.exec(stdout);
          if (on && m) resolve({ port: Number(on[1]), metrics: m[1]! });
        });
        exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      assert.match(stdout, /proxying mysql/);
      const { stdout: out } = await run('mariadb', [
        '--protocol=TCP',
        '-h',
        '127.0.0.1',
        '-P',
        String(port),
        '-u',
        'root',
        db.name,
        '-B',
        '-N',
        '-e',
        'CREATE TABLE t (id INT); INSERT INTO t VALUES (1), (2); SELECT SUM(id) FROM t',
      ]);
      assert.equal(out, '3\n');
      const text = await (await fetch(metrics)).text();
      assert.match(text, /shiftgate_statement_duration_seconds_count\{dialect="mysql"\} [1-9]/);
      assert.match(text, /shiftgate_client_received_bytes_total\{dialect="mysql"\} [1-9]/);
      const health = await fetch(metrics.replace(/\/metrics$/, '/healthz'));
      assert.equal(health.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
