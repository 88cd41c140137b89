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
import { loadPgParser, PgTranslator, translateUncached } from '../src/dialects/postgres/translate/index.ts';
import { createPgDatabase } from '../test/helpers/databases.ts';
import { pgbench, startServe, withPort } from './lib/harness.ts';
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

const MODES = ['simple', 'extended', 'prepared'] as const;

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

async function main(): Promise<void> {
  const db = await createPgDatabase('bench_translate');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-translate-'));
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const results = new Map<string, TranslateRound[]>();
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

    writeTranslateMigration(dir, 'balance::bigint * 100');
    for (const [, table] of TARGETS) writeFileSync(join(dir, `${table}.sql`), script(table));

    serve = await startServe(db.url, ['--migrations', dir]);
    const proxyUrl = withPort(db.url, serve.port);
    const admin = new pg.Client({ connectionString: proxyUrl });
    await admin.connect();
    await startTranslateMigration(async (sql) => (await admin.query(sql)).rows, serve.log);
    await admin.end();
    console.log(
      `pgbench -f <3 statements>, ${clients} clients, ${seconds} s x ${rounds} rounds, sessions bound to the old version\n`,
    );

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
            await measureTranslateRound(results, { round, mode, via, name, httpPort: serve.httpPort }, () =>
              pgbench([
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
              ]),
            );
          }
        }
      }
    }

    // The cost of a miss for this run's own statements, against the live version map.
    await loadPgParser();
    const map = await liveVersionMap(db.url);
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
    const costs = translationCosts({
      uncached: (sql) => translateUncached(old, sql),
      cached: (sql) => translator.translate(old.name, sql),
      missSqls: Object.values(forms).flat(),
      hitSql: forms['as -M extended/prepared sends it ($n)'][0]!,
      fastSql: statements('ledger')[0]!.replace(':id', '$1'),
      iterations,
    });

    printTranslateReport({
      load: 'pgbench custom script',
      server: 'PostgreSQL',
      clients,
      rounds,
      modes: MODES,
      statementsPerTransaction: statements('accounts').length,
      results,
      version: old.name,
      iterations,
      costs,
    });
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
