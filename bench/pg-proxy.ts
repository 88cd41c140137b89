/**
 * pgbench -S (select-only) with 16 clients, direct to PostgreSQL, through
 * Shiftgate and through PgBouncer (when installed), alternating target by
 * target in one run so machine noise hits all of them alike. Prints TPS,
 * average latency and the ratios (median of the rounds).
 *
 * Usage: npm run bench:pg -- [--seconds 10] [--rounds 3] [--clients 16] [--scale 10]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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

interface Result {
  tps: number;
  latencyMs: number;
}

async function pgbench(url: string, mode: string): Promise<Result> {
  const { tps, latencyMs } = await runPgbench([
    '-S',
    '-n',
    '-M',
    mode,
    '-c',
    String(clients),
    '-j',
    '2',
    '-T',
    String(seconds),
    url,
  ]);
  return { tps, latencyMs };
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

  const shiftgate = await startServe(db.url);
  const bouncer = hasPgBouncer() ? await startPgBouncer(new URL(db.url), db.name) : null;
  if (!bouncer)
    console.log(
      'pgbouncer is not installed (apt-get install pgbouncer): comparing direct and Shiftgate only',
    );

  const targets: [string, string][] = [
    ['direct', db.url],
    ['shiftgate', withPort(db.url, shiftgate.port)],
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
    await shiftgate.stop();
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
