/**
 * What the compressed protocol costs and saves on one host: mysql2 with
 * and without `compress: true`, direct to MariaDB and through Shiftgate
 * (in this process; the proxy compresses the client leg only), alternating
 * target by target in one run. Workloads: a point query returning one
 * short row, a 64-row result of about 12 KiB, and a 230 KiB text value.
 * Prints the median time per query, the bytes a client received per query,
 * and the CPU the proxy spends (the whole process: proxy and client) per query.
 *
 * The direct compressed column is what a compressed upstream leg would
 * cost the server and the proxy (which would then inflate every response
 * before relaying it, and deflate it again for a compressed client).
 *
 * Usage: npm run bench:compression -- [--rounds 3] [--queries 300]
 * Environment: SHIFTGATE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/)
 */
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { createMysqlDatabase } from '../test/helpers/databases.ts';
import { startMysqlProxy } from '../test/mysql/proxy-harness.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, queries: { type: 'string', default: '300' } },
});
const rounds = Number(values.rounds);
const queries = Number(values.queries);

const WORKLOADS: Record<string, { sql: string; weight: number }> = {
  point: { sql: 'SELECT id, name FROM t WHERE id = 17', weight: 1 },
  rows64: { sql: 'SELECT id, name, note FROM t WHERE id <= 64', weight: 1 },
  text230KiB: { sql: "SELECT REPEAT(CONCAT(note, ' ', name), 5000) AS v FROM t WHERE id = 3", weight: 30 },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const db = await createMysqlDatabase('bench_compress');
const proxy = await startMysqlProxy({ upstream: db.url });
const setup = await mysql.createConnection(db.url);
await setup.query('CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(200))');
await setup.query(
  "INSERT INTO t SELECT seq, CONCAT('customer-', seq), CONCAT('order note ', seq % 7, ' shipped to warehouse ', seq % 13) FROM seq_1_to_1000",
);
await setup.end();

const directPort = Number(new URL(db.url).port || 3306);
const targets = [
  { name: 'direct', port: directPort, compress: false },
  { name: 'direct+compress', port: directPort, compress: true },
  { name: 'shiftgate', port: proxy.port, compress: false },
  { name: 'shiftgate+compress', port: proxy.port, compress: true },
];

const sent = async () =>
  (await proxy.proxy.ctx.metrics.clientBytesSent.get()).values.find((v) => v.labels.dialect === 'mysql')
    ?.value ?? 0;

type Sample = { us: number; bytes: number; cpuUs: number };
const results = new Map<string, Sample[]>();

for (let round = 0; round < rounds; round++) {
  for (const [workload, { sql, weight }] of Object.entries(WORKLOADS)) {
    const n = Math.max(10, Math.floor(queries / weight));
    for (const target of targets) {
      const conn = await mysql.createConnection({
        host: '127.0.0.1',
        port: target.port,
        user: new URL(db.url).username || 'root',
        database: db.name,
        compress: target.compress,
      });
      await conn.query(sql);
      const bytesBefore = await sent();
      const cpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await conn.query(sql);
      const us = Number(process.hrtime.bigint() - started) / 1000 / n;
      const cpu = process.cpuUsage(cpuBefore);
      const bytes = target.port === proxy.port ? ((await sent()) - bytesBefore) / n : Number.NaN;
      await conn.end();
      const key = `${workload}\t${target.name}`;
      results.set(key, [...(results.get(key) ?? []), { us, bytes, cpuUs: (cpu.user + cpu.system) / n }]);
    }
  }
}

console.log('workload\ttarget\tus/query\tvs direct\tbytes to client/query\tthis process CPU us/query');
for (const workload of Object.keys(WORKLOADS)) {
  const base = median(results.get(`${workload}\tdirect`)!.map((s) => s.us));
  for (const target of targets) {
    const samples = results.get(`${workload}\t${target.name}`)!;
    const us = median(samples.map((s) => s.us));
    const bytes = median(samples.map((s) => s.bytes));
    const cpu = median(samples.map((s) => s.cpuUs));
    console.log(
      `${workload}\t${target.name}\t${us.toFixed(0)}\t${(us / base).toFixed(2)}x\t${Number.isNaN(bytes) ? '-' : bytes.toFixed(0)}\t${cpu.toFixed(0)}`,
    );
  }
}

await proxy.stop();
await db.drop();
