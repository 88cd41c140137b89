import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

const names = async (db: { sql: import('pg').Client }) =>
  (
    await rows<{ conname: string }>(
      db.sql,
      `SELECT conname FROM pg_constraint WHERE conrelid = 't'::regclass ORDER BY 1`,
    )
  ).map((r) => r.conname);

describe('rename_constraint', () => {
  it('renames check and unique constraints at complete', () =>
    runLifecycle('rename_con', {
      setup:
        'CREATE TABLE t (id int PRIMARY KEY, a int CONSTRAINT t_a_check CHECK (a > 0), b int CONSTRAINT t_b_key UNIQUE);',
      operations: [
        { rename_constraint: { table: 't', from: 't_a_check', to: 't_a_positive' } },
        { rename_constraint: { table: 't', from: 't_b_key', to: 't_b_unique' } },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await names(db), ['t_a_check', 't_b_key', 't_pkey']);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await names(db), ['t_a_positive', 't_b_unique', 't_pkey']);
      },
    }));
});
