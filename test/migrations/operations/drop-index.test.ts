import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('drop_index', () => {
  it('keeps the index while the old version runs and drops it concurrently at complete', () =>
    runLifecycle('drop_index', {
      setup:
        'CREATE TABLE t (id int PRIMARY KEY, a int); CREATE INDEX t_a ON t (a); CREATE INDEX t_a_id ON t (a, id);',
      operations: [{ drop_index: { name: 't_a' } }, { drop_index: { name: 't_a_id' } }],
      async afterStart({ db }) {
        assert.deepEqual(
          await rows(db.sql, `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 't'`),
          [{ n: 3 }],
        );
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, `SELECT indexname FROM pg_indexes WHERE tablename = 't'`), [
          { indexname: 't_pkey' },
        ]);
      },
    }));
});
