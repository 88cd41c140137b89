/**
 * pgbench -S (select-only) with 16 clients, direct to PostgreSQL, through
 * Shiftgate and through PgBouncer (when installed), alternating target by
 * target in one run so machine noise hits all of them alike. Prints TPS,
 * average latency and the ratios (median of the rounds).
 *
 * Usage: npm run bench:pg -- [--seconds 10] [--rounds 3] [--clients 16] [--scale 10]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createPgDatabase } from '../test/helpers/databases.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '16' },
    scale: { type: 'string', default: '10' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clients = Number(values.clients);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await run('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-t', '1']);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answers on port ${port}`);
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

interface Result {
  tps: number;
  latencyMs: number;
}

async function pgbench(url: string, mode: string): Promise<Result> {
  const { stdout } = await run(
    'pgbench',
    ['-S', '-n', '-M', mode, '-c', String(clients), '-j', '2', '-T', String(seconds), url],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1];
  if (failed && failed !== '0') throw new Error(`pgbench reported ${failed} failed transactions`);
  return { tps, latencyMs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function hasPgBouncer(): boolean {
  try {
    execFileSync('pgbouncer', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** PgBouncer in session mode (one server connection per client, like Shiftgate), trust auth. */
async function startPgBouncer(
  upstream: URL,
  dbName: string,
): Promise<{ port: number; proc: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-pgbouncer-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const user = upstream.username || 'postgres';
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${dbName} = host=${upstream.hostname} port=${upstream.port || 5432} dbname=${dbName}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = session',
      `max_client_conn = ${clients * 2}`,
      `default_pool_size = ${clients + 4}`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; -u drops to the postgres system user.
  const args =
    process.getuid?.() === 0 ? ['-u', 'postgres', join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
  const proc = spawn('pgbouncer', args, { stdio: 'ignore' });
  await waitForPort(port);
  return { port, proc, dir };
}

async function main(): Promise<void> {
  const db = await createPgDatabase('bench_pg');
  console.log(`database ${db.name}: pgbench -i -s ${values.scale}`);
  await run('pgbench', ['-i', '-q', '-s', String(values.scale), db.url]);

  const shiftgatePort = await freePort();
  const shiftgate = spawn(
    process.execPath,
    [
      new URL('../bin/shiftgate.js', import.meta.url).pathname,
      'serve',
      '--upstream',
      db.url,
      '--listen',
      `127.0.0.1:${shiftgatePort}`,
      '--http',
      '127.0.0.1:0',
    ],
    { stdio: 'ignore', env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' } },
  );
  await waitForPort(shiftgatePort);
  const bouncer = hasPgBouncer() ? await startPgBouncer(new URL(db.url), db.name) : null;
  if (!bouncer)
    console.log(
      'pgbouncer is not installed (apt-get install pgbouncer): comparing direct and Shiftgate only',
    );

  const targets: [string, string][] = [
    ['direct', db.url],
    ['shiftgate', withPort(db.url, shiftgatePort)],
  ];
  if (bouncer) targets.push(['pgbouncer', withPort(db.url, bouncer.port)]);

  const results = new Map<string, Result[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of ['simple', 'prepared']) {
        for (const [name, url] of targets) {
          const r = await pgbench(url, mode);
          const key = `${mode}/${name}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          console.log(
            `round ${round} ${key.padEnd(20)} ${r.tps.toFixed(0).padStart(8)} tps  ${r.latencyMs.toFixed(3)} ms`,
          );
        }
      }
    }
  } finally {
    shiftgate.kill('SIGTERM');
    bouncer?.proc.kill('SIGTERM');
    if (bouncer) rmSync(bouncer.dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 500));
    await db.drop();
  }

  console.log(`\npgbench -S, ${clients} clients, ${seconds} s x ${rounds} rounds (median)`);
  console.log('mode      target       tps   avg latency ms   vs direct   shiftgate vs this');
  for (const mode of ['simple', 'prepared']) {
    const direct = median(results.get(`${mode}/direct`)!.map((r) => r.tps));
    const shiftgateTps = median(results.get(`${mode}/shiftgate`)!.map((r) => r.tps));
    for (const [name] of targets) {
      const rs = results.get(`${mode}/${name}`)!;
      const tps = median(rs.map((r) => r.tps));
      const lat = median(rs.map((r) => r.latencyMs));
      console.log(
        `${mode.padEnd(9)} ${name.padEnd(10)} ${tps.toFixed(0).padStart(7)}   ${lat.toFixed(3).padStart(14)}   ${(tps / direct).toFixed(2).padStart(8)}x   ${(shiftgateTps / tps).toFixed(2).padStart(8)}x`,
      );
    }
  }
}

await main();
