/**
 * What both halves of `npm run bench:translate` (PostgreSQL with pgbench,
 * MySQL with sysbench) share: the translator's counters from /metrics
 * around a run, the live version map, and the report: TPS migrating vs
 * untouched through the proxy, the direct control, and the cache-miss
 * cost of the script's statements.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectMigrationEngine } from '../../src/dialects/index.ts';
import { migrationRecordsOf, physicalSchemaOf } from '../../src/versions/from-engine.ts';
import { buildVersionMap, type VersionMap } from '../../src/versions/index.ts';
import { median, microsPerCall, microsPerCallInTurn, scrapeMetric } from './harness.ts';

export const TRANSLATE_TARGETS = [
  ['migrating', 'accounts'],
  ['untouched', 'ledger'],
] as const;

export const TRANSLATE_MIGRATION = 'bench_accounts_add_cents';

/** Writes the migration the run starts into `dir`: add_column accounts.balance_cents, computed by `up`. */
export function writeTranslateMigration(dir: string, up: string): void {
  writeFileSync(
    join(dir, `${TRANSLATE_MIGRATION}.yaml`),
    [
      'operations:',
      '  - add_column:',
      '      table: accounts',
      '      column: { name: balance_cents, type: bigint, nullable: true }',
      `      up: ${JSON.stringify(up)}`,
      '',
    ].join('\n'),
  );
}

interface TranslatorCounters {
  rewritten: number;
  passthrough: number;
  hits: number;
  misses: number;
  /** The proxy process's CPU time, seconds (prom-client's process_cpu_seconds_total). */
  cpuSeconds: number;
}

/**
 * Starts the bench's migration through an admin session of the proxy and
 * waits until it is active (backfill done): `run` sends one admin
 * statement and returns its rows.
 */
export async function startTranslateMigration(
  run: (sql: string) => Promise<{ phase?: string }[]>,
  serveLog: () => string,
): Promise<void> {
  await run(`SHIFTGATE START '${TRANSLATE_MIGRATION}'`);
  for (let i = 0; ; i++) {
    const phase = (await run('SHOW SHIFTGATE STATUS'))[0]?.phase;
    if (phase === 'active') break;
    if (i > 1200) throw new Error(`migration stuck in ${phase}\n${serveLog()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`migration ${TRANSLATE_MIGRATION} is active (add_column accounts.balance_cents with up)`);
}

/** One load run against one target: the load tool's figures and what the translator did meanwhile. */
export interface TranslateRound extends Omit<TranslatorCounters, 'cpuSeconds'> {
  tps: number;
  latencyMs: number;
  transactions: number;
  /** CPU the proxy spent per transaction of the round, microseconds (all of the proxy's work, for any target). */
  proxyCpuUs: number;
}

async function translatorCounters(httpPort: number): Promise<TranslatorCounters> {
  return {
    rewritten: await scrapeMetric(httpPort, 'shiftgate_translations_total', { result: 'rewritten' }),
    passthrough: await scrapeMetric(httpPort, 'shiftgate_translations_total', { result: 'passthrough' }),
    hits: await scrapeMetric(httpPort, 'shiftgate_translation_cache_total', { result: 'hit' }),
    misses: await scrapeMetric(httpPort, 'shiftgate_translation_cache_total', { result: 'miss' }),
    cpuSeconds: await scrapeMetric(httpPort, 'process_cpu_seconds_total'),
  };
}

/**
 * Runs `load` once, with the proxy's translator counters read around it,
 * keeps the round under `mode/via/name` and prints it.
 */
export async function measureTranslateRound(
  results: Map<string, TranslateRound[]>,
  key: { round: number; mode: string; via: 'shiftgate' | 'direct'; name: string; httpPort: number },
  load: () => Promise<{ tps: number; latencyMs: number; transactions: number }>,
): Promise<void> {
  const before = await translatorCounters(key.httpPort);
  const r = await load();
  const after = await translatorCounters(key.httpPort);
  const measured: TranslateRound = {
    tps: r.tps,
    latencyMs: r.latencyMs,
    transactions: r.transactions,
    rewritten: after.rewritten - before.rewritten,
    passthrough: after.passthrough - before.passthrough,
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    proxyCpuUs: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, r.transactions),
  };
  const name = `${key.mode}/${key.via}/${key.name}`;
  results.set(name, [...(results.get(name) ?? []), measured]);
  console.log(
    `round ${key.round} ${name.padEnd(28)} ${r.tps.toFixed(0).padStart(7)} tps  ${r.latencyMs.toFixed(3)} ms  ` +
      (key.via === 'direct'
        ? ''
        : `proxy cpu ${measured.proxyCpuUs.toFixed(0)} us/tx  rewritten ${measured.rewritten}  passthrough ${measured.passthrough}  cache hit ${measured.hits} miss ${measured.misses}`),
  );
}

/** The version map as the proxy builds it, from the database's catalog and Shiftgate's state. */
export async function liveVersionMap(url: string): Promise<VersionMap> {
  const engine = await connectMigrationEngine({ url });
  try {
    return buildVersionMap(
      physicalSchemaOf(await engine.introspect()),
      migrationRecordsOf(await engine.versions()),
    );
  } finally {
    await engine.close();
  }
}

export interface TranslationCosts {
  misses: { sql: string; miss: number; rewritten: boolean }[];
  /** A cache hit, and the fast path (a statement on the untouched table), in microseconds. */
  hit: number;
  fast: number;
}

/**
 * Times, in this process, a cache miss (parse + rewrite, `uncached`) of
 * each of `missSqls`, a cache hit of `hitSql` and the fast path of
 * `fastSql` through `cached` (a translator bound to the sessions' version).
 */
export function translationCosts(o: {
  uncached: (sql: string) => { rewritten: boolean };
  cached: (sql: string) => unknown;
  missSqls: string[];
  hitSql: string;
  fastSql: string;
  iterations: number;
}): TranslationCosts {
  const missTimes = microsPerCallInTurn(
    o.missSqls.map((sql) => () => o.uncached(sql)),
    o.iterations,
  );
  const misses = o.missSqls.map((sql, i) => ({
    sql,
    miss: missTimes[i]!,
    rewritten: o.uncached(sql).rewritten,
  }));
  o.cached(o.hitSql);
  return {
    misses,
    hit: microsPerCall(() => o.cached(o.hitSql), o.iterations),
    fast: microsPerCall(() => o.cached(o.fastSql), o.iterations),
  };
}

export interface TranslateReport {
  /** How the load ran, for the headings: "pgbench custom script", "sysbench script". */
  load: string;
  /** The server, for the control's heading. */
  server: string;
  clients: number;
  rounds: number;
  modes: readonly string[];
  statementsPerTransaction: number;
  results: Map<string, TranslateRound[]>;
  version: string;
  iterations: number;
  costs: TranslationCosts;
  /** When the costs were timed, when not after the load (printed with them). */
  costsTimed?: string;
}

/** The median over rounds of a / b within each round (round i of both ran back to back). */
function pairedRatio(a: readonly TranslateRound[], b: readonly TranslateRound[]): number {
  return median(a.map((x, i) => x.tps / b[i]!.tps));
}

export function printTranslateReport(r: TranslateReport): void {
  console.log(`\n${r.load} through Shiftgate, ${r.clients} clients, median of ${r.rounds} rounds`);
  console.log(
    'mode      migrating tps  untouched tps   ratio  paired*  latency ms (mig / untouched)   proxy cpu us/tx (mig / untouched)   translator per statement (migrating)',
  );
  for (const mode of r.modes) {
    const mig = r.results.get(`${mode}/shiftgate/migrating`)!;
    const plain = r.results.get(`${mode}/shiftgate/untouched`)!;
    const migTps = median(mig.map((x) => x.tps));
    const plainTps = median(plain.map((x) => x.tps));
    const paired = pairedRatio(mig, plain);
    const stmts = mig.reduce((a, x) => a + x.transactions * r.statementsPerTransaction, 0);
    const rewritten = mig.reduce((a, x) => a + x.rewritten, 0);
    const hits = mig.reduce((a, x) => a + x.hits, 0);
    const lookups = hits + mig.reduce((a, x) => a + x.misses, 0);
    // Prepared statements are translated once, at prepare; their executions run the translation.
    const translated =
      lookups >= stmts / 2
        ? `rewritten ${(rewritten / stmts).toFixed(3)}/stmt`
        : `translated at prepare only: ${rewritten} of ${lookups} texts rewritten`;
    console.log(
      `${mode.padEnd(9)} ${migTps.toFixed(0).padStart(13)}  ${plainTps.toFixed(0).padStart(13)}  ${(migTps / plainTps).toFixed(2).padStart(5)}x  ${paired.toFixed(2).padStart(5)}x` +
        `   ${median(mig.map((x) => x.latencyMs)).toFixed(3)} / ${median(plain.map((x) => x.latencyMs)).toFixed(3)}`.padEnd(
          33,
        ) +
        `${median(mig.map((x) => x.proxyCpuUs)).toFixed(0)} / ${median(plain.map((x) => x.proxyCpuUs)).toFixed(0)}`.padEnd(
          36,
        ) +
        `${translated}, cache hit rate ${lookups ? ((100 * hits) / lookups).toFixed(1) : '-'}% of ${lookups} lookups`,
    );
  }
  console.log(
    'goal: migrating >= 0.9x untouched\n* paired: the median over rounds of migrating / untouched within one round (the two run back to back, so drift between rounds cancels)',
  );
  console.log(
    `\ncontrol: the same script straight to ${r.server} (no proxy): what the migration itself costs (sync trigger, wider rows)`,
  );
  console.log(
    'mode      migrating tps  untouched tps   ratio  paired*  proxy / direct, paired (translation alone)',
  );
  for (const mode of r.modes) {
    const runs = (via: string, name: string) => r.results.get(`${mode}/${via}/${name}`)!;
    const tps = (via: string, name: string) => median(runs(via, name).map((x) => x.tps));
    const direct = tps('direct', 'migrating') / tps('direct', 'untouched');
    const directPaired = pairedRatio(runs('direct', 'migrating'), runs('direct', 'untouched'));
    const proxiedPaired = pairedRatio(runs('shiftgate', 'migrating'), runs('shiftgate', 'untouched'));
    console.log(
      `${mode.padEnd(9)} ${tps('direct', 'migrating').toFixed(0).padStart(13)}  ${tps('direct', 'untouched').toFixed(0).padStart(13)}  ${direct.toFixed(2).padStart(5)}x  ${directPaired.toFixed(2).padStart(5)}x  ${(proxiedPaired / directPaired).toFixed(2)}x`,
    );
  }

  console.log(
    `\ncache miss (parse + rewrite), version "${r.version}", ${r.iterations} iterations each${r.costsTimed ? `, ${r.costsTimed}` : ''}`,
  );
  for (const m of r.costs.misses) {
    console.log(`${m.miss.toFixed(1).padStart(7)} us  ${m.rewritten ? 'rewritten' : 'unchanged'}  ${m.sql}`);
  }
  const avgMiss = r.costs.misses.reduce((a, m) => a + m.miss, 0) / r.costs.misses.length;
  console.log(
    `miss mean ${avgMiss.toFixed(1)} us/statement, max ${Math.max(...r.costs.misses.map((m) => m.miss)).toFixed(1)} us (goal < 50 us: ${avgMiss < 50 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `cache hit ${r.costs.hit.toFixed(2)} us/statement, fast path (untouched table) ${r.costs.fast.toFixed(2)} us/statement`,
  );
}
