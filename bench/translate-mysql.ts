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
 * (goal < 50 us).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { connectMigrationEngine } from '../src/dialects/index.ts';
import { MysqlTranslator, translateMysqlUncached } from '../src/dialects/mysql/translate/index.ts';
import { migrationRecordsOf, physicalSchemaOf } from '../src/versions/from-engine.ts';
import { buildVersionMap } from '../src/versions/index.ts';
import { createMysqlDatabase } from '../test/helpers/databases.ts';
import { median, microsPerCall, scrapeMetric, startServe, withPort } from './lib/harness.ts';
import {
  SYSBENCH_PS_MODE,
  type SysbenchSummary,
  sysbenchConnectionArgs,
  sysbenchRun,
} from './lib/sysbench.ts';

export interface MysqlTranslateBenchOptions {
  seconds: number;
  rounds: number;
  clients: number;
  rows: number;
  iterations: number;
}

const MIGRATION = 'bench_accounts_add_cents';
const MODES = ['prepared', 'text'] as const;
const TARGETS = [
  ['migrating', 'accounts'],
  ['untouched', 'ledger'],
] as const;
const SCRIPT = new URL('./lib/point-select-update.lua', import.meta.url).pathname;
/** Point selects per transaction in the script (its --selects), plus its one UPDATE. */
const SELECTS = 4;
const STATEMENTS_PER_TRANSACTION = SELECTS + 1;

/** The script's statements as the translator sees them: `?` when prepared, values inlined as text. */
const statements = (table: string, form: 'prepared' | 'text') =>
  form === 'prepared'
    ? [`SELECT * FROM ${table} WHERE id = ?`, `UPDATE ${table} SET balance = ? WHERE id = ?`]
    : [`SELECT * FROM ${table} WHERE id = 73421`, `UPDATE ${table} SET balance = 4711 WHERE id = 1234`];

interface Round extends SysbenchSummary {
  rewritten: number;
  passthrough: number;
  hits: number;
  misses: number;
}

export async function runMysqlTranslateBench(o: MysqlTranslateBenchOptions): Promise<void> {
  const db = await createMysqlDatabase('bench_translate');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-translate-mysql-'));
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const results = new Map<string, Round[]>();
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

    writeFileSync(
      join(dir, `${MIGRATION}.yaml`),
      [
        'operations:',
        '  - add_column:',
        '      table: accounts',
        '      column: { name: balance_cents, type: bigint, nullable: true }',
        '      up: "balance * 100"',
        '',
      ].join('\n'),
    );
    // The default admin is postgres; MariaDB's is root.
    serve = await startServe(db.url, ['--migrations', dir, '--admin-users', 'root']);
    const proxyUrl = new URL(withPort(db.url, serve.port));
    const admin = await mysql.createConnection({ uri: proxyUrl.href });
    await admin.query(`SHIFTGATE START '${MIGRATION}'`);
    for (let i = 0; ; i++) {
      const [status] = (await admin.query('SHOW SHIFTGATE STATUS')) as unknown as [{ phase: string }[]];
      const phase = status[0]?.phase;
      if (phase === 'active') break;
      if (i > 1200) throw new Error(`migration stuck in ${phase}\n${serve.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.end();
    console.log(`migration ${MIGRATION} is active (add_column accounts.balance_cents with up)`);
    console.log(
      `sysbench ${SELECTS} point selects + 1 update, ${o.clients} threads, ${o.seconds} s x ${o.rounds} rounds, sessions bound to the old version\n`,
    );

    const httpPort = serve.httpPort;
    const counters = async () => ({
      rewritten: await scrapeMetric(httpPort, 'shiftgate_translations_total', { result: 'rewritten' }),
      passthrough: await scrapeMetric(httpPort, 'shiftgate_translations_total', { result: 'passthrough' }),
      hits: await scrapeMetric(httpPort, 'shiftgate_translation_cache_total', { result: 'hit' }),
      misses: await scrapeMetric(httpPort, 'shiftgate_translation_cache_total', { result: 'miss' }),
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
            const before = await counters();
            const r = await sysbench(url, table, mode, o.seconds);
            const after = await counters();
            const measured: Round = {
              ...r,
              rewritten: after.rewritten - before.rewritten,
              passthrough: after.passthrough - before.passthrough,
              hits: after.hits - before.hits,
              misses: after.misses - before.misses,
            };
            const key = `${mode}/${via}/${name}`;
            results.set(key, [...(results.get(key) ?? []), measured]);
            console.log(
              `round ${round} ${key.padEnd(28)} ${r.tps.toFixed(0).padStart(7)} tps  ${(r.meanUs / 1000).toFixed(3)} ms  ` +
                (via === 'direct'
                  ? ''
                  : `rewritten ${measured.rewritten}  passthrough ${measured.passthrough}  cache hit ${measured.hits} miss ${measured.misses}`),
            );
          }
        }
      }
    }

    // The cost of a miss for this run's own statements, against the live version map.
    const engine = await connectMigrationEngine({ url: db.url });
    let map: ReturnType<typeof buildVersionMap>;
    try {
      map = buildVersionMap(
        physicalSchemaOf(await engine.introspect()),
        migrationRecordsOf(await engine.versions()),
      );
    } finally {
      await engine.close();
    }
    const old = map.version(map.latestCompleted)!;
    const missRows = MODES.flatMap((form) =>
      statements('accounts', form).map((sql) => ({
        form,
        sql,
        miss: microsPerCall(() => translateMysqlUncached(old, sql), o.iterations),
        rewritten: translateMysqlUncached(old, sql).rewritten,
      })),
    );
    const translator = new MysqlTranslator(map);
    const hitSql = statements('accounts', 'prepared')[0]!;
    translator.translate(old.name, hitSql);
    const hit = microsPerCall(() => translator.translate(old.name, hitSql), o.iterations);
    const fastSql = statements('ledger', 'prepared')[0]!;
    const fast = microsPerCall(() => translator.translate(old.name, fastSql), o.iterations);

    console.log(`\nsysbench script through Shiftgate, ${o.clients} threads, median of ${o.rounds} rounds`);
    console.log(
      'mode      migrating tps  untouched tps   ratio   latency ms (mig / untouched)   translator per statement (migrating)',
    );
    for (const mode of MODES) {
      const mig = results.get(`${mode}/shiftgate/migrating`)!;
      const plain = results.get(`${mode}/shiftgate/untouched`)!;
      const migTps = median(mig.map((r) => r.tps));
      const plainTps = median(plain.map((r) => r.tps));
      const stmts = mig.reduce((a, r) => a + r.transactions * STATEMENTS_PER_TRANSACTION, 0);
      const rewritten = mig.reduce((a, r) => a + r.rewritten, 0);
      const hits = mig.reduce((a, r) => a + r.hits, 0);
      const lookups = hits + mig.reduce((a, r) => a + r.misses, 0);
      console.log(
        `${mode.padEnd(9)} ${migTps.toFixed(0).padStart(13)}  ${plainTps.toFixed(0).padStart(13)}  ${(migTps / plainTps).toFixed(2).padStart(5)}x` +
          `   ${(median(mig.map((r) => r.meanUs)) / 1000).toFixed(3)} / ${(median(plain.map((r) => r.meanUs)) / 1000).toFixed(3)}`.padEnd(
            33,
          ) +
          `rewritten ${(rewritten / stmts).toFixed(3)}/stmt, cache hit rate ${lookups ? ((100 * hits) / lookups).toFixed(1) : '-'}% of ${lookups} lookups`,
      );
    }
    console.log('goal: migrating >= 0.9x untouched');
    console.log(
      '\ncontrol: the same script straight to MariaDB (no proxy): what the migration itself costs (sync trigger, wider rows)',
    );
    console.log(
      'mode      migrating tps  untouched tps   ratio   proxy ratio / direct ratio (translation alone)',
    );
    for (const mode of MODES) {
      const tps = (via: string, name: string) =>
        median(results.get(`${mode}/${via}/${name}`)!.map((r) => r.tps));
      const directRatio = tps('direct', 'migrating') / tps('direct', 'untouched');
      const proxied = tps('shiftgate', 'migrating') / tps('shiftgate', 'untouched');
      console.log(
        `${mode.padEnd(9)} ${tps('direct', 'migrating').toFixed(0).padStart(13)}  ${tps('direct', 'untouched').toFixed(0).padStart(13)}  ${directRatio.toFixed(2).padStart(5)}x   ${(proxied / directRatio).toFixed(2)}x`,
      );
    }

    console.log(`\ncache miss (parse + rewrite), version "${old.name}", ${o.iterations} iterations each`);
    for (const r of missRows) {
      console.log(
        `${r.miss.toFixed(1).padStart(7)} us  ${r.rewritten ? 'rewritten' : 'unchanged'}  (${r.form}) ${r.sql}`,
      );
    }
    const avgMiss = missRows.reduce((a, r) => a + r.miss, 0) / missRows.length;
    console.log(
      `miss mean ${avgMiss.toFixed(1)} us/statement, max ${Math.max(...missRows.map((r) => r.miss)).toFixed(1)} us (goal < 50 us: ${avgMiss < 50 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `cache hit ${hit.toFixed(2)} us/statement, fast path (untouched table) ${fast.toFixed(2)} us/statement`,
    );
  } catch (err) {
    if (serve) process.stderr.write(`\nshiftgate serve log:\n${serve.log()}\n`);
    throw err;
  } finally {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}
