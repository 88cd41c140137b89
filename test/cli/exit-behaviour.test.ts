/** The CLI on errors and broken pipes: a prompt non-zero exit with one line, a quiet exit on EPIPE. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CLI, CLI_MAIN } from '../helpers/cli.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

function cli(args: string[], shell?: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = shell
    ? spawn('bash', ['-o', 'pipefail', '-c', shell], { env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' } })
    : spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    }),
  );
}

describe('CLI exit behaviour', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  before(async () => {
    db = await createPgDatabase('cliexit');
    sg = await startTestShiftgate(db.url);
  });
  after(async () => {
    await sg.stop();
    await db.drop();
  });

  test('status against an unreachable proxy exits 1 promptly with one line', async () => {
    const r = await cli(['status', '--proxy', 'postgres://postgres:pw@127.0.0.1:1/postgres']);
    assert.equal(r.code, 1);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('migrate start against an unreachable upstream exits non-zero with one line, no stack', async () => {
    const r = await cli(['migrate', 'start', 'x.yaml', '--upstream', 'mysql://root@127.0.0.1:1/x']);
    assert.notEqual(r.code, 0);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('status --watch | head -n 3 exits 0 quietly', async () => {
    const proxy = sg.via(db.url);
    const r = await cli(
      [],
      `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(CLI_MAIN)} status --watch --proxy '${proxy}' | head -n 3`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
