/**
 * `npm run bench:backfill -- --dialect mysql [N]`: the MariaDB side of
 * bench/backfill-postgres.ts, with pt-online-schema-change alongside.
 *
 * In one run, on a throwaway database, each on its own identical table
 * (`plain` and `plain2`, `migrated`, `ptosc`):
 *   1. a single `UPDATE t SET new = up(old)` over N rows (the physical limit);
 *   2. the Shiftgate backfill of the same change (alter_column int -> bigint,
 *      up `amount * 100`, pass-through throttle, default batch sizing);
 *   3. pt-online-schema-change doing the nearest equivalent change, the
 *      column type change itself (`MODIFY amount bigint NOT NULL`, a copy of
 *      the whole table through its triggers; it cannot apply an expression);
 *   4. a writer's single-row UPDATEs per second before the migration, during
 *      its backfill, and while it is active (sync triggers in place), the
 *      writer straight to MariaDB and the backfill unthrottled;
 *   5. the same writer through a `shiftgate serve` whose admin console
 *      starts the migration with the default throttle (`controller: pace`),
 *      which sees the writer's latency: its ops/s before, during, active,
 *      and the backfill rate it leaves.
 * The single UPDATE runs twice, on two identical tables, before and after
 * the backfill, so neither always pays for the other's dirty pages; every
 * step starts from a flushed buffer pool (see `settle`).
 *
 * N defaults to 1,000,000 (env BENCH_ROWS or the argument);
 * SHIFTGATE_BENCH_MYSQL_URL picks the server (default the local test server,
 * root without a password). percona-toolkit is installed with apt-get when
 * pt-online-schema-change is missing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { stringify } from 'yaml';
import { connectMigrationEngine } from '../src/dialects/index.ts';
import type { EngineEvent } from '../src/migrations/engine.ts';
import { parseMigration } from '../src/migrations/parse.ts';
import { dropMysqlState, watchMysqlStateDatabase } from '../test/helpers/databases.ts';
import { startServe, withPort } from './lib/harness.ts';

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
 * Waits until InnoDB has flushed most dirty pages and purged the undo
 * history of the previous step, so that each measurement starts from a
 * quiet server rather than paying for the one before it (the default 128 MB
 * buffer pool holds far less than these tables). Left alone, the page
 * cleaner flushes lazily and a minute of waiting can still end above 5%:
 * for the wait only, innodb_max_dirty_pages_pct (and its low-water mark)
 * go to 0, which makes it flush at full I/O capacity; both are restored
 * before the step runs, also when the wait fails or the bench is
 * interrupted. The dirty share the step started at is recorded with it.
 */
const SETTLE_CAP_MS = 120_000;
const settled: string[] = [];
let restoreFlushing: (() => Promise<void>) | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void (restoreFlushing?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });

async function flushState(conn: Connection): Promise<{ dirty: number; history: number }> {
  const [r] = await conn.query<RowDataPacket[]>(
    `SHOW GLOBAL STATUS WHERE Variable_name IN
       ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total', 'Innodb_history_list_length')`,
  );
  const v = Object.fromEntries(r.map((x) => [String(x.Variable_name), Number(x.Value)]));
  return {
    dirty: (v.Innodb_buffer_pool_pages_dirty ?? 0) / Math.max(1, v.Innodb_buffer_pool_pages_total ?? 1),
    history: v.Innodb_history_list_length ?? 0,
  };
}

async function settle(conn: Connection, before: string): Promise<void> {
  const t0 = performance.now();
  const [g] = await conn.query<RowDataPacket[]>(
    'SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct, @@GLOBAL.innodb_max_dirty_pages_pct_lwm AS lwm',
  );
  const pct = Number(g[0]!.pct);
  const lwm = Number(g[0]!.lwm);
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    // The percentage first: the mark may not exceed the percentage the server holds.
    await conn.query(`SET GLOBAL innodb_max_dirty_pages_pct = ${pct}`);
    await conn.query(`SET GLOBAL innodb_max_dirty_pages_pct_lwm = ${lwm}`);
  };
  restoreFlushing = restore;
  let state = await flushState(conn);
  const startedAt = state.dirty;
  try {
    await conn.query('SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0');
    await conn.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
    while (performance.now() - t0 < SETTLE_CAP_MS && !(state.dirty < 0.02 && state.history < 1000)) {
      await new Promise((r) => setTimeout(r, 250));
      state = await flushState(conn);
    }
  } finally {
    await restore();
    restoreFlushing = null;
  }
  state = await flushState(conn);
  settled.push(
    `${before.padEnd(34)} ${(startedAt * 100).toFixed(1).padStart(5)}% -> started at ${(state.dirty * 100).toFixed(1)}% dirty, history ${state.history} (waited ${((performance.now() - t0) / 1000).toFixed(1)} s; restored innodb_max_dirty_pages_pct = ${pct}, _lwm = ${lwm})`,
  );
}

function ensurePtOsc(): void {
  if (spawnSync('which', ['pt-online-schema-change']).status === 0) return;
  console.log('pt-online-schema-change is missing: apt-get install -y percona-toolkit ...');
  const r = spawnSync('apt-get', ['install', '-y', 'percona-toolkit'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not install percona-toolkit');
}

ensurePtOsc();
// The migrations create the server's `shiftgate` database; left as it was found.
const mysqlState = await watchMysqlStateDatabase();
const admin = await connect(ADMIN_URL);
const dbName = `sg_bench_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${dbName}`;
const db = await connect(url.toString());
/** The change every step measures, as a migration file's content. */
const migrationFile = (table: string) => ({
  operations: [{ alter_column: { table, column: 'amount', type: 'bigint', up: UP, down: 'amount DIV 100' } }],
});
const migration = (table: string) => parseMigration(migrationFile(table), `01_${table}_amount_cents.yaml`);

/** The physical limit on `table`: one statement, same new column, same expression. */
async function singleUpdate(table: string): Promise<{ seconds: number; rate: number }> {
  await db.query(`ALTER TABLE ${table} ADD COLUMN amount_new bigint NULL, ALGORITHM=INSTANT`);
  await settle(db, `single UPDATE (${table})`);
  const t0 = performance.now();
  await db.query(`UPDATE ${table} SET amount_new = ${UP}`);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, rate: N / seconds };
}

/**
 * Seconds of the proxied backfill the bench watches (env
 * BENCH_PROXIED_SECONDS): the throttle may slow it far below the
 * unthrottled rate, and the writer's figures need only a window of it.
 */
const PROXIED_WINDOW_S = Number(process.env.BENCH_PROXIED_SECONDS ?? 60);

/**
 * Step 5: writer and migration through one `shiftgate serve`: its writer
 * before, during the backfill (the phase as SHOW SHIFTGATE STATUS reports
 * it, polled every 100 ms) and while active, then a rollback.
 */
async function throughProxy() {
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-backfill-mysql-'));
  writeFileSync(join(dir, '01_migrated_amount_cents.yaml'), stringify(migrationFile('migrated')));
  // MariaDB's administrator is root (the default admin is postgres).
  const serve = await startServe(url.toString(), ['--migrations', dir, '--admin-users', 'root']);
  const proxyUrl = withPort(url.toString(), serve.port);
  const console_ = await connect(proxyUrl);
  const w = await connect(proxyUrl);
  try {
    const status = async () =>
      ((await console_.query<RowDataPacket[]>('SHOW SHIFTGATE STATUS'))[0][0] ?? {}) as Record<
        string,
        unknown
      >;
    await settle(db, 'writer before (through serve)');
    let stopAt = performance.now() + WRITE_SECONDS * 1000;
    const before = await writer(w, 'migrated', () => performance.now() > stopAt);
    let phase = 'none';
    let controller = '?';
    let rowsDone = 0;
    let backfillStart = 0;
    let backfillEnd = 0;
    let finished = false;
    const writing = (async () => {
      while (phase === 'none' || phase === 'expanding') await new Promise((r) => setTimeout(r, 1));
      return writer(w, 'migrated', () => phase !== 'backfilling');
    })();
    // Awaited below; when the loop fails first, the writer's own failure must not end the process.
    writing.catch(() => {});
    try {
      const t0 = performance.now();
      await console_.query(`SHIFTGATE START '01_migrated_amount_cents'`);
      for (;;) {
        const r = await status();
        phase = String(r.phase ?? 'none');
        if (r.controller) controller = String(r.controller);
        if (phase === 'backfilling') rowsDone = Number(r.rows_done ?? rowsDone);
        if (phase === 'backfilling' && backfillStart === 0) backfillStart = performance.now();
        if (phase !== 'backfilling' && backfillStart !== 0 && backfillEnd === 0)
          backfillEnd = performance.now();
        if (phase === 'active') {
          finished = true;
          rowsDone = N;
          break;
        }
        if (backfillStart !== 0 && performance.now() - backfillStart > PROXIED_WINDOW_S * 1000) {
          backfillEnd = performance.now();
          break;
        }
        if (backfillStart === 0 && performance.now() - t0 > 60_000)
          throw new Error(`the proxied migration is still ${phase} after 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      // Stops the writer whatever happened; the rollback below stops an unfinished backfill.
      if (!finished) phase = 'stopped';
    }
    const during = await writing;
    const backfillSeconds = (backfillEnd - backfillStart) / 1000;
    let active: { ops: number; seconds: number } | null = null;
    let consistent: number | null = null;
    if (finished) {
      await settle(db, 'writer while active (through serve)');
      stopAt = performance.now() + WRITE_SECONDS * 1000;
      active = await writer(w, 'migrated', () => performance.now() > stopAt);
      consistent = await count(db, `SELECT COUNT(*) AS n FROM migrated WHERE NOT (${SHADOW} <=> ${UP})`);
    }
    await console_.query('SHIFTGATE ROLLBACK');
    return { before, during, active, consistent, controller, rowsDone, finished, backfillSeconds };
  } catch (err) {
    process.stderr.write(`\nshiftgate serve log:\n${serve.log().slice(-4000)}\n`);
    throw err;
  } finally {
    await w.end().catch(() => {});
    await console_.end().catch(() => {});
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  console.log(`building four tables of ${fmt(N)} rows ...`);
  for (const table of ['plain', 'migrated', 'plain2', 'ptosc']) await buildTable(db, table);

  // 1. The physical limit, measured again after the backfill (step 2b): neither always runs first.
  const update1 = await singleUpdate('plain');

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
  let t0 = performance.now();
  await engine.start(migration('migrated'));
  const startSeconds = (performance.now() - t0) / 1000;
  const backfillRate = N / backfillSeconds;
  const backfillBatches = batches;
  const left = await count(db, `SELECT COUNT(*) AS n FROM migrated WHERE NOT (${SHADOW} <=> ${UP})`);
  if (left !== 0) throw new Error(`backfill left ${left} rows behind`);

  // 2b. The physical limit again, on a table of its own, now after the backfill.
  const update2 = await singleUpdate('plain2');
  const updateSeconds = (update1.seconds + update2.seconds) / 2;
  const updateRate = N / updateSeconds;

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

  // 5. The realistic case: the writer goes through `shiftgate serve`, and the migration
  //    starts through its admin console with the default throttle, which sees the writer.
  const proxied = await throughProxy();

  const rate = (x: { ops: number; seconds: number }) => x.ops / Math.max(x.seconds, 1e-9);
  console.log(`
MariaDB ${String(((await db.query<RowDataPacket[]>('SELECT VERSION() AS v'))[0] as RowDataPacket[])[0]!.v)}
rows                                 ${fmt(N)}
single UPDATE (physical limit)       ${fmt(updateRate)} rows/s   (${updateSeconds.toFixed(2)} s: the mean of ${update1.seconds.toFixed(2)} s before and ${update2.seconds.toFixed(2)} s after the backfill)
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

writer through shiftgate serve, migration started there (throttle: ${proxied.controller}):
  before the migration               ${fmt(rate(proxied.before))} ops/s
  during the backfill                ${fmt(rate(proxied.during))} ops/s
  migration active (sync triggers)   ${proxied.active ? `${fmt(rate(proxied.active))} ops/s` : '- (backfill stopped before the end)'}
  backfill rate                      ${fmt(proxied.rowsDone / proxied.backfillSeconds)} rows/s   (${fmt(proxied.rowsDone)} rows in ${proxied.backfillSeconds.toFixed(2)} s${proxied.finished ? '' : `, stopped after the ${PROXIED_WINDOW_S} s window`}; ${(proxied.rowsDone / proxied.backfillSeconds / updateRate).toFixed(2)}x the single UPDATE)
during backfill / before             ${(rate(proxied.during) / rate(proxied.before)).toFixed(2)}x   (goal >= 0.8x)${
    proxied.active
      ? `
active (triggers only) / before      ${(rate(proxied.active) / rate(proxied.before)).toFixed(2)}x   (goal >= 0.9x)
rows violating new = up(old)         ${proxied.consistent}`
      : ''
  }

quiet server before each step (dirty pages < 2%, undo history < 1000, at most ${SETTLE_CAP_MS / 1000} s; dirty share at the end of the previous step -> at the start of this one):
${settled.map((x) => `  ${x}`).join('\n')}
`);
} finally {
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  // Shiftgate's state rows of this database go with it (checkpoints, heartbeats and fleet controls too).
  await dropMysqlState(admin, dbName);
  await admin.end();
  const tidied = await mysqlState.tidy();
  if (tidied) console.log(tidied);
}
