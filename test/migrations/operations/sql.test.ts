import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('sql', () => {
  it('runs up at start and down on rollback', () =>
    runLifecycle('sql_up_down', {
      setup: 'SELECT 1',
      operations: [
        {
          sql: {
            up: 'CREATE TABLE kv (k text PRIMARY KEY, v text); CREATE FUNCTION kv_get(key text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM kv WHERE k = key $$',
            down: 'DROP FUNCTION kv_get(text); DROP TABLE kv',
          },
        },
      ],
      async afterStart({ db }) {
        await db.sql.query(`INSERT INTO kv VALUES ('a', '1')`);
        assert.deepEqual(await rows(db.sql, `SELECT kv_get('a') AS v`), [{ v: '1' }]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, `SELECT kv_get('a') AS v`), [{ v: '1' }]);
      },
    }));

  it('runs an onComplete step only at complete', () =>
    runLifecycle('sql_on_complete', {
      setup: 'CREATE TABLE t (id int PRIMARY KEY, flag boolean);',
      operations: [
        { add_column: { table: 't', column: { name: 'note', type: 'text', nullable: true } } },
        { sql: { up: 'COMMENT ON TABLE t IS $$migrated$$', onComplete: true } },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await rows(db.sql, `SELECT obj_description('t'::regclass, 'pg_class') AS c`), [
          { c: null },
        ]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, `SELECT obj_description('t'::regclass, 'pg_class') AS c`), [
          { c: 'migrated' },
        ]);
      },
    }));
});
