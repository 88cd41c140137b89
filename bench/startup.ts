/**
 * Startup time of the command line, the compiled package against the
 * TypeScript sources run through tsx (how Shiftgate ran before it shipped
 * JavaScript), with a bare `node -e 0` as the floor, interleaved in one run:
 * `--help`, and `serve` until it accepts connections on its port.
 *
 * Usage: npm run bench:startup [-- --runs 15]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { freePort, median, waitForTcp } from './lib/harness.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);
const BIN = new URL('../bin/shiftgate.js', import.meta.url).pathname;
const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const UPSTREAM = process.env.SHIFTGATE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const variants: Record<string, string[]> = {
  'node -e 0 (floor)': ['-e', '0'],
  'compiled (bin/shiftgate.js)': [BIN],
  'sources through tsx': ['--import', 'tsx', MAIN],
};

function timeExit(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('exit', () => resolve(performance.now() - started));
    child.on('error', reject);
  });
}

async function timeServe(args: string[]): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...args, 'serve', '--upstream', UPSTREAM, '--listen', `127.0.0.1:${port}`, '--http', '127.0.0.1:0'],
    { stdio: 'ignore', env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' } },
  );
  await waitForTcp(port, 2000);
  const elapsed = performance.now() - started;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return elapsed;
}

const help: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
const serve: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(variants)) {
    const floor = name.startsWith('node');
    help[name]!.push(await timeExit(floor ? args : [...args, '--help']));
    if (!floor) serve[name]!.push(await timeServe(args));
  }
}

const floor = median(help['node -e 0 (floor)']!);
console.log(`\nmedian of ${runs} runs each, interleaved\n`);
console.log('| command | --help (ms) | minus node -e 0 | serve until listening (ms) |');
console.log('|---|---:|---:|---:|');
for (const name of Object.keys(variants)) {
  const h = median(help[name]!);
  const s = serve[name]!.length > 0 ? median(serve[name]!).toFixed(0) : '-';
  console.log(`| ${name} | ${h.toFixed(0)} | ${(h - floor).toFixed(0)} | ${s} |`);
}
const compiled = median(help['compiled (bin/shiftgate.js)']!);
const tsx = median(help['sources through tsx']!);
console.log(`\n--help: compiled is ${(tsx / compiled).toFixed(2)}x faster than tsx`);
