/**
 * The translation table (cases.ts), checked two ways: the exact rewritten
 * text, and the rewritten statement run against a real PostgreSQL holding
 * the physical schema, with the result columns the version expects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { loadPgParser, translateUncached } from '../../src/dialects/postgres/translate/index.ts';
import { buildVersionMap, type VersionMap } from '../../src/versions/index.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { CASES } from './cases.ts';
import { connect, DDL, HISTORY, introspect } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

describe('PostgreSQL translation table', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let map: VersionMap;

  before(async () => {
    await loadPgParser();
    db = await createPgDatabase('translate_cases');
    client = await connect(db.url);
    await client.query(DDL);
    map = buildVersionMap(await introspect(client), HISTORY);
  });

  after(async () => {
    await client?.end();
    await db?.drop();
  });

  test('the physical schema the other tests assume is what the server reports', async () => {
    assert.deepEqual(await introspect(client), FIXTURE_PHYSICAL);
  });

  test('has at least 60 cases', () => {
    assert.ok(CASES.length >= 60, `${CASES.length} cases`);
  });

  for (const [i, c] of CASES.entries()) {
    test(`#${i} [${c.v}] ${c.sql.replaceAll('\n', ' ').slice(0, 90)}`, async () => {
      const schema = map.version(c.v);
      assert.ok(schema, `version ${c.v}`);
      const plan = translateUncached(schema, c.sql);
      assert.equal(plan.sql, c.out ?? c.sql);
      assert.equal(plan.rewritten, c.out !== undefined && c.out !== c.sql);
      if (c.cols && plan.statements.length > 0) assert.deepEqual(plan.statements[0]?.outputColumns, c.cols);
      // Unchanged text is byte for byte the original (not a reprint).
      if (!plan.rewritten) assert.equal(plan.sql, c.sql);
      if (c.run === false) return;
      await client.query('BEGIN');
      try {
        const result = (await client.query({ text: plan.sql, values: c.params })) as
          | pg.QueryResult
          | pg.QueryResult[];
        const first = Array.isArray(result) ? result[0] : result;
        if (c.cols) {
          assert.deepEqual(
            first?.fields.map((f) => f.name),
            c.cols,
          );
        }
      } finally {
        await client.query('ROLLBACK');
      }
    });
  }

  test('old and new versions read the same rows under their own names', async () => {
    const old = translateUncached(map.version('02_nick')!, 'SELECT name, age FROM users ORDER BY id');
    const neu = translateUncached(map.version('03_split')!, 'SELECT full_name, age FROM users ORDER BY id');
    const a = await client.query(old.sql);
    const b = await client.query(neu.sql);
    assert.deepEqual(
      a.rows.map((r) => [r.name, Number(r.age)]),
      b.rows.map((r) => [r.full_name, Number(r.age)]),
    );
    assert.equal(a.rows[2]?.name, 'Ünïcödé');
  });

  test('edits are at UTF-8 byte offsets of the original text', () => {
    const sql = "SELECT 'ßü✓🙂', full_name FROM users";
    const plan = translateUncached(map.version('03_split')!, sql);
    const at = Buffer.byteLength("SELECT 'ßü✓🙂', ", 'utf8');
    assert.equal(plan.edits[0]?.start, at);
    assert.equal(plan.edits[0]?.end, at + 'full_name'.length);
    assert.notEqual(at, "SELECT 'ßü✓🙂', ".length);
  });
});
