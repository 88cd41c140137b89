/**
 * The MySQL half of bench/translate-miss.ts: the cost of a translation
 * cache miss (sql-parser-cst parse + rewrite) per statement, next to the
 * parse alone, a cache hit and the fast path, on the translation fixture's
 * version map, and what a statement costs whose constants are new but
 * whose shape was translated before (no parse). No server needed.
 */
import { parse as libraryParse } from 'sql-parser-cst';
import {
  cstParserBuiltOnce,
  cstParserFastPaths,
  parseCstStatements,
} from '../../src/dialects/mysql/translate/cst-parser.ts';
import {
  defaultMysqlContext,
  MysqlTranslator,
  translateMysqlUncached,
} from '../../src/dialects/mysql/translate/index.ts';
import { rewriteMysqlStatements } from '../../src/dialects/mysql/translate/rewriter.ts';
import { buildVersionMap } from '../../src/versions/index.ts';
import { HISTORY } from '../../test/translate/fixture.ts';
import { FIXTURE_PHYSICAL } from '../../test/translate/physical.ts';
import { microsPerCall as timePerCall } from './harness.ts';

const VERSION = '03_split';
export const MYSQL_MISS_STATEMENTS = [
  'SELECT * FROM users WHERE id = ?',
  'SELECT full_name, email FROM users WHERE id = ?',
  'SELECT u.full_name, p.total FROM users u JOIN purchases p ON p.user_id = u.id WHERE u.age > ? ORDER BY p.total DESC LIMIT 10',
  'INSERT INTO users (full_name, email, age) VALUES (?, ?, ?)',
  'INSERT INTO users (full_name, email) VALUES (?, ?) ON DUPLICATE KEY UPDATE email = VALUES(email)',
  'UPDATE users SET full_name = ?, age = age + 1 WHERE id = ?',
  'DELETE FROM purchases WHERE user_id = ?',
  'WITH big AS (SELECT user_id, sum(total) AS s FROM purchases GROUP BY user_id) SELECT u.full_name, big.s FROM users u JOIN big ON big.user_id = u.id',
];

export function runMysqlMissBench(iterations: number): void {
  const microsPerCall = (fn: () => void) => timePerCall(fn, iterations);
  const map = buildVersionMap({ ...FIXTURE_PHYSICAL, schema: 'app' }, HISTORY);
  const schema = map.version(VERSION)!;
  const translator = new MysqlTranslator(map);
  const options = { dialect: 'mariadb' as const, paramTypes: ['?'] };
  const libraryOptions = { dialect: 'mariadb' as const, includeRange: true, paramTypes: ['?' as const] };

  console.log(`MySQL translation cache miss, ${iterations} iterations per statement, version ${VERSION}\n`);
  console.log(`parser tables built once: ${cstParserBuiltOnce ? 'yes' : 'NO (the library parse is used)'}`);
  console.log(
    `parser fast paths: ${cstParserFastPaths.literalTests} literal tests without substrings, whitespace ${cstParserFastPaths.whitespace ? 'yes' : 'NO'}\n`,
  );
  console.log(
    `${'miss us'.padStart(8)} ${'parse us'.padStart(9)} ${'rewrite'.padStart(8)} ${'library parse'.padStart(14)}  statement`,
  );
  const misses: number[] = [];
  const parses: number[] = [];
  const libraryParses: number[] = [];
  const rewrites: number[] = [];
  const context = defaultMysqlContext('app');
  for (const sql of MYSQL_MISS_STATEMENTS) {
    const miss = microsPerCall(() => translateMysqlUncached(schema, sql));
    const parsed = microsPerCall(() => parseCstStatements(sql, options));
    const libraryParsed = microsPerCall(() => libraryParse(sql, libraryOptions));
    const statements = parseCstStatements(sql, options);
    const rewrite = microsPerCall(() => rewriteMysqlStatements(schema, context, sql, statements));
    misses.push(miss);
    parses.push(parsed);
    libraryParses.push(libraryParsed);
    rewrites.push(rewrite);
    console.log(
      `${miss.toFixed(1).padStart(8)} ${parsed.toFixed(1).padStart(9)} ${rewrite.toFixed(1).padStart(8)} ${libraryParsed.toFixed(1).padStart(14)}  ${sql.slice(0, 60)}`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const hit = microsPerCall(() => translator.translate(VERSION, MYSQL_MISS_STATEMENTS[2]!));
  const fast = microsPerCall(() =>
    translator.translate(VERSION, 'SELECT sku, qty FROM order_items WHERE order_id = ?'),
  );
  // Constants written into the text (no placeholders): each text is new, its shape is not.
  let n = 0;
  const shaped = new MysqlTranslator(map, { maxEntries: 1000 });
  const shapeHit = microsPerCall(() => {
    n++;
    shaped.translate(VERSION, `SELECT full_name, email FROM users WHERE id = ${n} AND email <> 'x${n}'`);
  });
  const avgMiss = mean(misses);
  console.log(
    `\nmiss (parse + rewrite): ${avgMiss.toFixed(1)} us/statement mean, max ${Math.max(...misses).toFixed(1)} us`,
  );
  console.log(
    `parse alone:            ${mean(parses).toFixed(1)} us/statement (miss/parse ratio ${(avgMiss / mean(parses)).toFixed(2)})`,
  );
  console.log(
    `library parse alone:    ${mean(libraryParses).toFixed(1)} us/statement (sql-parser-cst's own parse, which builds its tables at each call: ${(mean(libraryParses) / mean(parses)).toFixed(2)}x the parse above)`,
  );
  console.log(`rewrite alone:          ${mean(rewrites).toFixed(1)} us/statement (the CST walk and edits)`);
  console.log(`cache hit:              ${hit.toFixed(2)} us/statement`);
  console.log(`fast path (no parse):   ${fast.toFixed(2)} us/statement`);
  console.log(
    `same shape, new constants: ${shapeHit.toFixed(2)} us/statement (${shaped.counters.misses} parsed of ${n})`,
  );
  console.log(`goal < 50 us per miss:  ${avgMiss < 50 ? 'met' : 'NOT met'}`);
}
