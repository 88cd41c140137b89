/**
 * Statements that differ only in their constants share one plan: the
 * second is not parsed, and its text equals what a fresh translation of it
 * gives, for every case of the translation table.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  loadPgParser,
  PgTranslator,
  translateUncached,
} from '../../src/dialects/postgres/translate/index.ts';
import { literalShape, moveEdits } from '../../src/dialects/postgres/translate/literal-shape.ts';
import { buildVersionMap, TranslationError, type VersionMap } from '../../src/versions/index.ts';
import { CASES, V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

/** The same statement with every constant replaced by one of another length. */
function withOtherConstants(sql: string): string | null {
  const bytes = Buffer.from(sql, 'utf8');
  const shape = literalShape(bytes);
  if (!shape) return null;
  const parts: string[] = [];
  let at = 0;
  for (let i = 0; i < shape.spans.length; i += 2) {
    const [start, end] = [shape.spans[i]!, shape.spans[i + 1]!];
    parts.push(bytes.subarray(at, start).toString('utf8'));
    const literal = bytes.subarray(start, end).toString('utf8');
    parts.push(/^[0-9]/.test(literal) ? `${literal}0${i}` : "'a much longer constant, héllo'");
    at = end;
  }
  parts.push(bytes.subarray(at).toString('utf8'));
  return parts.join('');
}

describe('literal shape reuse', () => {
  let map: VersionMap;

  before(async () => {
    await loadPgParser();
    map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);
  });

  test('every case with constants: the sibling reuses the plan and matches a fresh translation', () => {
    let reused = 0;
    for (const c of CASES) {
      const variant = withOtherConstants(c.sql);
      if (!variant || variant === c.sql) continue;
      const schema = map.version(c.v)!;
      let fresh: string | TranslationError;
      try {
        fresh = translateUncached(schema, variant).sql;
      } catch (e) {
        if (!(e instanceof TranslationError)) throw e;
        fresh = e;
      }
      const t = new PgTranslator(map);
      try {
        t.translate(c.v, c.sql);
      } catch (e) {
        if (!(e instanceof TranslationError)) throw e;
      }
      const before = t.counters.misses;
      let got: string | TranslationError;
      try {
        got = t.translate(c.v, variant).sql;
      } catch (e) {
        if (!(e instanceof TranslationError)) throw e;
        got = e;
      }
      if (fresh instanceof TranslationError) {
        assert.ok(got instanceof TranslationError, `${variant}: refused as a fresh translation is`);
        assert.equal(got.kind, fresh.kind);
      } else {
        assert.equal(got, fresh, variant);
      }
      if (t.counters.misses === before) reused++;
    }
    assert.ok(reused >= 20, `${reused} cases reused a sibling's plan`);
  });

  test('simple-protocol statements with new values are hits, not parses', () => {
    const t = new PgTranslator(map);
    for (let id = 1; id <= 50; id++) {
      const plan = t.translate(V3, `SELECT * FROM users WHERE id = ${id} AND full_name <> 'user ${id}'`);
      assert.match(plan.sql, new RegExp(`WHERE id = ${id} AND name <> 'user ${id}'$`));
    }
    assert.equal(t.counters.misses, 1);
    assert.equal(t.counters.hits, 49);
  });

  test('an edit that would reach into a constant is not moved', () => {
    assert.equal(moveEdits([{ start: 5, end: 12, text: 'x' }], [8, 10], [8, 11]), null);
    assert.deepEqual(moveEdits([{ start: 12, end: 12, text: 'x' }], [8, 10], [8, 13]), [
      { start: 15, end: 15, text: 'x' },
    ]);
    assert.deepEqual(moveEdits([{ start: 8, end: 8, text: 'x' }], [8, 10], [8, 13]), [
      { start: 8, end: 8, text: 'x' },
    ]);
  });
});
