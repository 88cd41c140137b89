/**
 * When a catalog reference is replaced and when it is left alone: the hot
 * path stays untouched for versions with nothing migrating, look-alike
 * names that are not the catalog stay, and what cannot be rewritten in
 * place is refused. No server needed; the case table (catalog-cases.ts)
 * checks the answers by value.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  loadPgParser,
  PgTranslator,
  translateUncached,
} from '../../src/dialects/postgres/translate/index.ts';
import { buildVersionMap, TranslationError, type VersionMap } from '../../src/versions/index.ts';
import { V2, V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

describe('catalog views', () => {
  let map: VersionMap;

  before(async () => {
    await loadPgParser();
    map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);
  });

  test('a version with nothing migrating reads the catalog untouched, on the fast path', () => {
    const t = new PgTranslator(buildVersionMap(FIXTURE_PHYSICAL, []));
    for (const sql of [
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'",
      "SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass",
      'SELECT pg_get_indexdef(indexrelid) FROM pg_index',
    ]) {
      const plan = t.translate('(initial)', sql);
      assert.equal(plan.fastPath, true, sql);
      assert.equal(plan.sql, sql);
    }
  });

  test('a catalog read that names no table is still rewritten while tables migrate', () => {
    const t = new PgTranslator(map);
    const plan = t.translate(V3, 'SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1');
    assert.equal(plan.fastPath, false);
    assert.match(
      plan.sql,
      /^SELECT attname FROM \(SELECT a\.\* FROM pg_catalog\.pg_attribute a .*\) a WHERE a\.attrelid = \$1$/,
    );
  });

  test('the derived table keeps the name or alias the statement gave the catalog', () => {
    const plain = translateUncached(map.version(V3)!, 'SELECT pg_class.relname FROM pg_class').sql;
    assert.match(plain, /\) AS pg_class$/);
    const aliased = translateUncached(map.version(V3)!, 'SELECT t.relname FROM pg_catalog.pg_class AS t').sql;
    assert.match(aliased, /^SELECT t\.relname FROM \(SELECT c\.\* .*\) AS t$/);
  });

  test('names that only look like catalogs stay as they are', () => {
    for (const sql of [
      'WITH pg_class AS (SELECT 1 AS relname) SELECT relname FROM pg_class, users',
      'SELECT * FROM columns, users',
      'SELECT * FROM public.pg_class, users',
      'SELECT * FROM other.tables, users',
    ]) {
      assert.doesNotMatch(
        translateUncached(map.version(V3)!, sql).sql,
        /pg_catalog\.|information_schema\./,
        sql,
      );
    }
  });

  test('ONLY on a rewritten catalog is refused', () => {
    assert.throws(
      () => translateUncached(map.version(V2)!, 'SELECT relname FROM ONLY pg_class'),
      (e: unknown) => e instanceof TranslationError && e.sqlstate === '0A000' && /ONLY/.test(e.reason),
    );
  });

  test('a table the version does not have is filtered out of the catalog', () => {
    const v = map.version(V2)!;
    const sql = translateUncached(
      v,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    ).sql;
    assert.match(sql, /table_name IN \('tags'\)/);
  });
});
