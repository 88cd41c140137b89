/**
 * sysbench oltp_point_select and oltp_read_only with 16 threads, direct to
 * MariaDB / MySQL, through Shiftgate (`shiftgate serve`, its own process)
 * and through a bare Node `net` pipe (the floor any Node relay stands on),
 * alternating target by target in one run so machine noise hits all of
 * them alike. Each workload runs with server-side prepared statements
 * (COM_STMT_EXECUTE, sysbench's default) and as text queries (COM_QUERY).
 * Prints, per target, transactions per second, mean and p99 latency and
 * the relay process's CPU microseconds per transaction (utime + stime from
 * /proc over the run, and utime alone: the relay's own code, which moves
 * less with machine load), with ratios against direct and the bare pipe
 * (median of the rounds). Then one client alone, per target: the
 * microseconds each round trip gains through the relay (over the direct
 * run of the same round, median of the rounds: many short rounds follow
 * a loaded machine's drift better than a few long ones).
 *
 * Usage: npm run bench:mysql -- [--seconds 10] [--rounds 3] [--threads 16] [--table-size 10000]
 *          [--latency-seconds 5] [--workloads oltp_point_select,oltp_read_only] [--modes prepared,text]
 *          [--compare /path/to/other/checkout]... [--rate 0] [--workers N]
 * `--workers N` adds a Shiftgate running `proxy.workers: N` beside the single-process one (its
 * CPU is the primary's and the workers' together).
 * `--compare` adds another built Shiftgate checkout (say, main) as a target of its own, so a
 * change is measured against it in the same run, under the same machine noise; given several
 * times, it adds each (`compared 1`, `compared 2`, ...).
 * Environment: SHIFTGATE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/)
 */
import { parseArgs } from 'node:util';
import { createMysqlDatabase, watchMysqlStateDatabase } from '../test/helpers/databases.ts';
import { median, run, startServe, withPort } from './lib/harness.ts';
import { processTreeCpuTimes, startBarePipe } from './lib/relay-controls.ts';
import { SYSBENCH_PS_MODE, sysbenchConnectionArgs, sysbenchRun } from './lib/sysbench.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '16' },
    'table-size': { type: 'string', default: '10000' },
    'latency-seconds': { type: 'string', default: '5' },
    workloads: { type: 'string', default: 'oltp_point_select,oltp_read_only' },
    modes: { type: 'string', default: 'prepared,text' },
    compare: { type: 'string', multiple: true },
    rate: { type: 'string', default: '0' },
    workers: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const latencySeconds = Number(values['latency-seconds']);
const workloads = values.workloads.split(',');
const modes = values.modes.split(',');
/** sysbench --rate for the multi-client runs: 0 runs flat out; a fixed rate gives every target the same load. */
const rate = Number(values.rate);
const workers = values.workers === undefined ? null : Number(values.workers);

interface Result {
  tps: number;
  /** Mean transaction latency, from sysbench's latency sum (the printed average has 10 us steps). */
  meanUs: number;
  p99Ms: number;
  /** The relay process's CPU (user + system) per transaction; NaN for direct. */
  cpuUs: number;
  /** Its user CPU alone (the relay's own code, less moved by machine load); NaN for direct. */
  userUs: number;
}

interface Target {
  name: string;
  url: URL;
  /** The relay's process, whose CPU time is read; null for direct. */
  pid: number | null;
}

function connectionArgs(url: URL, database: string): string[] {
  return [...sysbenchConnectionArgs(url, database), '--tables=4', `--table-size=${values['table-size']}`];
}

async function sysbench(
  target: Target,
  database: string,
  workload: string,
  mode: string,
  threadCount: number,
  time: number,
): Promise<Result> {
  const before = target.pid === null ? null : processTreeCpuTimes(target.pid);
  const r = await sysbenchRun([
    workload,
    ...connectionArgs(target.url, database),
    `--db-ps-mode=${SYSBENCH_PS_MODE[mode]}`,
    `--threads=${threadCount}`,
    `--rate=${threadCount === 1 ? 0 : rate}`,
    `--time=${time}`,
  ]);
  const after = target.pid === null ? null : processTreeCpuTimes(target.pid);
  const user = before && after ? after.user - before.user : Number.NaN;
  const cpu = before && after ? user + after.system - before.system : Number.NaN;
  return {
    tps: r.tps,
    meanUs: r.meanUs,
    p99Ms: r.p99Ms,
    cpuUs: cpu / r.transactions,
    userUs: user / r.transactions,
  };
}

const fixed = (n: number, digits: number, width: number) =>
  Number.isNaN(n) ? '-'.padStart(width) : n.toFixed(digits).padStart(width);

async function main(): Promise<void> {
  // The proxy creates the server's `shiftgate` database; left as it was found.
  const mysqlState = await watchMysqlStateDatabase();
  const db = await createMysqlDatabase('bench_mysql');
  const direct = new URL(db.url);
  console.log(`database ${db.name}: sysbench prepare, 4 tables x ${values['table-size']} rows`);
  await run('sysbench', ['oltp_read_only', ...connectionArgs(direct, db.name), 'prepare']);

  const shiftgate = await startServe(db.url);
  const pipe = await startBarePipe(direct.hostname, Number(direct.port || 3306));
  const checkouts = values.compare ?? [];
  const others = await Promise.all(checkouts.map((checkout) => startServe(db.url, [], checkout)));
  const comparedName = (i: number) => (others.length === 1 ? 'compared' : `compared ${i + 1}`);
  const pool = workers === null ? null : await startServe(db.url, ['--proxy-workers', String(workers)]);
  const targets: Target[] = [
    { name: 'direct', url: direct, pid: null },
    { name: 'shiftgate', url: new URL(withPort(db.url, shiftgate.port)), pid: shiftgate.proc.pid! },
    { name: 'bare pipe', url: new URL(withPort(db.url, pipe.port)), pid: pipe.pid },
  ];
  for (const [i, other] of others.entries())
    targets.push({ name: comparedName(i), url: new URL(withPort(db.url, other.port)), pid: other.proc.pid! });
  if (pool)
    targets.push({
      name: `shiftgate ${workers}w`,
      url: new URL(withPort(db.url, pool.port)),
      pid: pool.proc.pid!,
    });

  const results = new Map<string, Result[]>();
  const oneClient = new Map<string, Result[]>();
  const add = (map: Map<string, Result[]>, key: string, r: Result) =>
    map.set(key, [...(map.get(key) ?? []), r]);
  try {
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so no target always runs on a warmer cache.
      const order = round % 2 ? targets : [...targets].reverse();
      for (const workload of workloads) {
        for (const mode of modes) {
          for (const target of order) {
            const r = await sysbench(target, db.name, workload, mode, threads, seconds);
            const key = `${workload}/${mode}/${target.name}`;
            add(results, key, r);
            console.log(
              `round ${round} ${key.padEnd(38)} ${fixed(r.tps, 0, 7)} tps  mean ${fixed(r.meanUs, 0, 5)} us  p99 ${fixed(r.p99Ms, 2, 5)} ms  ${Number.isNaN(r.cpuUs) ? '' : `${r.cpuUs.toFixed(1)} us CPU/tx (${r.userUs.toFixed(1)} user)`}`,
            );
          }
        }
      }
      for (const target of order) {
        const r = await sysbench(target, db.name, 'oltp_point_select', 'prepared', 1, latencySeconds);
        add(oneClient, target.name, r);
        console.log(
          `round ${round} 1 client/${target.name.padEnd(10)} ${r.meanUs.toFixed(1)} us per round trip  ${Number.isNaN(r.cpuUs) ? '' : `${r.cpuUs.toFixed(1)} us CPU/tx (${r.userUs.toFixed(1)} user)`}`,
        );
      }
    }
  } finally {
    await shiftgate.stop();
    for (const other of others) await other.stop();
    await pool?.stop();
    await pipe.stop();
    await db.drop();
    const tidied = await mysqlState.tidy();
    if (tidied) console.log(tidied);
  }

  const med = (map: Map<string, Result[]>, key: string, pick: (r: Result) => number) =>
    median(map.get(key)!.map(pick));
  for (const [i, checkout] of checkouts.entries())
    console.log(`\n${comparedName(i)}: the Shiftgate checkout at ${checkout}`);
  console.log(`\nsysbench, ${threads} threads, ${seconds} s x ${rounds} rounds (median)`);
  console.log(
    'workload          mode      target        tps  mean us  p99 ms  CPU us/tx  user us/tx  tps vs direct  shiftgate tps vs this  shiftgate CPU vs this  shiftgate user vs this',
  );
  for (const workload of workloads) {
    for (const mode of modes) {
      const key = (target: string) => `${workload}/${mode}/${target}`;
      const directTps = med(results, key('direct'), (r) => r.tps);
      const sgTps = med(results, key('shiftgate'), (r) => r.tps);
      const sgCpu = med(results, key('shiftgate'), (r) => r.cpuUs);
      const sgUser = med(results, key('shiftgate'), (r) => r.userUs);
      for (const { name } of targets) {
        const tps = med(results, key(name), (r) => r.tps);
        const cpu = med(results, key(name), (r) => r.cpuUs);
        const user = med(results, key(name), (r) => r.userUs);
        console.log(
          `${workload.padEnd(17)} ${mode.padEnd(9)} ${name.padEnd(10)} ${fixed(tps, 0, 7)}  ${fixed(
            med(results, key(name), (r) => r.meanUs),
            0,
            7,
          )}  ${fixed(
            med(results, key(name), (r) => r.p99Ms),
            2,
            6,
          )}  ${fixed(cpu, 1, 9)}  ${fixed(user, 1, 10)}  ${fixed(tps / directTps, 2, 12)}x  ${fixed(sgTps / tps, 2, 20)}x  ${fixed(sgCpu / cpu, 2, 20)}x  ${fixed(sgUser / user, 2, 21)}x`,
        );
      }
    }
  }
  const directUs = med(oneClient, 'direct', (r) => r.meanUs);
  // Each round's own direct run is the reference: on a shared machine the floor itself moves between rounds.
  const directByRound = oneClient.get('direct')!.map((r) => r.meanUs);
  const added = (name: string) => median(oneClient.get(name)!.map((r, i) => r.meanUs - directByRound[i]!));
  console.log(
    `\n1 client, sysbench oltp_point_select (prepared), ${latencySeconds} s x ${rounds} rounds (median; added: over the same round's direct run)`,
  );
  console.log(`direct: ${directUs.toFixed(1)} us per round trip`);
  for (const { name } of targets.filter((t) => t.pid !== null)) {
    console.log(
      `${name.padEnd(10)} adds ${added(name).toFixed(1).padStart(6)} us per round trip, ${fixed(
        med(oneClient, name, (r) => r.cpuUs),
        1,
        5,
      )} us CPU/tx (${fixed(
        med(oneClient, name, (r) => r.userUs),
        1,
        4,
      )} user)   shiftgate's added vs this: ${(added('shiftgate') / added(name)).toFixed(2)}x`,
    );
  }
}

await main();
