/**
 * One big packet must not stall everyone: three sessions move 20 MB values
 * in a loop (rows down, statements, parameters, COPY / LOAD DATA LOCAL
 * content up) while a fourth session pings, for each dialect, through three
 * targets side by side in one run: the server directly, a bare Node `net`
 * pipe relay (the floor any relay in Node pays) and `shiftgate serve` (each
 * relay its own process). Prints the ping's p50 / p99 / max per target and
 * the ratios Shiftgate/direct and Shiftgate/pipe.
 *
 * Then, because a shared machine's scheduler adds its own noise to every
 * ping, a second measure that only the proxy's code decides: Shiftgate in
 * a process of its own under the same load, timing every socket `data`
 * handler (the synchronous work one chunk costs the event loop all
 * sessions share); prints the p99.9 and the longest.
 *
 * The three big sessions run in a child process, so the pinging process's own
 * event loop measures the relay, not the parsing of 20 MB rows.
 *
 * Usage: npm run bench:large -- [--seconds 6] [--rounds 2] [--dialect mysql|postgres|both]
 * Environment: SHIFTGATE_TEST_PG_URL, SHIFTGATE_TEST_MYSQL_URL
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import {
  createMysqlDatabase,
  createPgDatabase,
  type TestDatabase,
  watchMysqlStateDatabase,
} from '../test/helpers/databases.ts';
import { percentileSorted, startServe, withPort } from './lib/harness.ts';

const BIG = 20 * 1024 * 1024;
/** MariaDB refuses a client packet over max_allowed_packet (16 MB by default): statements stay under it. */
const MYSQL_STATEMENT_BYTES = 15 * 1024 * 1024;
const PING_GAP_MS = 5;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    dialect: { type: 'string', default: 'both' },
    // Child process roles.
    role: { type: 'string', default: 'main' },
    url: { type: 'string', default: '' },
  },
});

// ---------------------------------------------------------------------------
// The big sessions (child process)

/** LOAD DATA LOCAL content: one row of a 20 MB blob (read in 64 KiB pieces, each one client packet). */
const INFILE = join(tmpdir(), 'shiftgate-bench-large-packets.tsv');

async function mysqlBigSession(url: string, session: number): Promise<never> {
  const conn = await mysql.createConnection({
    uri: url,
    infileStreamFactory: () => createReadStream(INFILE),
  });
  const sink = `sink_${session}`;
  const literal = `SELECT LENGTH('${'y'.repeat(MYSQL_STATEMENT_BYTES)}') AS n`;
  const param = Buffer.alloc(MYSQL_STATEMENT_BYTES, 0x70);
  const ops: (() => Promise<unknown>)[] = [
    // 20 MB down: one row split over two 16 MB packets.
    () => conn.query('SELECT body FROM blobs WHERE id = 1'),
    // 15 MB up: a statement the proxy passes through.
    () => conn.query(literal),
    // 15 MB up: a COM_STMT_EXECUTE parameter.
    () => conn.execute('SELECT LENGTH(?) AS n', [param]),
    // 20 MB up: LOAD DATA LOCAL content.
    async () => {
      await conn.query(
        `LOAD DATA LOCAL INFILE 'big.tsv' INTO TABLE ${sink} FIELDS TERMINATED BY '\\t' ESCAPED BY '' (id, body)`,
      );
      await conn.query(`TRUNCATE TABLE ${sink}`);
    },
  ];
  for (let i = session; ; i++) {
    try {
      await ops[i % ops.length]!();
    } catch (err) {
      throw new Error(`big session ${session}, operation ${i % ops.length}: ${(err as Error).message}`);
    }
  }
}

async function pgBigSession(url: string, session: number): Promise<never> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TEMPORARY TABLE sink (body text)');
  const big = 'z'.repeat(BIG);
  const literal = `SELECT length('${big}') AS n`;
  const copyRows = Buffer.from(`${'c'.repeat(5_000_000)}\n`.repeat(4));
  const ops: (() => Promise<unknown>)[] = [
    // 20 MB down: one DataRow.
    () => client.query("SELECT repeat('x', 20000000) AS body"),
    // 20 MB up: a simple Query the proxy passes through.
    () => client.query(literal),
    // 20 MB up: a Bind parameter.
    () => client.query('SELECT length($1) AS n', [big]),
    // COPY up and down: a few 5 MB rows.
    async () => {
      await pipeline(Readable.from([copyRows]), client.query(copyFrom('COPY sink FROM STDIN')));
      const out = client.query(copyTo('COPY sink TO STDOUT'));
      for await (const _ of out) {
        // drained
      }
      await client.query('TRUNCATE sink');
    },
  ];
  for (let i = session; ; i++) {
    try {
      await ops[i % ops.length]!();
    } catch (err) {
      throw new Error(`big session ${session}, operation ${i % ops.length}: ${(err as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------------------
// The bare pipe (child process): the least a Node relay does.

function barePipe(target: string): void {
  const [host, port] = target.split(':');
  const server = createServer((client) => {
    const upstream = connect(Number(port), host!);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as { port: number }).port}\n`);
  });
}

// ---------------------------------------------------------------------------
// Shiftgate in-process with its socket 'data' handlers timed (child process)

async function timeHandlers(dialect: Dialect, upstream: string, seconds: number): Promise<void> {
  const { startShiftgate } = await import('../src/cli/runtime.ts');
  const { loadConfig } = await import('../src/config/load.ts');
  const config = loadConfig({ env: {}, flags: { upstream, listen: '127.0.0.1:0' } });
  const sg = await startShiftgate(config, upstream, { http: false });
  const durations: number[] = [];
  let timing = false;
  type Emit = (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
  const emit = Socket.prototype.emit as Emit;
  // Instrumentation, this process only: how long each chunk holds the event loop.
  const timed: Emit = function (event, ...args) {
    if (event !== 'data' || !timing) return emit.call(this, event, ...args);
    const start = performance.now();
    const result = emit.call(this, event, ...args);
    durations.push(performance.now() - start);
    return result;
  };
  Socket.prototype.emit = timed as typeof Socket.prototype.emit;
  const load = child(['--role', `${dialect}-load`, '--url', withPort(upstream, sg.proxy.address.port)]);
  // A loaded machine can take a while to start the big sessions' process.
  await new Promise((r) => setTimeout(r, 3000));
  timing = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  timing = false;
  await stopChild(load);
  const sorted = Float64Array.from(durations).sort();
  process.stdout.write(
    `${JSON.stringify({
      n: sorted.length,
      p999: percentileSorted(sorted, 0.999),
      max: sorted[sorted.length - 1] ?? 0,
      over10: durations.filter((d) => d > 10).length,
    })}\n`,
  );
  await sg.stop();
  process.exit(0);
}

async function handlerStats(dialect: Dialect, upstream: string, seconds: number): Promise<string> {
  const proc = child(
    ['--role', 'handlers', '--dialect', dialect, '--url', upstream, '--seconds', String(seconds)],
    'pipe',
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await once(proc, 'exit');
  const h = JSON.parse(out.trim().split('\n').at(-1)!) as {
    n: number;
    p999: number;
    max: number;
    over10: number;
  };
  return `${dialect.padEnd(9)} ${h.p999.toFixed(2).padStart(8)} ${h.max.toFixed(1).padStart(8)} ${String(h.over10).padStart(8)} of ${h.n}`;
}

// ---------------------------------------------------------------------------
// Main

type Dialect = 'mysql' | 'postgres';

function child(args: string[], stdout: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, ...args], {
    stdio: ['ignore', stdout, 'inherit'],
    env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' },
  });
}

async function startPipe(target: URL): Promise<{ port: number; stop(): Promise<void> }> {
  const proc = child(['--role', 'pipe', '--url', `${target.hostname}:${target.port}`], 'pipe');
  const [line] = (await once(proc.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), stop: () => stopChild(proc) };
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Pings through `url` for `seconds` while three big sessions run against it; returns the latencies (ms). */
async function measure(dialect: Dialect, url: string, seconds: number): Promise<number[]> {
  const load = child(['--role', `${dialect}-load`, '--url', url]);
  const samples: number[] = [];
  let ping: () => Promise<unknown>;
  let close: () => Promise<void>;
  if (dialect === 'mysql') {
    const conn = await mysql.createConnection({ uri: url });
    ping = () => conn.ping();
    close = () => conn.end();
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    ping = () => client.query('SELECT 1');
    close = () => client.end();
  }
  try {
    // Let the big sessions get going.
    await new Promise((r) => setTimeout(r, 1500));
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const start = performance.now();
      await ping();
      samples.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, PING_GAP_MS));
    }
  } finally {
    await stopChild(load);
    await close();
  }
  return samples;
}

interface Stats {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

function stats(xs: number[]): Stats {
  const s = Float64Array.from(xs).sort();
  return {
    p50: percentileSorted(s, 0.5),
    p99: percentileSorted(s, 0.99),
    max: s[s.length - 1]!,
    n: s.length,
  };
}

async function setUp(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'mysql') {
    const db = await createMysqlDatabase('bench_large');
    writeFileSync(INFILE, Buffer.concat([Buffer.from('1\t'), Buffer.alloc(BIG, 0x61), Buffer.from('\n')]));
    const conn = await mysql.createConnection({
      uri: db.url,
      infileStreamFactory: () => createReadStream(INFILE),
    });
    await conn.query('CREATE TABLE blobs (id INT PRIMARY KEY, body LONGBLOB)');
    for (const session of [0, 1, 2])
      await conn.query(`CREATE TABLE sink_${session} (id INT PRIMARY KEY, body LONGBLOB)`);
    await conn.query(
      "LOAD DATA LOCAL INFILE 'blob.tsv' INTO TABLE blobs FIELDS TERMINATED BY '\\t' ESCAPED BY '' (id, body)",
    );
    await conn.end();
    return db;
  }
  return createPgDatabase('bench_large');
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const dialects: Dialect[] = values.dialect === 'both' ? ['mysql', 'postgres'] : [values.dialect as Dialect];
  const table: string[] = [];
  const handlers: string[] = [];
  for (const dialect of dialects) {
    // A proxy in front of MariaDB creates the server's `shiftgate` database; left as it was found.
    const mysqlState = dialect === 'mysql' ? await watchMysqlStateDatabase() : null;
    const db = await setUp(dialect);
    const direct = new URL(db.url);
    const serve = await startServe(db.url);
    const pipe = await startPipe(direct);
    const targets: [string, string][] = [
      ['direct', db.url],
      ['pipe', withPort(db.url, pipe.port)],
      ['shiftgate', withPort(db.url, serve.port)],
    ];
    const samples = new Map<string, number[]>(targets.map(([name]) => [name, []]));
    try {
      for (let round = 1; round <= rounds; round++) {
        // Rotate the order so no target always runs first on a cold or warm server.
        const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
        for (const [name, url] of order) {
          const xs = await measure(dialect, url, seconds);
          samples.get(name)!.push(...xs);
          const s = stats(xs);
          console.log(
            `${dialect} round ${round} ${name.padEnd(10)} ping p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  max ${s.max.toFixed(1)} ms  (${s.n} pings)`,
          );
        }
      }
      await serve.stop();
      handlers.push(await handlerStats(dialect, db.url, seconds));
    } finally {
      await serve.stop();
      await pipe.stop();
      await db.drop();
      rmSync(INFILE, { force: true });
      const tidied = await mysqlState?.tidy();
      if (tidied) console.log(tidied);
    }
    const of = (name: string) => stats(samples.get(name)!);
    const d = of('direct');
    const p = of('pipe');
    const s = of('shiftgate');
    table.push(
      `${dialect.padEnd(9)} ${'direct'.padEnd(10)} ${fmt(d)}`,
      `${dialect.padEnd(9)} ${'pipe'.padEnd(10)} ${fmt(p)}`,
      `${dialect.padEnd(9)} ${'shiftgate'.padEnd(10)} ${fmt(s)}`,
      `${dialect.padEnd(9)} ${'sg/direct'.padEnd(10)} ${ratio(s, d)}`,
      `${dialect.padEnd(9)} ${'sg/pipe'.padEnd(10)} ${ratio(s, p)}`,
    );
  }
  console.log(
    `\nping latency while 3 sessions move 20 MB values (${seconds} s x ${rounds} rounds per target, ms)`,
  );
  console.log(`dialect   target          p50      p99      max`);
  for (const line of table) console.log(line);
  console.log(`\nShiftgate socket data handlers under the same load (${seconds} s, ms)`);
  console.log(`dialect      p99.9      max  over 10 ms`);
  for (const line of handlers) console.log(line);
}

function fmt(s: Stats): string {
  return `${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${s.max.toFixed(1).padStart(8)}`;
}

function ratio(a: Stats, b: Stats): string {
  const r = (x: number, y: number) => `${(x / y).toFixed(2)}x`.padStart(8);
  return `${r(a.p50, b.p50)} ${r(a.p99, b.p99)} ${r(a.max, b.max)}`;
}

switch (values.role) {
  case 'main':
    await main();
    break;
  case 'pipe':
    barePipe(values.url);
    break;
  case 'handlers':
    await timeHandlers(values.dialect as Dialect, values.url, Number(values.seconds));
    break;
  case 'mysql-load':
    await Promise.all([0, 1, 2].map((session) => mysqlBigSession(values.url, session)));
    break;
  case 'postgres-load':
    await Promise.all([0, 1, 2].map((session) => pgBigSession(values.url, session)));
    break;
  default:
    throw new Error(`unknown role ${values.role}`);
}
