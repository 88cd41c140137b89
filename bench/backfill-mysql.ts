/**
 * `npm run bench:backfill -- --dialect mysql [N]`: the MariaDB side of
 * bench/backfill-postgres.ts, with pt-online-schema-change alongside.
 *
 * In one run, on a throwaway database, each on its own identical table:
 *   1. a single `UPDATE t SET new = up(old)` over N rows (the physical limit);
 *   2. the Shiftgate backfill of the same change (alter_column int -> bigint,
 *      up `amount * 100`, pass-through throttle, default batch sizing);
 *   3. pt-online-schema-change doing the nearest equivalent change, the
 *      column type change itself (`MODIFY amount bigint NOT NULL`, a copy of
 *      the whole table through its triggers; it cannot apply an expression);
 *   4. a writer's single-row UPDATEs per second before the migration, during
 *      its backfill, and while it is active (sync triggers in place).
 *
 * N defaults to 1,000,000 (env BENCH_ROWS or the argument);
 * SHIFTGATE_BENCH_MYSQL_URL picks the server (default the local test server,
 * root without a password). percona-toolkit is installed with apt-get when
 * pt-online-schema-change is missing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { connectMigrationEngine } from '../src/dialects/index.ts';
import type { EngineEvent } from '../src/migrations/engine.ts';
import { parseMigration } from '../src/migrations/parse.ts';

const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ADMIN_URL = process.env.SHIFTGATE_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
const WRITE_SECONDS = Number(process.env.BENCH_WRITE_SECONDS ?? 5);
const UP = 'amount * 100';
const SHADOW = '_shiftgate_new_amount';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function connect(url: string): Promise<Connection> {
  return mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true });
}

async function count(conn: Connection, sql: string): Promise<number> {
  const [r] = await conn.query<RowDataPacket[]>(sql);
  return Number(r[0]!.n);
}

async function buildTable(conn: Connection, name: string): Promise<void> {
  await conn.query(
    `CREATE TABLE ${name} (id bigint PRIMARY KEY, amount int NOT NULL, note char(32) NOT NULL)`,
  );
  // In chunks: one INSERT of a million rows would hold one huge transaction.
  for (let from = 1; from <= N; from += 200_000) {
    const to = Math.min(N, from + 199_999);
    await conn.query(`INSERT INTO ${name} SELECT seq, seq % 100000, MD5(seq) FROM seq_${from}_to_${to}`);
  }
  await conn.query(`ANALYZE TABLE ${name}`);
}

/** Single-row UPDATEs by primary key, one at a time, until `until()` says stop. */
async function writer(
  conn: Connection,
  table: string,
  until: () => boolean,
): Promise<{ ops: number; seconds: number }> {
  let ops = 0;
  const t0 = performance.now();
  while (!until()) {
    const id = 1 + Math.floor(Math.random() * N);
    await conn.query(`UPDATE ${table} SET amount = ? WHERE id = ?`, [Math.floor(Math.random() * 100000), id]);
    ops++;
  }
  return { ops, seconds: (performance.now() - t0) / 1000 };
}

/*
 * Waits (at most a minute) until InnoDB has flushed most dirty pages and
 * purged the undo history of the previous step, so that each measurement
 * starts from a quiet server rather than paying for the one before it (the
 * default 128 MB buffer pool holds far less than these tables).
 */
const settled: string[] = [];
async function settle(conn: Connection, before: string): Promise<void> {
  const t0 = performance.now();
  let last = '';
  while (performance.now() - t0 < 60_000) {
    const [r] = await conn.query<RowDataPacket[]>(
      `SHOW GLOBAL STATUS WHERE Variable_name IN
         ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total', 'Innodb_history_list_length')`,
    );
    const v = Object.fromEntries(r.map((x) => [String(x.Variable_name), Number(x.Value)]));
    const dirty =
      (v.Innodb_buffer_pool_pages_dirty ?? 0) / Math.max(1, v.Innodb_buffer_pool_pages_total ?? 1);
    last = `${(dirty * 100).toFixed(1)}% dirty pages, history ${v.Innodb_history_list_length ?? '?'}`;
    if (dirty < 0.05 && (v.Innodb_history_list_length ?? 0) < 1000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  settled.push(`${before}: waited ${((performance.now() - t0) / 1000).toFixed(1)} s (${last})`);
}

function ensurePtOsc(): void {
  if (spawnSync('which', ['pt-online-schema-change']).status === 0) return;
  console.log('pt-online-schema-change is missing: apt-get install -y percona-toolkit ...');
  const r = spawnSync('apt-get', ['install', '-y', 'percona-toolkit'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not install percona-toolkit');
}

ensurePtOsc();
const admin = await connect(ADMIN_URL);
const dbName = `sg_bench_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${dbName}`;
const db = await connect(url.toString());
const migration = (table: string) =>
  parseMigration(
    {
      operations: [
        { alter_column: { table, column: 'amount', type: 'bigint', up: UP, down: 'amount DIV 100' } },
      ],
    },
    `01_${table}_amount_cents.yaml`,
  );

try {
  console.log(`building three tables of ${fmt(N)} rows ...`);
  await buildTable(db, 'plain');
  await buildTable(db, 'migrated');
  await buildTable(db, 'ptosc');

  // 1. The physical limit: one statement, same new column, same expression.
  await db.query('ALTER TABLE plain ADD COLUMN amount_new bigint NULL, ALGORITHM=INSTANT');
  await settle(db, 'single UPDATE');
  let t0 = performance.now();
  await db.query(`UPDATE plain SET amount_new = ${UP}`);
  const updateSeconds = (performance.now() - t0) / 1000;
  const updateRate = N / updateSeconds;

  // 2. The Shiftgate backfill of the same change, unthrottled.
  let backfillStart = 0;
  let backfillSeconds = 0;
  let batches = 0;
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'phase' && e.phase === 'backfilling' && e.state === 'begin')
      backfillStart = performance.now();
    if (e.type === 'phase' && e.phase === 'backfilling' && e.state === 'end')
      backfillSeconds = (performance.now() - backfillStart) / 1000;
    if (e.type === 'batch') batches++;
  };
  const engine = await connectMigrationEngine({ url: url.toString(), onEvent });
  await settle(db, 'Shiftgate backfill');
  t0 = performance.now();
  await engine.start(migration('migrated'));
  const startSeconds = (performance.now() - t0) / 1000;
  const backfillRate = N / backfillSeconds;
  const backfillBatches = batches;
  const left = await count(db, `SELECT COUNT(*) AS n FROM migrated WHERE NOT (${SHADOW} <=> ${UP})`);
  if (left !== 0) throw new Error(`backfill left ${left} rows behind`);

  // 3. pt-online-schema-change: the type change, copying the table.
  const dsn = `D=${dbName},t=ptosc,h=${url.hostname},P=${url.port || 3306},u=${decodeURIComponent(url.username) || 'root'}${url.password ? `,p=${decodeURIComponent(url.password)}` : ''}`;
  await settle(db, 'pt-online-schema-change');
  t0 = performance.now();
  const pt = spawnSync(
    'pt-online-schema-change',
    [
      '--alter',
      'MODIFY amount bigint NOT NULL',
      dsn,
      '--execute',
      '--noversion-check',
      '--recursion-method=none',
    ],
    { encoding: 'utf8' },
  );
  const ptSeconds = (performance.now() - t0) / 1000;
  if (pt.status !== 0) throw new Error(`pt-online-schema-change failed:\n${pt.stdout}\n${pt.stderr}`);
  const copy =
    /(\d{4}-\d\d-\d\dT[\d:]+) Copying approximately[\s\S]*?(\d{4}-\d\d-\d\dT[\d:]+) Copied rows OK/.exec(
      pt.stdout,
    );
  const ptCopySeconds = copy ? (Date.parse(`${copy[2]}Z`) - Date.parse(`${copy[1]}Z`)) / 1000 : null;
  const ptRate = N / ptSeconds;

  // 4. A writer before, during the backfill, and while the migration is active.
  await engine.rollback();
  await db.query('ANALYZE TABLE migrated');
  const w = await connect(url.toString());
  await settle(db, 'writer before');
  let stopAt = performance.now() + WRITE_SECONDS * 1000;
  const before = await writer(w, 'migrated', () => performance.now() > stopAt);
  let phase = '';
  const engine2 = await connectMigrationEngine({
    url: url.toString(),
    onEvent: (e) => {
      if (e.type === 'phase') phase = `${e.phase}:${e.state}`;
    },
  });
  const duringBackfill = { ops: 0, seconds: 0 };
  const writing = (async () => {
    while (phase !== 'backfilling:begin') await new Promise((r) => setTimeout(r, 1));
    const r = await writer(w, 'migrated', () => phase !== 'backfilling:begin');
    Object.assign(duringBackfill, r);
  })();
  t0 = performance.now();
  await engine2.start(migration('migrated'));
  const backfillWithWriterSeconds = (performance.now() - t0) / 1000;
  await writing;
  await settle(db, 'writer while active');
  stopAt = performance.now() + WRITE_SECONDS * 1000;
  const active = await writer(w, 'migrated', () => performance.now() > stopAt);
  const consistent = await count(db, `SELECT COUNT(*) AS n FROM migrated WHERE NOT (${SHADOW} <=> ${UP})`);
  await engine2.rollback();
  await w.end();
  await engine.close();
  await engine2.close();

  const rate = (x: { ops: number; seconds: number }) => x.ops / Math.max(x.seconds, 1e-9);
  console.log(`
MariaDB ${String(((await db.query<RowDataPacket[]>('SELECT VERSION() AS v'))[0] as RowDataPacket[])[0]!.v)}
rows                                 ${fmt(N)}
single UPDATE (physical limit)       ${fmt(updateRate)} rows/s   (${updateSeconds.toFixed(2)} s)
Shiftgate backfill (unthrottled)     ${fmt(backfillRate)} rows/s   (${backfillSeconds.toFixed(2)} s, ${backfillBatches} batches; whole start ${startSeconds.toFixed(2)} s)
pt-online-schema-change (MODIFY)     ${fmt(ptRate)} rows/s   (${ptSeconds.toFixed(2)} s in all${ptCopySeconds === null ? '' : `, copying ~${ptCopySeconds.toFixed(0)} s`})
backfill / single UPDATE             ${(backfillRate / updateRate).toFixed(2)}x   (goal >= 0.8x)
backfill / pt-online-schema-change   ${(backfillRate / ptRate).toFixed(2)}x
pt-online-schema-change / UPDATE     ${(ptRate / updateRate).toFixed(2)}x

writer, single-row UPDATEs by key:
  before the migration               ${fmt(rate(before))} ops/s
  during the backfill                ${fmt(rate(duringBackfill))} ops/s   (backfill with the writer: ${backfillWithWriterSeconds.toFixed(2)} s)
  migration active (sync triggers)   ${fmt(rate(active))} ops/s
during backfill / before             ${(rate(duringBackfill) / rate(before)).toFixed(2)}x   (goal >= 0.8x)
active (triggers only) / before      ${(rate(active) / rate(before)).toFixed(2)}x   (goal >= 0.9x)
rows violating new = up(old)         ${consistent}

quiet server before each step (dirty pages < 5%, undo history < 1000, at most 60 s):
${settled.map((x) => `  ${x}`).join('\n')}
`);
} finally {
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  // Shiftgate's state rows of this database go with it.
  for (const table of ['migrations', 'events'])
    await admin.query(`DELETE FROM shiftgate.${table} WHERE schema_name = ?`, [dbName]).catch(() => {});
  await admin.end();
}
