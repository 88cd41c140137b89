/**
 * `npm run bench:translate -- --dialect mysql`: what versioned translation
 * costs a MySQL / MariaDB client, the MySQL half of bench/translate.ts.
 *
 * In one run, on a throwaway MariaDB database with two identical tables of
 * N rows, through one `shiftgate serve`:
 *   - `accounts` is migrating: an add_column with `up` is active, so a
 *     session bound to the old version (the default) gets every `SELECT *`
 *     rewritten to hide the new column, and every UPDATE fires the sync
 *     trigger;
 *   - `ledger` is untouched: the same statements take the fast path.
 * The same sysbench script (bench/lib/point-select-update.lua: four point
 * selects and one UPDATE by primary key) runs against each, alternating
 * target by target and round by round, with server-side prepared
 * statements and as text, through Shiftgate and, as a control, straight to
 * MariaDB (what the migration itself costs: the trigger, the wider row).
 * It prints TPS (median of the rounds), the ratio migrating / untouched
 * (goal >= 0.9x), what the translator did per statement (from /metrics),
 * and the cost of a cache miss (parse + rewrite) of the script's own
 * statements, measured in this process against the live version map
 * before the load, once the server is idle (goal < 50 us).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { MysqlTranslator, translateMysqlUncached } from '../src/dialects/mysql/translate/index.ts';
import { createMysqlDatabase, watchMysqlStateDatabase } from '../test/helpers/databases.ts';
import { startServe, withPort } from './lib/harness.ts';
import { SYSBENCH_PS_MODE, sysbenchConnectionArgs, sysbenchRun } from './lib/sysbench.ts';
import {
  liveVersionMap,
  measureTranslateRound,
  printTranslateReport,
  startTranslateMigration,
  TRANSLATE_TARGETS as TARGETS,
  type TranslateRound,
  translationCosts,
  writeTranslateMigration,
} from './lib/translate-bench.ts';

export interface MysqlTranslateBenchOptions {
  seconds: number;
  rounds: number;
  clients: number;
  rows: number;
  iterations: number;
}

const MODES = ['prepared', 'text'] as const;
const SCRIPT = new URL('./lib/point-select-update.lua', import.meta.url).pathname;
/** Point selects per transaction in the script (its --selects), plus its one UPDATE. */
const SELECTS = 4;
const STATEMENTS_PER_TRANSACTION = SELECTS + 1;

/** The script's statements as the translator sees them: `?` when prepared, values inlined as text. */
const statements = (table: string, form: 'prepared' | 'text') =>
  form === 'prepared'
    ? [`SELECT * FROM ${table} WHERE id = ?`, `UPDATE ${table} SET balance = ? WHERE id = ?`]
    : [`SELECT * FROM ${table} WHERE id = 73421`, `UPDATE ${table} SET balance = 4711 WHERE id = 1234`];

/** Waits (up to 30 s) until InnoDB has purged what earlier writes left behind: the server is idle. */
async function waitForPurge(url: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    for (let i = 0; i < 300; i++) {
      const [rows] = (await conn.query('SHOW ENGINE INNODB STATUS')) as unknown as [{ Status: string }[]];
      const history = Number(/History list length (\d+)/.exec(rows[0]?.Status ?? '')?.[1] ?? 0);
      if (history < 100) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await conn.end();
  }
}

export async function runMysqlTranslateBench(o: MysqlTranslateBenchOptions): Promise<void> {
  // The proxy creates the server's `shiftgate` database; left as it was found.
  const mysqlState = await watchMysqlStateDatabase();
  const db = await createMysqlDatabase('bench_translate');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-translate-mysql-'));
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const results = new Map<string, TranslateRound[]>();
  try {
    const setup = await mysql.createConnection({ uri: db.url });
    for (const [, table] of TARGETS) {
      await setup.query(
        `CREATE TABLE ${table} (id int PRIMARY KEY, owner varchar(50) NOT NULL, balance int NOT NULL, opened date NOT NULL)`,
      );
      // MariaDB's SEQUENCE engine: seq_1_to_N is a table of 1..N.
      await setup.query(
        `INSERT INTO ${table} SELECT seq, CONCAT('owner ', seq), seq % 10000, DATE '2020-01-01' + INTERVAL (seq % 1000) DAY FROM seq_1_to_${o.rows}`,
      );
      await setup.query(`ANALYZE TABLE ${table}`);
    }
    await setup.end();
    console.log(`database ${db.name}: accounts and ledger, ${o.rows.toLocaleString('en-US')} rows each`);

    writeTranslateMigration(dir, 'balance * 100');
    // The default admin is postgres; MariaDB's is root.
    serve = await startServe(db.url, ['--migrations', dir, '--admin-users', 'root']);
    const proxyUrl = new URL(withPort(db.url, serve.port));
    const admin = await mysql.createConnection({ uri: proxyUrl.href });
    await startTranslateMigration(
      async (sql) => ((await admin.query(sql)) as unknown as [{ phase?: string }[]])[0],
      serve.log,
    );
    await admin.end();
    console.log(
      `sysbench ${SELECTS} point selects + 1 update, ${o.clients} threads, ${o.seconds} s x ${o.rounds} rounds, sessions bound to the old version\n`,
    );

    // The cost of a miss for this run's own statements, against the live version map, timed
    // before the load, once the server has purged the backfill's old row versions: a timing
    // in this process, not one shared with MariaDB's purge of the rounds' updates.
    await waitForPurge(db.url);
    const map = await liveVersionMap(db.url);
    const old = map.version(map.latestCompleted)!;
    const translator = new MysqlTranslator(map);
    const costs = translationCosts({
      uncached: (sql) => translateMysqlUncached(old, sql),
      cached: (sql) => translator.translate(old.name, sql),
      missSqls: MODES.flatMap((form) => statements('accounts', form)),
      hitSql: statements('accounts', 'prepared')[0]!,
      fastSql: statements('ledger', 'prepared')[0]!,
      iterations: o.iterations,
    });

    const sysbench = (url: URL, table: string, mode: string, seconds: number) =>
      sysbenchRun([
        SCRIPT,
        ...sysbenchConnectionArgs(url, db.name),
        `--table=${table}`,
        `--rows=${o.rows}`,
        `--selects=${SELECTS}`,
        `--db-ps-mode=${SYSBENCH_PS_MODE[mode]}`,
        `--threads=${o.clients}`,
        `--time=${seconds}`,
      ]);

    // Warm-up: the buffer pool and every connection's first statements.
    for (const [, table] of TARGETS) await sysbench(proxyUrl, table, 'prepared', 2);

    const direct = new URL(db.url);
    for (let round = 1; round <= o.rounds; round++) {
      // Alternate the order so no target always runs on a warmer cache.
      const targets = round % 2 ? TARGETS : [...TARGETS].reverse();
      for (const mode of MODES) {
        for (const [via, url] of [
          ['shiftgate', proxyUrl],
          ['direct', direct],
        ] as const) {
          for (const [name, table] of targets) {
            await measureTranslateRound(
              results,
              { round, mode, via, name, httpPort: serve.httpPort },
              async () => {
                const r = await sysbench(url, table, mode, o.seconds);
                return { tps: r.tps, latencyMs: r.meanUs / 1000, transactions: r.transactions };
              },
            );
          }
        }
      }
    }

    printTranslateReport({
      load: `sysbench script (${SELECTS} point selects + 1 update)`,
      server: 'MariaDB',
      clients: o.clients,
      rounds: o.rounds,
      modes: MODES,
      statementsPerTransaction: STATEMENTS_PER_TRANSACTION,
      results,
      version: old.name,
      iterations: o.iterations,
      costs,
      costsTimed: 'timed before the load, on an idle server',
    });
  } catch (err) {
    if (serve) process.stderr.write(`\nshiftgate serve log:\n${serve.log()}\n`);
    throw err;
  } finally {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
    const tidied = await mysqlState.tidy();
    if (tidied) console.log(tidied);
  }
}
