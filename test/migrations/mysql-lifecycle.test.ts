/**
 * Every operation on MariaDB through the same lifecycle as on PostgreSQL:
 * start -> writes as the old and the new version keep both columns right ->
 * rollback (schema fingerprint identical to before) -> start -> complete.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mysqlColumns, mysqlRows, runMysqlLifecycle } from './helpers/mysql-db.ts';

const SHADOW = '_shiftgate_new_amount';

const seed = (table: string, n: number, row: (i: number) => string) =>
  `INSERT INTO ${table} VALUES ${Array.from({ length: n }, (_, i) => row(i + 1)).join(', ')};`;

describe('MySQL lifecycle', () => {
  it('add_column: a nullable column, instant', () =>
    runMysqlLifecycle('my_add_col', {
      setup: `CREATE TABLE t (id int PRIMARY KEY, v int); ${seed('t', 20, (i) => `(${i}, ${i})`)}`,
      operations: [
        { add_column: { table: 't', column: { name: 'note', type: 'varchar(20)', nullable: true } } },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 't'), ['id', 'v', 'note']);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 't'), ['id', 'v', 'note']);
      },
    }));

  it('alter_column: a type change through a shadow column kept in sync both ways', () =>
    runMysqlLifecycle('my_alter_type', {
      setup: `CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL);
              ${seed('orders', 120, (i) => `(${i}, ${i})`)}`,
      operations: [
        {
          alter_column: {
            table: 'orders',
            column: 'amount',
            type: 'bigint',
            up: 'amount * 100',
            down: 'amount DIV 100',
          },
        },
      ],
      async afterStart({ db, version, round }) {
        assert.deepEqual(await mysqlColumns(db.sql, 'orders'), ['id', 'amount', SHADOW]);
        const bad = await mysqlRows(
          db.sql,
          `SELECT COUNT(*) AS n FROM orders WHERE NOT (${SHADOW} <=> amount * 100)`,
        );
        assert.equal(Number(bad[0]!.n), 0, 'backfill fills every row with up(old)');
        const base = 1000 * round;
        const old = await db.session();
        await old.query('INSERT INTO orders (id, amount) VALUES (?, 7)', [base]);
        await old.query('UPDATE orders SET amount = 9 WHERE id = 5');
        const next = await db.session(version);
        await next.query(`INSERT INTO orders (id, ${SHADOW}) VALUES (?, 4200)`, [base + 1]);
        await next.query(`UPDATE orders SET ${SHADOW} = 1300 WHERE id = 6`);
        const got = await mysqlRows(
          db.sql,
          `SELECT id, amount, CAST(${SHADOW} AS SIGNED) AS shadow FROM orders WHERE id IN (5, 6, ?, ?) ORDER BY id`,
          [base, base + 1],
        );
        assert.deepEqual(
          got.map((r) => ({ id: r.id, amount: r.amount, shadow: Number(r.shadow) })),
          [
            { id: 5, amount: 9, shadow: 900 },
            { id: 6, amount: 13, shadow: 1300 },
            { id: base, amount: 7, shadow: 700 },
            { id: base + 1, amount: 42, shadow: 4200 },
          ],
        );
      },
      async afterComplete({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 'orders'), ['id', 'amount']);
        const type = await mysqlRows(
          db.sql,
          `SELECT COLUMN_TYPE AS t, IS_NULLABLE AS n FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'amount'`,
        );
        assert.deepEqual(type, [{ t: 'bigint(20)', n: 'NO' }]);
        const got = await mysqlRows(db.sql, 'SELECT CAST(amount AS SIGNED) AS a FROM orders WHERE id = 5');
        assert.equal(Number(got[0]!.a), 900);
      },
    }));
});
