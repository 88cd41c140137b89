/**
 * Names in string constants: how a constant is read as a qualified name,
 * what is refused (a parameter, a name this version does not have), and
 * that the plan cache never moves a plan onto a statement whose constants
 * name another table. No server needed; the case table (name-literal-cases.ts)
 * checks the answers against the reference databases.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  loadPgParser,
  PgTranslator,
  translateUncached,
} from '../../src/dialects/postgres/translate/index.ts';
import { splitQualifiedName } from '../../src/dialects/postgres/translate/name-literals.ts';
import { buildVersionMap, TranslationError, type VersionMap } from '../../src/versions/index.ts';
import { V2, V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

describe('names in string constants', () => {
  let map: VersionMap;

  before(async () => {
    await loadPgParser();
    map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);
  });

  test('a constant splits into a qualified name the way the server reads a regclass', () => {
    assert.deepEqual(splitQualifiedName('users'), ['users']);
    assert.deepEqual(splitQualifiedName('Public.USERS'), ['public', 'users']);
    assert.deepEqual(splitQualifiedName(' "My ""T""" . x '), ['My "T"', 'x']);
    assert.deepEqual(splitQualifiedName('db.public.users'), ['db', 'public', 'users']);
    assert.deepEqual(splitQualifiedName('"12"'), ['12']);
    assert.deepEqual(splitQualifiedName('Ünï'), ['Ünï']);
    assert.equal(splitQualifiedName(`${'a'.repeat(70)}`)?.[0]?.length, 63);
    for (const bad of ['12345', '', '  ', 'a.', '.a', 'a b', '"unclosed', '""', 'a..b']) {
      assert.equal(splitQualifiedName(bad), null, bad);
    }
  });

  const refusals: { v: string; sql: string; sqlstate: string; object: string; reason: RegExp }[] = [
    {
      v: V3,
      sql: "SELECT 'orders'::regclass",
      sqlstate: '42P01',
      object: 'orders',
      reason: /does not exist/,
    },
    {
      v: V2,
      sql: "SELECT has_table_privilege('tags', 'SELECT')",
      sqlstate: '42P01',
      object: 'tags',
      reason: /does not exist/,
    },
    {
      v: V3,
      sql: "SELECT pg_get_serial_sequence('users', 'legacy')",
      sqlstate: '42703',
      object: 'users.legacy',
      reason: /does not exist/,
    },
    {
      v: V3,
      sql: "SELECT has_column_privilege('users', 'name', 'SELECT')",
      sqlstate: '42703',
      object: 'users.name',
      reason: /does not exist/,
    },
    {
      v: V3,
      sql: 'SELECT attname FROM pg_index WHERE indrelid = $1::regclass',
      sqlstate: '0A000',
      object: '$1',
      reason: /parameter.*write the name into the statement text/,
    },
    {
      v: V3,
      sql: "SELECT has_column_privilege('users', $1, 'SELECT')",
      sqlstate: '0A000',
      object: 'users',
      reason: /parameter/,
    },
    { v: V3, sql: 'SELECT to_regclass($1)', sqlstate: '0A000', object: '$1', reason: /parameter/ },
  ];

  for (const r of refusals) {
    test(`[${r.v}] ${r.sql} -> ${r.sqlstate}`, () => {
      assert.throws(
        () => translateUncached(map.version(r.v)!, r.sql),
        (e: unknown) => {
          assert.ok(e instanceof TranslationError, String(e));
          assert.equal(e.sqlstate, r.sqlstate);
          assert.equal(e.object, r.object);
          assert.match(e.reason, r.reason);
          return true;
        },
      );
    });
  }

  test('a parameter cast to regclass is refused even when the text names no migrating table', () => {
    const t = new PgTranslator(map);
    assert.throws(() => t.translate(V3, 'SELECT pg_relation_size($1::regclass)'), TranslationError);
    assert.equal(t.counters.fastPath, 0);
  });

  test('statements that differ only in the named table do not share a plan', () => {
    const t = new PgTranslator(map);
    const a = t.translate(V3, "SELECT has_table_privilege('tags', 'SELECT') FROM users");
    assert.equal(a.rewritten, false);
    const b = t.translate(V3, "SELECT has_table_privilege('purchases', 'SELECT') FROM users");
    assert.equal(b.sql, "SELECT has_table_privilege('orders', 'SELECT') FROM users");
    const c = t.translate(V3, "SELECT has_table_privilege('tags', 'INSERT') FROM users");
    assert.equal(c.rewritten, false);
    assert.throws(
      () => t.translate(V3, "SELECT has_table_privilege('orders', 'SELECT') FROM users"),
      TranslationError,
    );
  });

  test('a version with nothing migrating takes the fast path for name constants and catalogs', () => {
    const t = new PgTranslator(buildVersionMap(FIXTURE_PHYSICAL, []));
    const sql = "SELECT 'users'::regclass, pg_relation_size($1) FROM information_schema.columns";
    assert.equal(t.translate('(initial)', sql).fastPath, true);
  });
});
