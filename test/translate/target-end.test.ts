/**
 * Where an output alias goes: the end of a target expression, read from the
 * statement's bytes. The last target of a list is read with the few grammar
 * facts that matter (CASE ... END, IS DISTINCT FROM, WITHIN GROUP, keywords
 * used as names after a dot); a target with a next one ends before the comma
 * in front of the next target's start. The parser itself confirms each answer:
 * the text with an alias inserted there parses, and the alias names that target.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadModule, parseSync } from 'libpg-query';
import { targetEnd } from '../../src/dialects/postgres/translate/lexer.ts';

/** `⟨` marks the target's start, `⟩` where the alias must go; both are removed. */
const SHAPES = [
  'SELECT ⟨CASE WHEN a IS DISTINCT FROM b THEN c ELSE d END⟩ FROM t',
  'SELECT ⟨CASE WHEN a IS NOT DISTINCT /* x */ FROM b THEN c END⟩ /* y */ FROM t',
  'SELECT ⟨CASE WHEN a THEN CASE WHEN b IS DISTINCT FROM c THEN 1 END ELSE 2 END::int⟩ INTO x FROM t',
  'SELECT ⟨a::varchar(20)[]⟩ WHERE true',
  'SELECT ⟨(a).f[1:2]⟩ GROUP BY 1',
  'SELECT ⟨a COLLATE "C"⟩ ORDER BY 1',
  "SELECT ⟨a AT TIME ZONE 'UTC'⟩ LIMIT 1",
  'SELECT ⟨count(*) FILTER (WHERE a > 1) OVER (PARTITION BY b ORDER BY c)⟩ FROM t',
  'SELECT ⟨percentile_disc(0.5) WITHIN GROUP (ORDER BY a)⟩ FROM t',
  'SELECT ⟨(ARRAY[a, b])[1]⟩ UNION SELECT 1',
  'SELECT ⟨ROW(a, b) IS DISTINCT FROM ROW(1, 2)⟩ EXCEPT SELECT true',
  'SELECT ⟨t.from⟩ FROM t',
  'SELECT ⟨t.distinct⟩ FROM t',
  'SELECT (SELECT ⟨CASE WHEN a IS DISTINCT FROM b THEN c END⟩) FROM t',
  'SELECT ⟨a⟩ -- comment, with a comma\nFROM t',
  "UPDATE t SET a = 1 RETURNING ⟨CASE WHEN a IS DISTINCT FROM 'ü' THEN b END⟩",
  'UPDATE t SET a = 1 RETURNING ⟨a⟩;',
  'INSERT INTO t SELECT ⟨a⟩ ON CONFLICT DO NOTHING',
  'SELECT ⟨a⟩ FOR UPDATE',
  'SELECT ⟨a⟩ WINDOW w AS ()',
  'SELECT ⟨a⟩ OFFSET 1',
  'SELECT ⟨a⟩ FETCH FIRST 1 ROW ONLY',
  'SELECT ⟨a⟩ HAVING true',
];

/** Shapes with a target after this one: the comma decides, whatever comes before it. */
const WITH_NEXT = [
  'SELECT ⟨CASE WHEN a IS DISTINCT FROM b THEN c END⟩, d FROM t',
  "SELECT ⟨CASE WHEN x THEN 'from' END⟩ /* , */ , (d) FROM t",
  'SELECT ⟨a IS DISTINCT FROM b⟩,\n  -- c, d\n  e FROM t',
];

function place(marked: string): { sql: string; start: number; at: number } {
  const start = Buffer.byteLength(marked.slice(0, marked.indexOf('⟨')));
  const withoutStart = marked.replace('⟨', '');
  const at = Buffer.byteLength(withoutStart.slice(0, withoutStart.indexOf('⟩')));
  return { sql: withoutStart.replace('⟩', ''), start, at };
}

/** Every alias the statement's target lists give (any level). */
function aliasNames(sql: string): string[] {
  const names: string[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
      return;
    }
    if (x === null || typeof x !== 'object') return;
    for (const [k, v] of Object.entries(x)) {
      if (k === 'ResTarget' && (v as { name?: string }).name) names.push((v as { name: string }).name);
      visit(v);
    }
  };
  visit(parseSync(sql).stmts);
  return names;
}

describe('target ends', () => {
  before(async () => {
    await loadModule();
  });

  for (const marked of SHAPES) {
    test(`last target: ${marked.replaceAll('\n', ' ')}`, () => {
      const { sql, start, at } = place(marked);
      assert.equal(targetEnd(Buffer.from(sql), start, -1), at);
      const bytes = Buffer.from(sql);
      const aliased = `${bytes.subarray(0, at).toString()} AS zz_alias${bytes.subarray(at).toString()}`;
      assert.ok(aliasNames(aliased).includes('zz_alias'), aliased);
    });
  }

  for (const marked of WITH_NEXT) {
    test(`target with a next one: ${marked.replaceAll('\n', ' ')}`, () => {
      const { sql, start, at } = place(marked);
      const first = parseSync(sql).stmts?.[0]?.stmt as {
        SelectStmt: { targetList: { ResTarget: { location: number } }[] };
      };
      const next = first.SelectStmt.targetList[1]!.ResTarget.location;
      assert.equal(targetEnd(Buffer.from(sql), start, next), at);
      // The grammar scan agrees.
      assert.equal(targetEnd(Buffer.from(sql), start, -1), at);
    });
  }
});
