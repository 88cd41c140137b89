import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

const identity = async (db: { sql: import('pg').Client }) =>
  (await rows(db.sql, `SELECT relreplident AS r FROM pg_class WHERE relname = 't'`))[0]!.r;

describe('set_replica_identity', () => {
  it('sets FULL at start and restores DEFAULT on rollback', () =>
    runLifecycle('ri_full', {
      setup: 'CREATE TABLE t (id int PRIMARY KEY);',
      operations: [{ set_replica_identity: { table: 't', identity: { type: 'full' } } }],
      async afterStart({ db }) {
        assert.equal(await identity(db), 'f');
      },
      async afterComplete({ db }) {
        assert.equal(await identity(db), 'f');
      },
    }));

  it('uses a unique index, and restores the previous index identity on rollback', () =>
    runLifecycle('ri_index', {
      setup: `CREATE TABLE t (id int PRIMARY KEY, code text NOT NULL, other text NOT NULL);
              CREATE UNIQUE INDEX t_code ON t (code); CREATE UNIQUE INDEX t_other ON t (other);
              ALTER TABLE t REPLICA IDENTITY USING INDEX t_other;`,
      operations: [{ set_replica_identity: { table: 't', identity: { type: 'INDEX', index: 't_code' } } }],
      async afterStart({ db }) {
        assert.deepEqual(
          await rows(db.sql, `SELECT indexrelid::regclass::text AS i FROM pg_index WHERE indisreplident`),
          [{ i: 't_code' }],
        );
      },
      async afterRollback({ db }) {
        assert.deepEqual(
          await rows(db.sql, `SELECT indexrelid::regclass::text AS i FROM pg_index WHERE indisreplident`),
          [{ i: 't_other' }],
        );
      },
    }));
});
