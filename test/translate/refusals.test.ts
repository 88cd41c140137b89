/**
 * Statements that touch a migrating object and cannot be translated safely
 * are refused with a typed TranslationError: the SQLSTATE a client sees,
 * the object, the version. Nothing here needs a server: a refusal never
 * reaches one.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  loadPgParser,
  PgTranslator,
  translateUncached,
} from '../../src/dialects/postgres/translate/index.ts';
import { buildVersionMap, TranslationError, type VersionMap } from '../../src/versions/index.ts';
import { V0, V1, V2, V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

interface Refusal {
  v: string;
  sql: string;
  sqlstate: string;
  /** The object the message must name. */
  object: string;
  /** A word of the reason. */
  reason: RegExp;
}

const REFUSALS: Refusal[] = [
  // Names the version does not have, even though they exist physically.
  { v: V3, sql: 'SELECT name FROM users', sqlstate: '42703', object: 'name', reason: /does not exist/ },
  {
    v: V3,
    sql: 'SELECT u.legacy FROM users u',
    sqlstate: '42703',
    object: 'u.legacy',
    reason: /does not exist/,
  },
  {
    v: V2,
    sql: 'SELECT bio FROM users WHERE id = 1',
    sqlstate: '42703',
    object: 'bio',
    reason: /does not exist/,
  },
  {
    v: V3,
    sql: "UPDATE users SET legacy = 'x'",
    sqlstate: '42703',
    object: 'users.legacy',
    reason: /does not exist/,
  },
  {
    v: V3,
    sql: "INSERT INTO users (name) VALUES ('x')",
    sqlstate: '42703',
    object: 'users.name',
    reason: /exist/,
  },
  {
    v: V3,
    sql: 'COPY users (legacy) FROM STDIN',
    sqlstate: '42703',
    object: 'users.legacy',
    reason: /exist/,
  },
  { v: V2, sql: 'SELECT * FROM tags', sqlstate: '42P01', object: 'tags', reason: /does not exist/ },
  { v: V3, sql: 'SELECT * FROM orders', sqlstate: '42P01', object: 'orders', reason: /does not exist/ },
  {
    v: V3,
    sql: 'SELECT full_name FROM users a, users b',
    sqlstate: '42702',
    object: 'full_name',
    reason: /ambiguous/,
  },
  {
    // The server's own answer on the version's schema is 42702 too ("GROUP BY "name" is ambiguous").
    v: V3,
    sql: 'SELECT left(full_name, 1) AS name, left(email, 1) AS name FROM users GROUP BY name',
    sqlstate: '42702',
    object: 'name',
    reason: /GROUP BY names more than one output/,
  },
  {
    // The server would check the header against the physical names, in a file the proxy never sees.
    v: V3,
    sql: "COPY users (full_name, email) FROM '/tmp/users.csv' (FORMAT csv, HEADER MATCH)",
    sqlstate: '0A000',
    object: 'users',
    reason: /HEADER MATCH on a server-side file/,
  },
  // Code the proxy cannot translate that names a migrating table.
  {
    v: V3,
    sql: 'DO $$ BEGIN PERFORM full_name FROM users; END $$',
    sqlstate: '0A000',
    object: 'users',
    reason: /DO block is not translated/,
  },
  {
    v: V2,
    sql: "DO LANGUAGE plpgsql 'BEGIN DELETE FROM Tags; END'",
    sqlstate: '0A000',
    object: 'tags',
    reason: /DO block/,
  },
  {
    v: V3,
    sql: 'CREATE FUNCTION n() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM purchases $$',
    sqlstate: '0A000',
    object: 'purchases',
    reason: /function body is not translated/,
  },
  {
    v: V3,
    sql: 'CREATE OR REPLACE PROCEDURE p() LANGUAGE plpgsql AS $body$ BEGIN UPDATE public."orders" SET note = \'x\'; END $body$',
    sqlstate: '0A000',
    object: 'orders',
    reason: /procedure body/,
  },
  {
    v: V3,
    sql: 'CREATE FUNCTION n() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM users; END',
    sqlstate: '0A000',
    object: 'users',
    reason: /CreateFunction statement/,
  },
  // Constructs whose meaning depends on the physical shape.
  { v: V3, sql: 'SELECT row_to_json(u) FROM users u', sqlstate: '0A000', object: 'u', reason: /whole-row/ },
  {
    v: V3,
    sql: 'SELECT to_jsonb(u.*) FROM users u',
    sqlstate: '0A000',
    object: 'users',
    reason: /whole-row/,
  },
  { v: V3, sql: 'SELECT (u).full_name FROM users u', sqlstate: '0A000', object: 'u', reason: /whole-row/ },
  {
    v: V3,
    sql: 'SELECT full_name FROM users, generate_series(1, 2) g',
    sqlstate: '0A000',
    object: 'full_name',
    reason: /cannot tell.*qualify/,
  },
  {
    v: V3,
    sql: 'SELECT * FROM users JOIN purchases USING (id)',
    sqlstate: '0A000',
    object: 'users',
    reason: /USING/,
  },
  {
    v: V3,
    sql: 'SELECT * FROM users NATURAL JOIN tags',
    sqlstate: '0A000',
    object: 'users',
    reason: /NATURAL/,
  },
  {
    v: V3,
    sql: 'SELECT * FROM (users JOIN purchases ON purchases.user_id = users.id) AS j',
    sqlstate: '0A000',
    object: 'users',
    reason: /aliased JOIN/,
  },
  {
    v: V3,
    sql: 'SELECT f.full_name FROM users AS f(a, b)',
    sqlstate: '0A000',
    object: 'users',
    reason: /column aliases/,
  },
  // Dropped by a completed migration: the old version can no longer be served these.
  { v: V0, sql: 'SELECT fax FROM users', sqlstate: '0A000', object: 'users.fax', reason: /dropped/ },
  { v: V0, sql: 'SELECT * FROM users', sqlstate: '0A000', object: 'users.fax', reason: /dropped/ },
  { v: V1, sql: 'SELECT * FROM sessions', sqlstate: '0A000', object: 'sessions', reason: /dropped/ },
  // A NOT NULL column without default that the old version cannot know.
  {
    v: V0,
    sql: "INSERT INTO order_items (order_id, sku) VALUES (1, 'x')",
    sqlstate: '0A000',
    object: 'order_items.batch',
    reason: /NOT NULL/,
  },
  {
    v: V1,
    sql: 'COPY order_items FROM STDIN',
    sqlstate: '0A000',
    object: 'order_items.batch',
    reason: /NOT NULL/,
  },
  // Statement kinds that would bind physical names or change the physical schema.
  {
    v: V3,
    sql: 'ALTER TABLE users ADD COLUMN x int',
    sqlstate: '0A000',
    object: 'users',
    reason: /AlterTable/,
  },
  {
    v: V3,
    sql: 'CREATE INDEX ON users (email)',
    sqlstate: '0A000',
    object: 'users',
    reason: /Index statement/,
  },
  { v: V3, sql: 'DROP TABLE purchases', sqlstate: '0A000', object: 'purchases', reason: /Drop statement/ },
  {
    v: V3,
    sql: 'CREATE VIEW v AS SELECT full_name FROM users',
    sqlstate: '0A000',
    object: 'users',
    reason: /View statement/,
  },
  {
    v: V3,
    sql: 'MERGE INTO users u USING tags t ON t.user_id = u.id WHEN MATCHED THEN UPDATE SET bio = t.label',
    sqlstate: '0A000',
    object: 'users',
    reason: /Merge statement/,
  },
];

describe('PostgreSQL translation refusals', () => {
  let map: VersionMap;

  before(async () => {
    await loadPgParser();
    map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);
  });

  for (const r of REFUSALS) {
    test(`[${r.v}] ${r.sql} -> ${r.sqlstate}`, () => {
      assert.throws(
        () => translateUncached(map.version(r.v)!, r.sql),
        (e: unknown) => {
          assert.ok(e instanceof TranslationError, String(e));
          assert.equal(e.sqlstate, r.sqlstate);
          assert.equal(e.object, r.object);
          assert.equal(e.version, r.v);
          assert.match(e.reason, r.reason);
          assert.match(
            e.message,
            new RegExp(`${r.object.replace(/[.*()]/g, '\\$&')}.*"${r.v.replace(/[()]/g, '\\$&')}"`),
          );
          return true;
        },
      );
    });
  }

  test('a refusal points at the identifier by byte offset', () => {
    const sql = "SELECT 'ü✓', legacy FROM users";
    try {
      translateUncached(map.version(V3)!, sql);
      assert.fail('expected a refusal');
    } catch (e) {
      assert.ok(e instanceof TranslationError);
      assert.equal(e.position, Buffer.byteLength("SELECT 'ü✓', "));
    }
  });

  test('code bodies the proxy cannot translate pass only when they name no migrating table', () => {
    const v3 = map.version(V3)!;
    for (const sql of [
      "DO $$ BEGIN RAISE NOTICE 'users_archive'; PERFORM 1 FROM order_items; END $$",
      'CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM order_items $$',
      "CREATE FUNCTION users_c() RETURNS int LANGUAGE c AS 'users', 'users'",
    ]) {
      assert.equal(translateUncached(v3, sql).sql, sql, sql);
    }
  });

  test('unparseable text that may name a migrating table is refused with the parser syntax error', () => {
    const sql = 'SELECT full_name FORM users';
    assert.throws(
      () => translateUncached(map.version(V3)!, sql),
      (e: unknown) => {
        assert.ok(e instanceof TranslationError);
        assert.equal(e.sqlstate, '42601');
        assert.match(e.reason, /syntax error at or near "users"/);
        assert.equal(e.position, sql.indexOf('users'));
        return true;
      },
    );
    // Text that cannot touch one is the server's to answer.
    assert.equal(translateUncached(map.version(V3)!, 'SELECT 1 FORM tags_x').sql, 'SELECT 1 FORM tags_x');
  });

  test('an unknown version is refused with 22023', () => {
    const translator = new PgTranslator(map);
    assert.throws(
      () => translator.translate('99_nope', 'SELECT 1'),
      (e: unknown) => e instanceof TranslationError && e.sqlstate === '22023' && e.kind === 'unknown_version',
    );
  });
});
