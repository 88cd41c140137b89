/**
 * The cost of a translation cache miss (parse + rewrite) per statement, in
 * microseconds, for statements a migrating table sees every day; next to
 * the parse alone, a cache hit and the fast path, measured in one run.
 * Goal: a miss under 50 us. No server needed.
 *
 * Usage: npx tsx bench/translate-miss.ts [--iterations 20000] [--dialect postgres|mysql]
 */
import { parseArgs } from 'node:util';
import { parseSync } from 'libpg-query';
import { loadPgParser, PgTranslator, translateUncached } from '../src/dialects/postgres/translate/index.ts';
import { buildVersionMap } from '../src/versions/index.ts';
import { HISTORY } from '../test/translate/fixture.ts';
import { FIXTURE_PHYSICAL } from '../test/translate/physical.ts';
import { runMysqlMissBench } from './lib/mysql-translate-miss.ts';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20000' },
    dialect: { type: 'string', default: 'postgres' },
  },
});
const iterations = Number(values.iterations);
if (values.dialect === 'mysql') {
  runMysqlMissBench(iterations);
  process.exit(0);
}

const VERSION = '03_split';
const STATEMENTS = [
  'SELECT * FROM users WHERE id = $1',
  'SELECT full_name, email FROM users WHERE id = $1',
  'SELECT u.full_name, p.total FROM users u JOIN purchases p ON p.user_id = u.id WHERE u.age > $1 ORDER BY p.total DESC LIMIT 10',
  'INSERT INTO users (full_name, email, age) VALUES ($1, $2, $3) RETURNING *',
  'INSERT INTO users (full_name, email) VALUES ($1, $2) ON CONFLICT (full_name) DO UPDATE SET email = EXCLUDED.email RETURNING id',
  'UPDATE users SET full_name = $1, age = age + 1 WHERE id = $2',
  'DELETE FROM purchases WHERE user_id = $1 RETURNING total',
  'WITH big AS (SELECT user_id, sum(total) AS s FROM purchases GROUP BY user_id) SELECT u.full_name, big.s FROM users u JOIN big ON big.user_id = u.id',
];

function microsPerCall(fn: () => void): number {
  for (let i = 0; i < Math.min(2000, iterations); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

await loadPgParser();
const map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);
const schema = map.version(VERSION)!;
const translator = new PgTranslator(map);

console.log(`translation cache miss, ${iterations} iterations per statement, version ${VERSION}\n`);
console.log(`${'miss us'.padStart(8)} ${'parse us'.padStart(9)} ${'rewrite'.padStart(8)}  statement`);
const misses: number[] = [];
const parses: number[] = [];
for (const sql of STATEMENTS) {
  const miss = microsPerCall(() => translateUncached(schema, sql));
  const parse = microsPerCall(() => parseSync(sql));
  misses.push(miss);
  parses.push(parse);
  const rewrite = miss - parse;
  console.log(
    `${miss.toFixed(1).padStart(8)} ${parse.toFixed(1).padStart(9)} ${rewrite.toFixed(1).padStart(8)}  ${sql.slice(0, 70)}`,
  );
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const hit = microsPerCall(() => translator.translate(VERSION, STATEMENTS[2]!));
const fast = microsPerCall(() =>
  translator.translate(VERSION, 'SELECT sku, qty FROM order_items WHERE order_id = $1'),
);
const avgMiss = mean(misses);
console.log(
  `\nmiss (parse + rewrite): ${avgMiss.toFixed(1)} us/statement mean, max ${Math.max(...misses).toFixed(1)} us`,
);
console.log(
  `parse alone:            ${mean(parses).toFixed(1)} us/statement (miss/parse ratio ${(avgMiss / mean(parses)).toFixed(2)})`,
);
console.log(`cache hit:              ${hit.toFixed(2)} us/statement`);
console.log(`fast path (no parse):   ${fast.toFixed(2)} us/statement`);
console.log(`goal < 50 us per miss:  ${avgMiss < 50 ? 'met' : 'NOT met'}`);
