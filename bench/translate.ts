/**
 * `npm run bench:translate`: what versioned translation costs a client.
 *
 * In one run, on a throwaway database with two identical tables of N rows,
 * through one `shiftgate serve`:
 *   - `accounts` is migrating: an add_column with `up` has been started and
 *     is active, so a session bound to the old version (the default: the
 *     latest completed version) gets every `SELECT *` / `RETURNING *`
 *     rewritten to hide the new column;
 *   - `ledger` is untouched: the same statements take the fast path and are
 *     relayed byte for byte.
 * The same pgbench custom script runs against each, alternating target by
 * target and round by round, in `-M simple`, `extended` and `prepared`,
 * through Shiftgate and, as a control, straight to PostgreSQL (which shows
 * what the migration itself costs: the sync trigger on UPDATE).
 * It prints TPS (median of the rounds), the ratio migrating / untouched
 * (goal >= 0.9x), what the translator did per statement (from /metrics),
 * and the cost of a cache miss (parse + rewrite) of the script's own
 * statements, measured in this process against the live version map
 * (goal < 50 us).
 *
 * `--dialect mysql` runs the same comparison on MariaDB with sysbench
 * (bench/translate-mysql.ts).
 *
 * Usage: npm run bench:translate -- [--dialect postgres|mysql] [--seconds 10] [--rounds 3] [--clients 8] [--rows 100000]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 *   SHIFTGATE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { connectMigrationEngine } from '../src/dialects/index.ts';
import { loadPgParser, PgTranslator, translateUncached } from '../src/dialects/postgres/translate/index.ts';
import { migrationRecordsOf, physicalSchemaOf } from '../src/versions/from-engine.ts';
import { buildVersionMap } from '../src/versions/index.ts';
import { createPgDatabase } from '../test/helpers/databases.ts';
import { median, pgbench, scrapeMetric, startServe, withPort } from './lib/harness.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '8' },
    rows: { type: 'string', default: '100000' },
    iterations: { type: 'string', default: '20000' },
    dialect: { type: 'string', default: 'postgres' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clients = Number(values.clients);
const rows = Number(values.rows);
const iterations = Number(values.iterations);

const MIGRATION = 'bench_accounts_add_cents';
const MODES = ['simple', 'extended', 'prepared'] as const;
const TARGETS = [
  ['migrating', 'accounts'],
  ['untouched', 'ledger'],
] as const;

/** The script's statements with pgbench variables; `T` is the table. */
const statements = (table: string) => [
  `SELECT * FROM ${table} WHERE id = :id`,
  `UPDATE ${table} SET balance = balance + :delta WHERE id = :id RETURNING *`,
  `SELECT * FROM ${table} WHERE id = :id2`,
];

function script(table: string): string {
  return [
    `\\set id random(1, ${rows})`,
    `\\set id2 random(1, ${rows})`,
    '\\set delta random(-500, 500)',
    ...statements(table).map((s) => `${s};`),
    '',
  ].join('\n');
}

function microsPerCall(fn: () => void): number {
  for (let i = 0; i < Math.min(2000, iterations); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

interface Round {
  tps: number;
  latencyMs: number;
  transactions: number;
  rewritten: number;
  passthrough: number;
  hits: number;
  misses: number;
}

async function main(): Promise<void> {
  const db = await createPgDatabase('bench_translate');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-translate-'));
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const results = new Map<string, Round[]>();
  try {
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    for (const [, table] of TARGETS) {
      await setup.query(
        `CREATE TABLE ${table} (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL, opened date NOT NULL)`,
      );
      await setup.query(
        `INSERT INTO ${table} SELECT g, 'owner ' || g, g % 10000, date '2020-01-01' + g % 1000 FROM generate_series(1, ${rows}) g`,
      );
      await setup.query(`VACUUM ANALYZE ${table}`);
    }
    await setup.end();
    console.log(`database ${db.name}: accounts and ledger, ${rows.toLocaleString('en-US')} rows each`);

    writeFileSync(
      join(dir, `${MIGRATION}.yaml`),
      [
        'operations:',
        '  - add_column:',
        '      table: accounts',
        '      column: { name: balance_cents, type: bigint, nullable: true }',
        '      up: "balance::bigint * 100"',
        '',
      ].join('\n'),
    );
    for (const [, table] of TARGETS) writeFileSync(join(dir, `${table}.sql`), script(table));

    serve = await startServe(db.url, ['--migrations', dir]);
    const proxyUrl = withPort(db.url, serve.port);
    const admin = new pg.Client({ connectionString: proxyUrl });
    await admin.connect();
    await admin.query(`SHIFTGATE START '${MIGRATION}'`);
    for (let i = 0; ; i++) {
      const phase = (await admin.query('SHOW SHIFTGATE STATUS')).rows[0]?.phase;
      if (phase === 'active') break;
      if (i > 1200) throw new Error(`migration stuck in ${phase}\n${serve.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.end();
    console.log(`migration ${MIGRATION} is active (add_column accounts.balance_cents with up)`);
    console.log(
      `pgbench -f <3 statements>, ${clients} clients, ${seconds} s x ${rounds} rounds, sessions bound to the old version\n`,
    );

    const httpPort = serve.httpPort;
    const counters = async () => ({
      rewritten: await scrapeMetric(httpPort, 'shiftgate_translations_total', { result: 'rewritten' }),
      passthrough: await scrapeMetric(httpPort, 'shiftgate_translations_total', { result: 'passthrough' }),
      hits: await scrapeMetric(httpPort, 'shiftgate_translation_cache_total', { result: 'hit' }),
      misses: await scrapeMetric(httpPort, 'shiftgate_translation_cache_total', { result: 'miss' }),
    });

    // Warm-up: every connection's first statements and the plan cache.
    for (const [, table] of TARGETS) {
      await pgbench([
        '-n',
        '-M',
        'extended',
        '-f',
        join(dir, `${table}.sql`),
        '-c',
        String(clients),
        '-T',
        '2',
        proxyUrl,
      ]);
    }

    for (let round = 1; round <= rounds; round++) {
      for (const mode of MODES) {
        for (const [via, url] of [
          ['shiftgate', proxyUrl],
          ['direct', db.url],
        ] as const) {
          for (const [name, table] of TARGETS) {
            const before = await counters();
            const r = await pgbench([
              '-n',
              '-M',
              mode,
              '-f',
              join(dir, `${table}.sql`),
              '-c',
              String(clients),
              '-j',
              '2',
              '-T',
              String(seconds),
              url,
            ]);
            const after = await counters();
            const measured: Round = {
              tps: r.tps,
              latencyMs: r.latencyMs,
              transactions: r.transactions,
              rewritten: after.rewritten - before.rewritten,
              passthrough: after.passthrough - before.passthrough,
              hits: after.hits - before.hits,
              misses: after.misses - before.misses,
            };
            const key = `${mode}/${via}/${name}`;
            results.set(key, [...(results.get(key) ?? []), measured]);
            console.log(
              `round ${round} ${key.padEnd(28)} ${r.tps.toFixed(0).padStart(7)} tps  ${r.latencyMs.toFixed(3)} ms  ` +
                (via === 'direct'
                  ? ''
                  : `rewritten ${measured.rewritten}  passthrough ${measured.passthrough}  cache hit ${measured.hits} miss ${measured.misses}`),
            );
          }
        }
      }
    }

    // The cost of a miss for this run's own statements, against the live version map.
    await loadPgParser();
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
    const translator = new PgTranslator(map);
    const forms = {
      'as -M simple sends it (literals)': statements('accounts').map((s) => {
        const literal: Record<string, string> = { id: '1234', id2: '73421', delta: '-17' };
        return s.replace(/:(\w+)/g, (_, name: string) => literal[name]!);
      }),
      'as -M extended/prepared sends it ($n)': statements('accounts').map((s) => {
        let n = 0;
        return s.replace(/:(\w+)/g, () => `$${++n}`);
      }),
    };
    const missRows: { form: string; sql: string; miss: number; rewritten: boolean }[] = [];
    for (const [form, sqls] of Object.entries(forms)) {
      for (const sql of sqls) {
        const plan = translateUncached(old, sql);
        missRows.push({
          form,
          sql,
          miss: microsPerCall(() => translateUncached(old, sql)),
          rewritten: plan.rewritten,
        });
      }
    }
    const hitSql = forms['as -M extended/prepared sends it ($n)'][0]!;
    translator.translate(old.name, hitSql);
    const hit = microsPerCall(() => translator.translate(old.name, hitSql));
    const fastSql = statements('ledger')[0]!.replace(':id', '$1');
    const fast = microsPerCall(() => translator.translate(old.name, fastSql));

    console.log(`\npgbench custom script through Shiftgate, ${clients} clients, median of ${rounds} rounds`);
    console.log(
      'mode      migrating tps  untouched tps   ratio   latency ms (mig / untouched)   translator per statement (migrating)',
    );
    for (const mode of MODES) {
      const mig = results.get(`${mode}/shiftgate/migrating`)!;
      const plain = results.get(`${mode}/shiftgate/untouched`)!;
      const migTps = median(mig.map((r) => r.tps));
      const plainTps = median(plain.map((r) => r.tps));
      const stmts = mig.reduce((a, r) => a + r.transactions * 3, 0);
      const rewritten = mig.reduce((a, r) => a + r.rewritten, 0);
      const hits = mig.reduce((a, r) => a + r.hits, 0);
      const misses = mig.reduce((a, r) => a + r.misses, 0);
      const lookups = hits + misses;
      console.log(
        `${mode.padEnd(9)} ${migTps.toFixed(0).padStart(13)}  ${plainTps.toFixed(0).padStart(13)}  ${(migTps / plainTps).toFixed(2).padStart(5)}x` +
          `   ${median(mig.map((r) => r.latencyMs)).toFixed(3)} / ${median(plain.map((r) => r.latencyMs)).toFixed(3)}`.padEnd(
            33,
          ) +
          `rewritten ${(rewritten / stmts).toFixed(3)}/stmt, cache hit rate ${lookups ? ((100 * hits) / lookups).toFixed(1) : '-'}% of ${lookups} lookups`,
      );
    }
    console.log('goal: migrating >= 0.9x untouched');
    console.log(
      '\ncontrol: the same script straight to PostgreSQL (no proxy): what the migration itself costs (sync trigger, wider rows)',
    );
    console.log(
      'mode      migrating tps  untouched tps   ratio   proxy ratio / direct ratio (translation alone)',
    );
    for (const mode of MODES) {
      const tps = (via: string, name: string) =>
        median(results.get(`${mode}/${via}/${name}`)!.map((r) => r.tps));
      const direct = tps('direct', 'migrating') / tps('direct', 'untouched');
      const proxied = tps('shiftgate', 'migrating') / tps('shiftgate', 'untouched');
      console.log(
        `${mode.padEnd(9)} ${tps('direct', 'migrating').toFixed(0).padStart(13)}  ${tps('direct', 'untouched').toFixed(0).padStart(13)}  ${direct.toFixed(2).padStart(5)}x   ${(proxied / direct).toFixed(2)}x`,
      );
    }

    console.log(`\ncache miss (parse + rewrite), version "${old.name}", ${iterations} iterations each`);
    for (const r of missRows) {
      console.log(
        `${r.miss.toFixed(1).padStart(7)} us  ${r.rewritten ? 'rewritten' : 'unchanged'}  ${r.sql}`,
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

if (values.dialect === 'mysql' || values.dialect === 'mariadb') {
  const { runMysqlTranslateBench } = await import('./translate-mysql.ts');
  await runMysqlTranslateBench({ seconds, rounds, clients, rows, iterations });
} else if (values.dialect === 'postgres' || values.dialect === 'pg') {
  await main();
} else {
  throw new Error(`unknown dialect ${values.dialect} (postgres or mysql)`);
}
