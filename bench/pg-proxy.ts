/**
 * pgbench -S (select-only) with 16 clients, direct to PostgreSQL, through
 * Shiftgate, through a bare Node `net` pipe (the floor any Node relay
 * stands on) and through PgBouncer in session mode (installed with apt-get
 * when missing), alternating target by target in one run so machine noise
 * hits all of them alike. Prints, per target and query mode, TPS, mean
 * latency and the relay process's CPU microseconds per transaction (utime
 * + stime from /proc over the run, and utime alone: the relay's own code,
 * which moves less with machine load), with ratios against direct, PgBouncer
 * and the bare pipe (median of the rounds). Then one client alone, per
 * target: the microseconds each round trip gains through the relay.
 * With `--workers N`, a second Shiftgate runs with `proxy.workers: N` beside
 * the single-process one (its CPU is the primary's and the workers' together).
 *
 * `--compare` adds another built Shiftgate checkout (say, main) as a target of its own, so a
 * change is measured against it in the same run, under the same machine noise; `--modes` picks
 * the pgbench query modes (simple, prepared) and `--no-pgbouncer` leaves PgBouncer out of a short run.
 *
 * Usage: npm run bench:pg -- [--seconds 10] [--rounds 3] [--clients 16] [--scale 10] [--latency-seconds 5] [--workers N]
 *          [--compare /path/to/other/checkout] [--modes simple,prepared] [--no-pgbouncer]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPgDatabase } from '../test/helpers/databases.ts';
import {
  freePort,
  median,
  run,
  pgbench as runPgbench,
  startServe,
  waitForPort,
  withPort,
} from './lib/harness.ts';
import { ensurePgBouncer, processTreeCpuTimes, startBarePipe } from './lib/relay-controls.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '16' },
    scale: { type: 'string', default: '10' },
    'latency-seconds': { type: 'string', default: '5' },
    workers: { type: 'string' },
    compare: { type: 'string' },
    modes: { type: 'string', default: 'simple,prepared' },
    'no-pgbouncer': { type: 'boolean', default: false },
  },
});
const modes = values.modes.split(',');
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clients = Number(values.clients);
const latencySeconds = Number(values['latency-seconds']);
const workers = values.workers === undefined ? null : Number(values.workers);

interface Result {
  tps: number;
  latencyMs: number;
  /** The relay process's CPU (user + system) per transaction; NaN for direct. */
  cpuUs: number;
  /** Its user CPU alone (the relay's own code, less moved by machine load); NaN for direct. */
  userUs: number;
}

interface Target {
  name: string;
  url: string;
  /** The relay's process, whose CPU time is read; null for direct. */
  pid: number | null;
}

async function pgbench(target: Target, mode: string, clientCount: number, time: number): Promise<Result> {
  const before = target.pid === null ? null : processTreeCpuTimes(target.pid);
  const { tps, latencyMs, transactions } = await runPgbench([
    '-S',
    '-n',
    '-M',
    mode,
    '-c',
    String(clientCount),
    '-j',
    String(Math.min(2, clientCount)),
    '-T',
    String(time),
    target.url,
  ]);
  const after = target.pid === null ? null : processTreeCpuTimes(target.pid);
  const user = before && after ? after.user - before.user : Number.NaN;
  const cpu = before && after ? user + after.system - before.system : Number.NaN;
  return { tps, latencyMs, cpuUs: cpu / transactions, userUs: user / transactions };
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

  const upstream = new URL(db.url);
  const shiftgate = await startServe(db.url);
  const pool = workers === null ? null : await startServe(db.url, ['--proxy-workers', String(workers)]);
  const pipe = await startBarePipe(upstream.hostname, Number(upstream.port || 5432));
  const other = values.compare === undefined ? null : await startServe(db.url, [], values.compare);
  const bouncer =
    !values['no-pgbouncer'] && ensurePgBouncer() ? await startPgBouncer(upstream, db.name) : null;
  if (!bouncer && !values['no-pgbouncer'])
    console.log('pgbouncer could not be installed: comparing direct, Shiftgate and the bare pipe');

  const targets: Target[] = [
    { name: 'direct', url: db.url, pid: null },
    { name: 'shiftgate', url: withPort(db.url, shiftgate.port), pid: shiftgate.proc.pid! },
    { name: 'bare pipe', url: withPort(db.url, pipe.port), pid: pipe.pid },
  ];
  if (other) targets.push({ name: 'compared', url: withPort(db.url, other.port), pid: other.proc.pid! });
  if (pool)
    targets.push({ name: `shiftgate ${workers}w`, url: withPort(db.url, pool.port), pid: pool.proc.pid! });
  if (bouncer)
    targets.push({ name: 'pgbouncer', url: withPort(db.url, bouncer.port), pid: bouncer.proc.pid! });

  const results = new Map<string, Result[]>();
  const oneClient = new Map<string, Result[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so no target always runs on a warmer cache.
      const order = round % 2 ? targets : [...targets].reverse();
      for (const mode of modes) {
        for (const target of order) {
          const r = await pgbench(target, mode, clients, seconds);
          const key = `${mode}/${target.name}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          console.log(
            `round ${round} ${key.padEnd(20)} ${r.tps.toFixed(0).padStart(8)} tps  ${r.latencyMs.toFixed(3)} ms  ${Number.isNaN(r.cpuUs) ? '' : `${r.cpuUs.toFixed(1)} us CPU/tx (${r.userUs.toFixed(1)} user)`}`,
          );
        }
      }
      for (const target of order) {
        const r = await pgbench(target, 'prepared', 1, latencySeconds);
        oneClient.set(target.name, [...(oneClient.get(target.name) ?? []), r]);
        console.log(
          `round ${round} 1 client/${target.name.padEnd(12)} ${(r.latencyMs * 1000).toFixed(1)} us per round trip`,
        );
      }
    }
  } finally {
    await shiftgate.stop();
    await other?.stop();
    await pool?.stop();
    await pipe.stop();
    bouncer?.proc.kill('SIGTERM');
    if (bouncer) rmSync(bouncer.dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 500));
    await db.drop();
  }

  if (other) console.log(`\ncompared: the Shiftgate checkout at ${values.compare}`);
  const med = (key: string, pick: (r: Result) => number) => median(results.get(key)!.map(pick));
  console.log(`\npgbench -S, ${clients} clients, ${seconds} s x ${rounds} rounds (median)`);
  console.log(
    'mode      target         tps   avg latency ms   CPU us/tx  user us/tx   tps vs direct   shiftgate tps vs this   shiftgate CPU vs this  shiftgate user vs this',
  );
  for (const mode of modes) {
    const direct = med(`${mode}/direct`, (r) => r.tps);
    const sgTps = med(`${mode}/shiftgate`, (r) => r.tps);
    const sgCpu = med(`${mode}/shiftgate`, (r) => r.cpuUs);
    const sgUser = med(`${mode}/shiftgate`, (r) => r.userUs);
    for (const { name } of targets) {
      const key = `${mode}/${name}`;
      const tps = med(key, (r) => r.tps);
      const cpu = med(key, (r) => r.cpuUs);
      const user = med(key, (r) => r.userUs);
      console.log(
        `${mode.padEnd(9)} ${name.padEnd(12)} ${tps.toFixed(0).padStart(7)}   ${med(key, (r) => r.latencyMs)
          .toFixed(3)
          .padStart(
            14,
          )}   ${Number.isNaN(cpu) ? '        -' : cpu.toFixed(1).padStart(9)}  ${Number.isNaN(user) ? '         -' : user.toFixed(1).padStart(10)}   ${(tps / direct).toFixed(2).padStart(12)}x   ${(sgTps / tps).toFixed(2).padStart(20)}x   ${Number.isNaN(cpu) ? '                    -' : `${(sgCpu / cpu).toFixed(2).padStart(20)}x`}  ${Number.isNaN(user) ? '                     -' : `${(sgUser / user).toFixed(2).padStart(21)}x`}`,
      );
    }
  }
  const directUs = median(oneClient.get('direct')!.map((r) => r.latencyMs)) * 1000;
  const added = (name: string) => median(oneClient.get(name)!.map((r) => r.latencyMs)) * 1000 - directUs;
  console.log(`\n1 client, pgbench -S -M prepared, ${latencySeconds} s x ${rounds} rounds (median)`);
  console.log(`direct: ${directUs.toFixed(1)} us per round trip`);
  for (const { name } of targets.filter((t) => t.pid !== null)) {
    console.log(
      `${name.padEnd(12)} adds ${added(name).toFixed(1).padStart(6)} us per round trip   shiftgate's added vs this: ${(added('shiftgate') / added(name)).toFixed(2)}x`,
    );
  }
}

await main();
