/** The translator's fast path and plan cache: counters, eviction, map swaps. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  loadPgParser,
  PgTranslator,
  translateUncached,
} from '../../src/dialects/postgres/translate/index.ts';
import { buildVersionMap, TranslationError, type VersionMap } from '../../src/versions/index.ts';
import { CASES, V2, V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

describe('PgTranslator cache', () => {
  let map: VersionMap;

  before(async () => {
    await loadPgParser();
    map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);
  });

  test('a second translation of the same text for the same version is a hit and the same plan', () => {
    const t = new PgTranslator(map);
    const a = t.translate(V3, 'SELECT full_name FROM users');
    const b = t.translate(V3, 'SELECT full_name FROM users');
    assert.equal(a, b);
    assert.equal(a.sql, 'SELECT name AS full_name FROM users');
    assert.deepEqual(t.counters, { hits: 1, misses: 1, fastPath: 0, refused: 0 });
    assert.equal(t.cached, 1);
  });

  test('the key includes the version', () => {
    const t = new PgTranslator(map);
    const neu = t.translate(V3, 'SELECT * FROM users WHERE id = 1');
    const old = t.translate(V2, 'SELECT * FROM users WHERE id = 1');
    assert.notEqual(neu.sql, old.sql);
    assert.equal(t.counters.misses, 2);
    assert.equal(t.counters.hits, 0);
  });

  test('text that cannot touch a migrating table takes the fast path: no parse, no cache entry', () => {
    const t = new PgTranslator(map);
    const sql = 'SELECT sku FROM order_items WHERE id = $1';
    const plan = t.translate(V3, sql);
    assert.equal(plan.sql, sql);
    assert.equal(plan.fastPath, true);
    assert.deepEqual(plan.statements, []);
    assert.deepEqual(t.counters, { hits: 0, misses: 0, fastPath: 1, refused: 0 });
    assert.equal(t.cached, 0);
  });

  test('a refusal is cached too and thrown again on a hit', () => {
    const t = new PgTranslator(map);
    for (let i = 0; i < 2; i++) {
      assert.throws(() => t.translate(V3, 'SELECT legacy FROM users'), TranslationError);
    }
    assert.deepEqual(t.counters, { hits: 1, misses: 1, fastPath: 0, refused: 2 });
  });

  test('least recently used plans are evicted at maxEntries', () => {
    const t = new PgTranslator(map, { maxEntries: 2 });
    // Statements of different shapes (not just other constants, which share a plan).
    t.translate(V3, 'SELECT id FROM users');
    t.translate(V3, 'SELECT email FROM users');
    t.translate(V3, 'SELECT id FROM users'); // hit: now most recent
    t.translate(V3, 'SELECT bio FROM users'); // evicts email
    t.translate(V3, 'SELECT id FROM users'); // still cached
    t.translate(V3, 'SELECT email FROM users'); // miss again
    assert.equal(t.counters.hits, 2);
    assert.equal(t.counters.misses, 4);
    assert.equal(t.cached, 2);
  });

  test('a new version map drops every cached plan', () => {
    const t = new PgTranslator(map);
    t.translate(V3, 'SELECT full_name FROM users');
    const completed = buildVersionMap(FIXTURE_PHYSICAL, HISTORY.slice(0, 2));
    t.setVersionMap(completed);
    assert.equal(t.cached, 0);
    assert.throws(() => t.translate(V3, 'SELECT full_name FROM users'), /no such schema version/);
    assert.equal(t.translate(V2, 'SELECT name FROM users').sql, 'SELECT name FROM users');
  });

  test('text that does not parse is refused with 42601 when it may name a migrating table, and cached so', () => {
    const t = new PgTranslator(map);
    const sql = 'SELEC full_name FROM users';
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => t.translate(V3, sql),
        (e: unknown) => e instanceof TranslationError && e.sqlstate === '42601' && e.position === 0,
      );
    }
    assert.deepEqual(t.counters, { hits: 1, misses: 1, fastPath: 0, refused: 2 });
  });

  test('the fast path never skips a statement the translator would rewrite or refuse', () => {
    let checked = 0;
    for (const c of CASES) {
      const schema = map.version(c.v)!;
      if (translateUncached(schema, c.sql).rewritten) {
        assert.equal(schema.mayTouch(c.sql), true, c.sql);
        checked++;
      }
    }
    for (const sql of ['SELECT legacy FROM users', 'SELECT * FROM orders', 'DROP TABLE purchases']) {
      assert.throws(() => translateUncached(map.version(V3)!, sql), TranslationError);
      assert.equal(map.version(V3)!.mayTouch(sql), true, sql);
    }
    assert.ok(checked > 60, `${checked}`);
  });

  test('the plan names the statement kind, the tables used and the result columns', () => {
    const t = new PgTranslator(map);
    const plan = t.translate(
      V3,
      'SELECT p.total FROM purchases p JOIN users u ON u.id = p.user_id; DELETE FROM tags',
    );
    assert.deepEqual(
      plan.statements.map((s) => [s.kind, s.tables, s.outputColumns]),
      [
        [
          'SelectStmt',
          [
            { logical: 'purchases', physical: 'orders', migrating: true },
            { logical: 'users', physical: 'users', migrating: true },
          ],
          ['total'],
        ],
        ['DeleteStmt', [{ logical: 'tags', physical: 'tags', migrating: false }], null],
      ],
    );
    assert.deepEqual(
      plan.statements.map((s) => Buffer.from(plan.original).subarray(s.start, s.end).toString()),
      ['SELECT p.total FROM purchases p JOIN users u ON u.id = p.user_id', 'DELETE FROM tags'],
    );
  });

  test('a statement too large for the cache is translated but not cached', () => {
    const t = new PgTranslator(map, { maxTextSize: 800 });
    const big = `SELECT full_name FROM users WHERE email IN (${Array.from({ length: 40 }, (_, i) => `'${i}'`).join(', ')})`;
    assert.ok(big.length > 100);
    t.translate(V3, big);
    t.translate(V3, big);
    assert.equal(t.counters.misses, 2);
    assert.equal(t.cached, 0);
  });
});
