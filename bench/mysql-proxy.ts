/**
 * sysbench oltp_point_select and oltp_read_only with 16 threads, direct to
 * MariaDB / MySQL and through Shiftgate (`shiftgate serve`, its own
 * process), alternating target by target in one run so machine noise hits
 * both alike. Prints QPS, p95 latency, the proxy's CPU microseconds per
 * query (utime + stime from /proc over the run) and the ratios (median of
 * the rounds). With `--workers N`, a second Shiftgate runs with
 * `proxy.workers: N` beside the single-process one (its CPU is the
 * primary's and the workers' together).
 *
 * Usage: npm run bench:mysql -- [--seconds 10] [--rounds 3] [--threads 16] [--table-size 10000] [--workers N]
 * Environment: SHIFTGATE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/)
 */
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { createMysqlDatabase } from '../test/helpers/databases.ts';
import { median, startServe, withPort } from './lib/harness.ts';
import { processTreeCpuMicros } from './lib/relay-controls.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '16' },
    'table-size': { type: 'string', default: '10000' },
    workers: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const workers = values.workers === undefined ? null : Number(values.workers);
const WORKLOADS = ['oltp_point_select', 'oltp_read_only'] as const;

interface Result {
  qps: number;
  p95Ms: number;
  /** The proxy's CPU per query (all its processes); NaN for direct. */
  cpuUs: number;
}

interface Target {
  name: string;
  url: URL;
  /** The proxy's process, whose CPU time is read; null for direct. */
  pid: number | null;
}

function sysbenchArgs(url: URL, database: string): string[] {
  return [
    '--db-driver=mysql',
    `--mysql-host=${url.hostname}`,
    `--mysql-port=${url.port || 3306}`,
    `--mysql-user=${decodeURIComponent(url.username) || 'root'}`,
    ...(url.password ? [`--mysql-password=${decodeURIComponent(url.password)}`] : []),
    `--mysql-db=${database}`,
    '--tables=4',
    `--table-size=${values['table-size']}`,
  ];
}

async function sysbench(workload: string, target: Target, database: string): Promise<Result> {
  const { url, pid } = target;
  const before = pid === null ? 0 : processTreeCpuMicros(pid);
  const { stdout } = await run(
    'sysbench',
    [
      workload,
      ...sysbenchArgs(url, database),
      `--threads=${threads}`,
      `--time=${seconds}`,
      '--percentile=95',
      'run',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const queries = /queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)/.exec(stdout);
  const qps = Number(queries?.[2]);
  const cpuUs = pid === null ? Number.NaN : (processTreeCpuMicros(pid) - before) / Number(queries?.[1]);
  const p95Ms = Number(/95th percentile:\s+([\d.]+)/.exec(stdout)?.[1]);
  const errors = /ignored errors:\s+(\d+)/.exec(stdout)?.[1];
  if (errors && errors !== '0') throw new Error(`sysbench reported ${errors} errors`);
  return { qps, p95Ms, cpuUs };
}

async function main(): Promise<void> {
  const db = await createMysqlDatabase('bench_mysql');
  const direct = new URL(db.url);
  console.log(`database ${db.name}: sysbench prepare, 4 tables x ${values['table-size']} rows`);
  await run('sysbench', ['oltp_read_only', ...sysbenchArgs(direct, db.name), 'prepare']);

  const shiftgate = await startServe(db.url);
  const pool = workers === null ? null : await startServe(db.url, ['--proxy-workers', String(workers)]);
  const targets: Target[] = [
    { name: 'direct', url: direct, pid: null },
    { name: 'shiftgate', url: new URL(withPort(db.url, shiftgate.port)), pid: shiftgate.proc.pid! },
  ];
  if (pool)
    targets.push({
      name: `shiftgate ${workers}w`,
      url: new URL(withPort(db.url, pool.port)),
      pid: pool.proc.pid!,
    });

  const results = new Map<string, Result[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const workload of WORKLOADS) {
        // Alternate which target goes first so neither always runs on a warmer cache.
        const order = round % 2 ? targets : [...targets].reverse();
        for (const target of order) {
          const r = await sysbench(workload, target, db.name);
          const key = `${workload}/${target.name}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          console.log(
            `round ${round} ${key.padEnd(32)} ${r.qps.toFixed(0).padStart(8)} qps  p95 ${r.p95Ms.toFixed(2)} ms  ${Number.isNaN(r.cpuUs) ? '' : `${r.cpuUs.toFixed(1)} us CPU/query`}`,
          );
        }
      }
    }
  } finally {
    await shiftgate.stop();
    await pool?.stop();
    await db.drop();
  }

  console.log(`\nsysbench, ${threads} threads, ${seconds} s x ${rounds} rounds (median)`);
  console.log(
    'workload            target            qps   p95 ms   CPU us/query   qps vs direct   p95 vs direct',
  );
  for (const workload of WORKLOADS) {
    const base = results.get(`${workload}/direct`)!;
    const baseQps = median(base.map((r) => r.qps));
    const baseP95 = median(base.map((r) => r.p95Ms));
    for (const { name } of targets) {
      const rs = results.get(`${workload}/${name}`)!;
      const qps = median(rs.map((r) => r.qps));
      const p95 = median(rs.map((r) => r.p95Ms));
      const cpu = median(rs.map((r) => r.cpuUs));
      console.log(
        `${workload.padEnd(19)} ${name.padEnd(12)} ${qps.toFixed(0).padStart(8)} ${p95.toFixed(2).padStart(8)}   ${Number.isNaN(cpu) ? '           -' : cpu.toFixed(1).padStart(12)}   ${(qps / baseQps).toFixed(2).padStart(12)}x   ${(p95 / baseP95).toFixed(2).padStart(12)}x`,
      );
    }
  }
}

await main();
