/**
 * What the Shiftgate benchmarks share: free ports, waiting for a listener,
 * spawning `shiftgate serve` as its own process (as an operator runs it),
 * running pgbench and reading its summary, medians and percentiles.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Waits until a PostgreSQL-speaking listener (server, Shiftgate, PgBouncer) answers on `port`. */
export async function waitForPort(port: number, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      await run('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-t', '1']);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answers on port ${port}`);
}

/** Waits until something accepts TCP connections on `port` (a proxy of either dialect, a server). */
export async function waitForTcp(port: number, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

/** `url` pointed at 127.0.0.1:`port`, with extra query parameters (libpq: `options`, ...). */
export function withPort(url: string, port: number, params: Record<string, string> = {}): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/**
 * Microseconds per call of each of `fns`, the best of `batches` batches of
 * `iterations / batches` each, the functions' batches taken in turn after
 * a warm-up: on a shared machine the other processes only ever add time.
 */
function bestOfBatches(fns: (() => void)[], iterations: number, batches: number): number[] {
  for (const fn of fns) for (let i = 0; i < Math.min(2000, iterations); i++) fn();
  const batch = Math.max(1, Math.floor(iterations / batches));
  const best = fns.map(() => Number.POSITIVE_INFINITY);
  for (let b = 0; b < batches; b++) {
    fns.forEach((fn, f) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) fn();
      best[f] = Math.min(best[f]!, Number(process.hrtime.bigint() - start) / 1000 / batch);
    });
  }
  return best;
}

/** Microseconds per call of `fn`, the best of five batches of `iterations / 5` after a warm-up. */
export function microsPerCall(fn: () => void, iterations: number): number {
  return bestOfBatches([fn], iterations, 5)[0]!;
}

/**
 * Microseconds per call of each of `fns`, the best of twenty batches, the
 * functions' batches taken in turn: a slow spell of a shared host (seconds
 * long at times, when another machine's work shares the core) then meets
 * some batches of each function, never all of one.
 */
export function microsPerCallInTurn(fns: (() => void)[], iterations: number): number[] {
  return bestOfBatches(fns, iterations, 20);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (q in 0..1) of an ascending-sorted array; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Waits until the admin endpoint on `port` serves /metrics. */
async function waitForMetrics(port: number, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/metrics`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no admin endpoint on port ${port}`);
}

export interface ServeProcess {
  /** Client port of the proxy. */
  port: number;
  /** Admin HTTP port (/metrics, /healthz). */
  httpPort: number;
  proc: ChildProcess;
  /** The proxy's stderr so far (its log), for error reports. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `node bin/shiftgate.js serve` against `upstream` (either dialect)
 * and waits until it accepts connections. `args` are extra serve flags (`--migrations DIR`,
 * `--throttle-latency-headroom 1000000`, ...). `checkout` runs another
 * built Shiftgate checkout's bin instead of this one (a before / after comparison).
 */
export async function startServe(
  upstream: string,
  args: string[] = [],
  checkout: string | null = null,
): Promise<ServeProcess> {
  const port = await freePort();
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-serve-'));
  const logFile = join(dir, 'serve.log');
  const fd = openSync(logFile, 'w');
  const proc = spawn(
    process.execPath,
    [
      // For example `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where the proxy spends its time.
      ...(process.env.SHIFTGATE_BENCH_SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      checkout === null
        ? new URL('../../bin/shiftgate.js', import.meta.url).pathname
        : join(checkout, 'bin', 'shiftgate.js'),
      'serve',
      '--upstream',
      upstream,
      '--listen',
      `127.0.0.1:${port}`,
      '--http',
      `127.0.0.1:${httpPort}`,
      ...args,
    ],
    { stdio: ['ignore', 'ignore', fd], env: { SHIFTGATE_LOG_LEVEL: 'warn', ...process.env } },
  );
  closeSync(fd);
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    await waitForTcp(port);
    // With `--proxy-workers` the port answers once the first worker listens; the admin endpoint
    // only once every worker does.
    await waitForMetrics(httpPort);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`shiftgate serve did not start: ${(err as Error).message}\n${log()}`);
  }
  return {
    port,
    httpPort,
    proc,
    log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads one Prometheus counter or gauge (summed over label sets that match `labels`) from /metrics. */
export async function scrapeMetric(
  httpPort: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

export interface PgbenchSummary {
  tps: number;
  latencyMs: number;
  transactions: number;
  stdout: string;
}

/** Runs pgbench with `args` (url last), fails on failed transactions, returns its summary. */
export async function pgbench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<PgbenchSummary> {
  const { stdout } = await run('pgbench', args, {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1];
  if (failed && failed !== '0') throw new Error(`pgbench reported ${failed} failed transactions`);
  return { tps, latencyMs, transactions, stdout };
}

/** `bench/results/<name>-<UTC timestamp>.<ext>`, its folder made: where a benchmark writes its chart. */
export function resultsFile(name: string, ext: string): string {
  const dir = new URL('../results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d+Z$/, 'Z');
  return join(dir, `${name}-${stamp}.${ext}`);
}

/** Text safe inside an SVG element or attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
