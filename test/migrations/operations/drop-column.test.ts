import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columns, rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('drop_column', () => {
  it('fills the dropped column with down for new-version writes until complete drops it', () =>
    runLifecycle('drop_down', {
      setup: `CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, legacy_code text NOT NULL);
              INSERT INTO products VALUES (1, 'lamp', 'L-1');`,
      operations: [
        { drop_column: { table: 'products', column: 'legacy_code', down: "'X-' || upper(name)" } },
      ],
      async afterStart({ db, version, round }) {
        assert.deepEqual(await columns(db.sql, 'products'), ['id', 'name', 'legacy_code']);
        const next = await db.session(version);
        await next.query('INSERT INTO products (id, name) VALUES ($1, $2)', [10 + round, 'desk']);
        const old = await db.session();
        await old.query(`INSERT INTO products VALUES ($1, 'chair', 'C-9')`, [20 + round]);
        const got = await rows(db.sql, 'SELECT id, legacy_code FROM products WHERE id > 1 ORDER BY id');
        assert.deepEqual(got, [
          { id: 10 + round, legacy_code: 'X-DESK' },
          { id: 20 + round, legacy_code: 'C-9' },
        ]);
        await db.sql.query('DELETE FROM products WHERE id > 1');
      },
      async afterRollback({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT legacy_code FROM products'), [{ legacy_code: 'L-1' }]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await columns(db.sql, 'products'), ['id', 'name']);
      },
    }));

  it('drops a column with no down, with its index', () =>
    runLifecycle('drop_plain', {
      setup: 'CREATE TABLE t (id int PRIMARY KEY, note text); CREATE INDEX t_note ON t (note);',
      operations: [{ drop_column: { table: 't', column: 'note' } }],
      async afterStart({ db }) {
        assert.deepEqual(
          await rows(db.sql, `SELECT tgname FROM pg_trigger WHERE tgrelid = 't'::regclass`),
          [],
        );
      },
      async afterComplete({ db }) {
        assert.deepEqual(await columns(db.sql, 't'), ['id']);
        assert.deepEqual(await rows(db.sql, `SELECT indexname FROM pg_indexes WHERE tablename = 't'`), [
          { indexname: 't_pkey' },
        ]);
      },
    }));
});
