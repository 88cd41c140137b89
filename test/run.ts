/**
 * The test entry point: makes sure a PostgreSQL answers at
 * SHIFTGATE_TEST_PG_URL (starting the embedded one when nothing does), then
 * runs every `*.test.ts` under test/ with node's test runner, one file at a
 * time (the files share the database servers). Afterwards it repeats the
 * failed tests with their errors, where the tail of a long log shows them,
 * and drops the MySQL server's `shiftgate` database if the run created it,
 * left it empty (each test deletes its own rows from it) and no other run
 * is using that server.
 *
 * Usage: npm test [-- FILTER...]   (FILTER: substrings of test file paths)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/cli/embedded-postgres.ts';
import { watchMysqlStateDatabase } from './helpers/databases.ts';

const root = new URL('..', import.meta.url).pathname;
const pgUrl = process.env.SHIFTGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let stopEmbedded: (() => Promise<void>) | undefined;
if (!(await answers(pgUrl))) {
  const port = Number(new URL(pgUrl).port || 5432);
  console.log(`no PostgreSQL answers at ${pgUrl}; starting the embedded one on port ${port}`);
  const server = await startEmbeddedPostgres({
    dataDir: join(root, '.shiftgate/test-pg'),
    port,
    authMethod: 'trust',
  });
  stopEmbedded = server.stop;
}

// The MySQL migrations the tests run create the server's shared `shiftgate` database: tidied after.
const mysqlState = await watchMysqlStateDatabase();

const filters = process.argv.slice(2);
const files = findTests(join(root, 'test')).filter(
  (f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)),
);
const summaryDir = mkdtempSync(join(tmpdir(), 'shiftgate-test-'));
const summaryFile = join(summaryDir, 'failed.txt');
const reporters = [
  '--test-reporter=tap',
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'test/helpers/failure-summary-reporter.mjs')}`,
  `--test-reporter-destination=${summaryFile}`,
];
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...reporters, ...files],
  { stdio: 'inherit', env: { ...process.env, SHIFTGATE_TEST_PG_URL: pgUrl } },
);
const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
try {
  process.stdout.write(readFileSync(summaryFile, 'utf8'));
} catch {
  // The runner died before its reporters wrote anything: its own output says why.
}
rmSync(summaryDir, { recursive: true, force: true });
const tidied = await mysqlState.tidy();
if (tidied !== null) console.log(`# ${tidied}`);
await stopEmbedded?.();
process.exit(code);
