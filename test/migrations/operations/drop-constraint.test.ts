import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('drop_constraint', () => {
  it('lets the new version write what the old check refuses; down keeps the old column valid', () =>
    runLifecycle('dc_check', {
      setup: `CREATE TABLE prices (id int PRIMARY KEY, amount int CONSTRAINT prices_positive CHECK (amount > 0));
              INSERT INTO prices VALUES (1, 10);`,
      operations: [
        {
          drop_constraint: {
            table: 'prices',
            name: 'prices_positive',
            up: 'amount',
            down: 'greatest(amount, 1)',
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const next = await db.session(version);
        await next.query('INSERT INTO prices (id, _shiftgate_new_amount) VALUES ($1, -5)', [10 + round]);
        assert.deepEqual(
          await rows(db.sql, 'SELECT amount, _shiftgate_new_amount AS n FROM prices WHERE id = $1', [
            10 + round,
          ]),
          [{ amount: 1, n: -5 }],
        );
        await db.sql.query('DELETE FROM prices WHERE id > 1');
      },
      async afterComplete({ db }) {
        await db.sql.query('INSERT INTO prices VALUES (2, -1)');
        const c = await rows(db.sql, `SELECT conname FROM pg_constraint WHERE conrelid = 'prices'::regclass`);
        assert.deepEqual(c, [{ conname: 'prices_pkey' }]);
      },
    }));

  it('drops a single-column unique constraint', () =>
    runLifecycle('dc_unique', {
      setup: 'CREATE TABLE u (id int PRIMARY KEY, email text UNIQUE); INSERT INTO u VALUES (1, $$a$$);',
      operations: [{ drop_constraint: { table: 'u', name: 'u_email_key', up: 'email', down: 'email' } }],
      async afterComplete({ db }) {
        await db.sql.query(`INSERT INTO u VALUES (2, 'a')`);
        assert.deepEqual(await rows(db.sql, `SELECT indexname FROM pg_indexes WHERE tablename = 'u'`), [
          { indexname: 'u_pkey' },
        ]);
      },
    }));
});
