/**
 * `npm run bench:backfill [-- N]` (PostgreSQL, through bench/backfill.ts): the cost of a Shiftgate backfill against
 * the physical limit, and the cost of its sync triggers for writers.
 *
 * In one run, on a throwaway database:
 *   1. a single `UPDATE t SET new = up(old)` over N rows (the physical limit);
 *   2. the Shiftgate backfill of the same change (alter_column type change,
 *      pass-through throttle, default batch sizing) on an identical table;
 *   3. a writer's single-row UPDATEs per second before the migration, during
 *      its backfill, and while it is active (sync trigger in place).
 *
 * N defaults to 1,000,000 (env BENCH_ROWS or the first argument);
 * SHIFTGATE_BENCH_PG_URL picks the server (default the local test server).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { connectMigrationEngine } from '../src/dialects/index.ts';
import type { EngineEvent } from '../src/migrations/engine.ts';
import { parseMigration } from '../src/migrations/parse.ts';

const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ADMIN_URL = process.env.SHIFTGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WRITE_SECONDS = Number(process.env.BENCH_WRITE_SECONDS ?? 5);
const UP = 'amount::bigint * 100';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

async function buildTable(client: pg.Client, name: string): Promise<void> {
  await client.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, amount int NOT NULL, note text NOT NULL)`);
  await client.query(
    `INSERT INTO ${name} SELECT g, g % 100000, md5(g::text) FROM generate_series(1, ${N}) g`,
  );
  await client.query(`VACUUM ANALYZE ${name}`);
}

/** Single-row UPDATEs by primary key, one at a time, until `until()` says stop. */
async function writer(
  client: pg.Client,
  table: string,
  until: () => boolean,
): Promise<{ ops: number; seconds: number }> {
  let ops = 0;
  const t0 = performance.now();
  while (!until()) {
    const id = 1 + Math.floor(Math.random() * N);
    await client.query(`UPDATE ${table} SET amount = $2 WHERE id = $1`, [
      id,
      Math.floor(Math.random() * 100000),
    ]);
    ops++;
  }
  return { ops, seconds: (performance.now() - t0) / 1000 };
}

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
        { alter_column: { table, column: 'amount', type: 'bigint', up: UP, down: '(amount / 100)::int' } },
      ],
    },
    `01_${table}_amount_cents.yaml`,
  );

try {
  console.log(`building two tables of ${fmt(N)} rows ...`);
  await buildTable(db, 'plain');
  await buildTable(db, 'migrated');

  // 1. The physical limit: one statement, same new column, same expression.
  await db.query('ALTER TABLE plain ADD COLUMN amount_new bigint');
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
  await engine.start(migration('migrated'));
  const backfillRate = N / backfillSeconds;
  const backfillBatches = batches;
  const check = await db.query(
    `SELECT count(*)::int AS n FROM migrated WHERE _shiftgate_new_amount IS DISTINCT FROM ${UP}`,
  );
  if (check.rows[0].n !== 0) throw new Error('backfill left rows behind');

  // 3. A writer before, during the backfill, and while the migration is active.
  await engine.rollback();
  await db.query('VACUUM ANALYZE migrated');
  const w = await connect(url.toString());
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
  stopAt = performance.now() + WRITE_SECONDS * 1000;
  const active = await writer(w, 'migrated', () => performance.now() > stopAt);
  const consistent = await db.query(
    `SELECT count(*)::int AS n FROM migrated WHERE _shiftgate_new_amount IS DISTINCT FROM ${UP}`,
  );
  await engine2.rollback();
  await w.end();
  await engine.close();
  await engine2.close();

  const rate = (x: { ops: number; seconds: number }) => x.ops / Math.max(x.seconds, 1e-9);
  console.log(`
rows                                 ${fmt(N)}
single UPDATE (physical limit)       ${fmt(updateRate)} rows/s   (${updateSeconds.toFixed(2)} s)
Shiftgate backfill (unthrottled)     ${fmt(backfillRate)} rows/s   (${backfillSeconds.toFixed(2)} s, ${backfillBatches} batches)
backfill / single UPDATE             ${(backfillRate / updateRate).toFixed(2)}x   (goal >= 0.5x)

writer, single-row UPDATEs by key:
  before the migration               ${fmt(rate(before))} ops/s
  during the backfill                ${fmt(rate(duringBackfill))} ops/s   (backfill with the writer: ${backfillWithWriterSeconds.toFixed(2)} s)
  migration active (sync trigger)    ${fmt(rate(active))} ops/s
during backfill / before             ${(rate(duringBackfill) / rate(before)).toFixed(2)}x   (goal >= 0.6x)
active (trigger only) / before       ${(rate(active) / rate(before)).toFixed(2)}x
rows violating new = up(old)         ${consistent.rows[0].n}
`);
} finally {
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
