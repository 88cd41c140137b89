import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('drop_table', () => {
  it('keeps the table for the old version until complete', () =>
    runLifecycle('drop_table', {
      setup: 'CREATE TABLE audit (id int PRIMARY KEY, msg text); INSERT INTO audit VALUES (1, $$hi$$);',
      operations: [{ drop_table: { name: 'audit' } }],
      async afterStart({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT count(*)::int AS n FROM audit'), [{ n: 1 }]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, `SELECT to_regclass('audit') AS t`), [{ t: null }]);
      },
    }));

  it('drops a referencing table and then the referenced one', () =>
    runLifecycle('drop_two', {
      setup:
        'CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);',
      operations: [{ drop_table: { name: 'b' } }, { drop_table: { name: 'a' } }],
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, `SELECT to_regclass('a') AS a, to_regclass('b') AS b`), [
          { a: null, b: null },
        ]);
      },
    }));
});
