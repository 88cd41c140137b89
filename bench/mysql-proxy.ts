/**
 * sysbench oltp_point_select and oltp_read_only with 16 threads, direct to
 * MariaDB / MySQL and through Shiftgate (`shiftgate serve`, its own
 * process), alternating target by target in one run so machine noise hits
 * both alike. Prints QPS, p95 latency and the ratios (median of the rounds).
 *
 * Usage: npm run bench:mysql -- [--seconds 10] [--rounds 3] [--threads 16] [--table-size 10000]
 * Environment: SHIFTGATE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/)
 */
import { execFile, spawn } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { createMysqlDatabase } from '../test/helpers/databases.ts';
import { freePort, waitForTcp } from './lib/harness.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '16' },
    'table-size': { type: 'string', default: '10000' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const WORKLOADS = ['oltp_point_select', 'oltp_read_only'] as const;

interface Result {
  qps: number;
  p95Ms: number;
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

async function sysbench(workload: string, url: URL, database: string): Promise<Result> {
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
  const qps = Number(/queries:\s+\d+\s+\(([\d.]+) per sec\.\)/.exec(stdout)?.[1]);
  const p95Ms = Number(/95th percentile:\s+([\d.]+)/.exec(stdout)?.[1]);
  const errors = /ignored errors:\s+(\d+)/.exec(stdout)?.[1];
  if (errors && errors !== '0') throw new Error(`sysbench reported ${errors} errors`);
  return { qps, p95Ms };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const db = await createMysqlDatabase('bench_mysql');
  const direct = new URL(db.url);
  console.log(`database ${db.name}: sysbench prepare, 4 tables x ${values['table-size']} rows`);
  await run('sysbench', ['oltp_read_only', ...sysbenchArgs(direct, db.name), 'prepare']);

  const port = await freePort();
  const shiftgate = spawn(
    process.execPath,
    [
      new URL('../bin/shiftgate.js', import.meta.url).pathname,
      'serve',
      '--upstream',
      db.url,
      '--listen',
      `127.0.0.1:${port}`,
      '--http',
      '127.0.0.1:0',
    ],
    { stdio: 'ignore', env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' } },
  );
  await waitForTcp(port);
  const viaProxy = new URL(db.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(port);
  const targets: [string, URL][] = [
    ['direct', direct],
    ['shiftgate', viaProxy],
  ];

  const results = new Map<string, Result[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const workload of WORKLOADS) {
        // Alternate which target goes first so neither always runs on a warmer cache.
        const order = round % 2 ? targets : [...targets].reverse();
        for (const [name, url] of order) {
          const r = await sysbench(workload, url, db.name);
          const key = `${workload}/${name}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          console.log(
            `round ${round} ${key.padEnd(28)} ${r.qps.toFixed(0).padStart(8)} qps  p95 ${r.p95Ms.toFixed(2)} ms`,
          );
        }
      }
    }
  } finally {
    shiftgate.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await db.drop();
  }

  console.log(`\nsysbench, ${threads} threads, ${seconds} s x ${rounds} rounds (median)`);
  console.log('workload            target          qps   p95 ms   qps vs direct   p95 vs direct');
  for (const workload of WORKLOADS) {
    const base = results.get(`${workload}/direct`)!;
    const baseQps = median(base.map((r) => r.qps));
    const baseP95 = median(base.map((r) => r.p95Ms));
    for (const [name] of targets) {
      const rs = results.get(`${workload}/${name}`)!;
      const qps = median(rs.map((r) => r.qps));
      const p95 = median(rs.map((r) => r.p95Ms));
      console.log(
        `${workload.padEnd(19)} ${name.padEnd(10)} ${qps.toFixed(0).padStart(8)} ${p95.toFixed(2).padStart(8)}   ${(qps / baseQps).toFixed(2).padStart(12)}x   ${(p95 / baseP95).toFixed(2).padStart(12)}x`,
      );
    }
  }
}

await main();
