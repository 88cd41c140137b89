import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('rename_table', () => {
  it('renames at complete; foreign keys follow the table', () =>
    runLifecycle('rename_table', {
      setup: `CREATE TABLE customer (id int PRIMARY KEY);
              CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customer);
              INSERT INTO customer VALUES (1); INSERT INTO orders VALUES (1, 1);`,
      operations: [{ rename_table: { from: 'customer', to: 'customers' } }],
      async afterStart({ db }) {
        assert.deepEqual(
          await rows(
            db.sql,
            `SELECT to_regclass('customer') IS NOT NULL AS old, to_regclass('customers') IS NULL AS new`,
          ),
          [{ old: true, new: true }],
        );
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT count(*)::int AS n FROM customers'), [{ n: 1 }]);
        const fk = await rows(
          db.sql,
          `SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'`,
        );
        assert.deepEqual(fk, [{ d: 'FOREIGN KEY (customer_id) REFERENCES customers(id)' }]);
      },
    }));

  it('renames a table and alters a column of it in the same migration', () =>
    runLifecycle('rename_table_alter', {
      setup: 'CREATE TABLE src (id int PRIMARY KEY, v int NOT NULL); INSERT INTO src VALUES (1, 5);',
      operations: [
        { rename_table: { from: 'src', to: 'dst' } },
        {
          alter_column: {
            table: 'dst',
            column: 'v',
            type: 'text',
            up: "'v' || v",
            down: 'substr(v, 2)::int',
          },
        },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT v, _shiftgate_new_v AS s FROM src'), [{ v: 5, s: 'v5' }]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT v FROM dst'), [{ v: 'v5' }]);
      },
    }));
});
