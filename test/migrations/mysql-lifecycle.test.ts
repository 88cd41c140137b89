/**
 * Every operation on MariaDB through the same lifecycle as on PostgreSQL:
 * start -> writes as the old and the new version keep both columns right ->
 * rollback (schema fingerprint identical to before) -> start -> complete.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migration } from './helpers/db.ts';
import {
  mysqlColumns,
  mysqlFingerprint,
  mysqlLeftovers,
  mysqlMigrationDb,
  mysqlRows,
  runMysqlLifecycle,
} from './helpers/mysql-db.ts';

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
        // A write that touches neither column keeps what the other version wrote (no recompute).
        await next.query(`UPDATE orders SET ${SHADOW} = 777 WHERE id = 8`);
        await old.query('UPDATE orders SET id = id WHERE id = 8');
        await old.query('UPDATE orders SET amount = amount WHERE id = 8');
        assert.deepEqual(await mysqlRows(db.sql, `SELECT amount, ${SHADOW} AS s FROM orders WHERE id = 8`), [
          { amount: 7, s: 777 },
        ]);
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

  it('add_column: NOT NULL with up, unique, a foreign key: filled by trigger and backfill, validated by reads', () =>
    runMysqlLifecycle('my_add_up', {
      setup: `CREATE TABLE owners (id int PRIMARY KEY);
              INSERT INTO owners VALUES (1), (2);
              CREATE TABLE items (id int PRIMARY KEY, name varchar(20) NOT NULL);
              ${seed('items', 40, (i) => `(${i}, 'n${i}')`)}`,
      operations: [
        {
          add_column: {
            table: 'items',
            column: { name: 'code', type: 'varchar(40)', unique: true },
            up: "CONCAT('c-', name)",
          },
        },
        {
          add_column: {
            table: 'items',
            column: {
              name: 'owner_id',
              type: 'int',
              nullable: true,
              references: { name: 'items_owner_fk', table: 'owners', column: 'id' },
            },
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const bad = await mysqlRows(
          db.sql,
          "SELECT COUNT(*) AS n FROM items WHERE NOT (code <=> CONCAT('c-', name))",
        );
        assert.equal(Number(bad[0]!.n), 0);
        const old = await db.session();
        await old.query('INSERT INTO items (id, name) VALUES (?, ?)', [100 + round, 'old']);
        const next = await db.session(version);
        await next.query('INSERT INTO items (id, name, code, owner_id) VALUES (?, ?, ?, 2)', [
          200 + round,
          'new',
          `mine${round}`,
        ]);
        // The NOT NULL stand-in refuses a new-version row without the column.
        await assert.rejects(
          next.query('INSERT INTO items (id, name) VALUES (300, ?)', ['x']),
          /must not be NULL/,
        );
        // The foreign key holds for new writes already.
        await assert.rejects(old.query('UPDATE items SET owner_id = 99 WHERE id = 1'), /foreign key/i);
        const got = await mysqlRows(
          db.sql,
          'SELECT id, code, owner_id FROM items WHERE id > 100 ORDER BY id',
        );
        assert.deepEqual(got, [
          { id: 100 + round, code: 'c-old', owner_id: null },
          { id: 200 + round, code: `mine${round}`, owner_id: 2 },
        ]);
        await db.sql.query('DELETE FROM items WHERE id > 100');
      },
      async afterComplete({ db }) {
        const cols = await mysqlRows(
          db.sql,
          `SELECT COLUMN_NAME AS c, IS_NULLABLE AS n FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION`,
        );
        assert.deepEqual(cols, [
          { c: 'id', n: 'NO' },
          { c: 'name', n: 'NO' },
          { c: 'code', n: 'NO' },
          { c: 'owner_id', n: 'YES' },
        ]);
        const cons = await mysqlRows(
          db.sql,
          `SELECT CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS type FROM information_schema.TABLE_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'items' ORDER BY BINARY CONSTRAINT_NAME`,
        );
        assert.deepEqual(cons, [
          { name: 'PRIMARY', type: 'PRIMARY KEY' },
          { name: 'items_code_key', type: 'UNIQUE' },
          { name: 'items_owner_fk', type: 'FOREIGN KEY' },
        ]);
      },
    }));

  it('alter_column: NOT NULL, default, comment and a unique key on a shadow column', () =>
    runMysqlLifecycle('my_alter_nn', {
      setup: `CREATE TABLE people (id int PRIMARY KEY, email varchar(50) NULL COMMENT 'old');
              ${seed('people', 30, (i) => (i % 3 === 0 ? `(${i}, NULL)` : `(${i}, 'p${i}@x')`))}`,
      operations: [
        {
          alter_column: {
            table: 'people',
            column: 'email',
            nullable: false,
            unique: { name: 'people_email_key' },
            default: "'none'",
            comment: 'the address',
            up: "COALESCE(email, CONCAT('unknown-', id))",
            down: 'email',
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const shadow = '_shiftgate_new_email';
        const old = await db.session();
        await old.query('INSERT INTO people (id, email) VALUES (?, NULL)', [500 + round]);
        const next = await db.session(version);
        await next.query(`INSERT INTO people (id, ${shadow}) VALUES (?, 'n@x')`, [600 + round]);
        const got = await mysqlRows(
          db.sql,
          `SELECT id, email, ${shadow} AS shadow FROM people WHERE id IN (3, ?, ?) ORDER BY id`,
          [500 + round, 600 + round],
        );
        assert.deepEqual(got, [
          { id: 3, email: null, shadow: 'unknown-3' },
          { id: 500 + round, email: null, shadow: `unknown-${500 + round}` },
          { id: 600 + round, email: 'n@x', shadow: 'n@x' },
        ]);
        await db.sql.query('DELETE FROM people WHERE id >= 500');
      },
      async afterComplete({ db }) {
        const col = await mysqlRows(
          db.sql,
          `SELECT COLUMN_TYPE AS t, IS_NULLABLE AS n, COLUMN_DEFAULT AS d, COLUMN_COMMENT AS c
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'people'
              AND COLUMN_NAME = 'email'`,
        );
        assert.deepEqual(col, [{ t: 'varchar(50)', n: 'NO', d: "'none'", c: 'the address' }]);
        const idx = await mysqlRows(
          db.sql,
          `SELECT DISTINCT INDEX_NAME AS i FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'people' ORDER BY 1`,
        );
        assert.deepEqual(idx, [{ i: 'people_email_key' }, { i: 'PRIMARY' }]);
      },
    }));

  it('create_table, create_index, drop_index, rename_column, rename_table, drop_column, drop_table', () =>
    runMysqlLifecycle('my_many', {
      setup: `CREATE TABLE a (id int PRIMARY KEY, x int, y varchar(10), KEY a_y (y));
              CREATE TABLE gone (id int PRIMARY KEY);
              CREATE TABLE d (id int PRIMARY KEY, y varchar(10), z int, KEY d_yz (y, z));
              CREATE TABLE r (id int PRIMARY KEY, v int);
              INSERT INTO a VALUES (1, 1, 'a'), (2, 2, 'b');`,
      operations: [
        {
          create_table: {
            name: 'fresh',
            columns: [
              { name: 'id', type: 'int', pk: true, generated: { identity: {} } },
              { name: 'label', type: 'varchar(30)', unique: true, comment: 'a label' },
              {
                name: 'qty',
                type: 'int',
                default: '0',
                check: { name: 'qty_positive', constraint: 'qty >= 0' },
              },
            ],
          },
        },
        { create_index: { name: 'a_x', table: 'a', columns: ['x', 'y'] } },
        { drop_index: { name: 'a_y' } },
        { rename_column: { table: 'a', from: 'x', to: 'xx' } },
        { drop_column: { table: 'd', column: 'y' } },
        { rename_table: { from: 'r', to: 'r2' } },
        { drop_table: { name: 'gone' } },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 'fresh'), ['id', 'label', 'qty']);
        await db.sql.query("INSERT INTO fresh (label) VALUES ('one')");
        await assert.rejects(
          db.sql.query("INSERT INTO fresh (label, qty) VALUES ('two', -1)"),
          /CONSTRAINT/i,
        );
        assert.deepEqual(await mysqlColumns(db.sql, 'a'), ['id', 'x', 'y']);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 'a'), ['id', 'xx', 'y']);
        assert.deepEqual(await mysqlColumns(db.sql, 'd'), ['id', 'z']);
        const idx = await mysqlRows(
          db.sql,
          `SELECT INDEX_NAME AS i, COLUMN_NAME AS c FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'a' ORDER BY BINARY INDEX_NAME, SEQ_IN_INDEX`,
        );
        assert.deepEqual(idx, [
          { i: 'PRIMARY', c: 'id' },
          { i: 'a_x', c: 'xx' },
          { i: 'a_x', c: 'y' },
        ]);
        const tables = await mysqlRows(
          db.sql,
          `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1`,
        );
        assert.deepEqual(tables, [{ t: 'a' }, { t: 'd' }, { t: 'fresh' }, { t: 'r2' }]);
      },
    }));

  it('drop_column with down: new-version writes fill the dropped column until complete', () =>
    runMysqlLifecycle('my_drop_down', {
      setup: `CREATE TABLE products (id int PRIMARY KEY, name varchar(20) NOT NULL, legacy varchar(30) NOT NULL);
              INSERT INTO products VALUES (1, 'lamp', 'L-1');`,
      operations: [
        { drop_column: { table: 'products', column: 'legacy', down: "CONCAT('X-', UPPER(name))" } },
      ],
      async afterStart({ db, version, round }) {
        const next = await db.session(version);
        await next.query('INSERT INTO products (id, name) VALUES (?, ?)', [10 + round, 'desk']);
        const got = await mysqlRows(db.sql, 'SELECT id, legacy FROM products WHERE id > 1');
        assert.deepEqual(got, [{ id: 10 + round, legacy: 'X-DESK' }]);
        await db.sql.query('DELETE FROM products WHERE id > 1');
      },
      async afterComplete({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 'products'), ['id', 'name']);
      },
    }));

  it('create_constraint unique and foreign key, drop_constraint, rename_constraint, sql', () =>
    runMysqlLifecycle('my_constraints', {
      setup: `CREATE TABLE parents (id int PRIMARY KEY);
              INSERT INTO parents VALUES (1), (2);
              CREATE TABLE kids (id int PRIMARY KEY, parent_id int, tag varchar(10), code varchar(10),
                                 CONSTRAINT kids_code_key UNIQUE (code), CONSTRAINT kids_tag_key UNIQUE (tag));
              ${seed('kids', 10, (i) => `(${i}, ${(i % 2) + 1}, 't${i}', 'c${i}')`)}`,
      operations: [
        {
          create_constraint: {
            table: 'kids',
            name: 'kids_parent_fk',
            type: 'foreign_key',
            columns: ['parent_id'],
            references: { table: 'parents', columns: ['id'] },
            up: { parent_id: 'parent_id' },
            down: { parent_id: 'parent_id' },
          },
        },
        { rename_constraint: { table: 'kids', from: 'kids_code_key', to: 'kids_code_unique' } },
        { drop_constraint: { table: 'kids', name: 'kids_tag_key', up: 'tag', down: 'tag' } },
        {
          sql: {
            up: 'CREATE TABLE side (id int PRIMARY KEY)',
            down: 'DROP TABLE side',
          },
        },
      ],
      async afterStart({ db }) {
        const tables = await mysqlRows(
          db.sql,
          `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1`,
        );
        assert.deepEqual(tables, [{ t: 'kids' }, { t: 'parents' }, { t: 'side' }]);
      },
      async afterComplete({ db }) {
        const cons = await mysqlRows(
          db.sql,
          `SELECT CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS type FROM information_schema.TABLE_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'kids' ORDER BY BINARY CONSTRAINT_NAME`,
        );
        assert.deepEqual(cons, [
          { name: 'PRIMARY', type: 'PRIMARY KEY' },
          { name: 'kids_code_unique', type: 'UNIQUE' },
          { name: 'kids_parent_fk', type: 'FOREIGN KEY' },
        ]);
        await assert.rejects(db.sql.query('UPDATE kids SET parent_id = 77 WHERE id = 1'), /foreign key/i);
        // The dropped unique key no longer holds.
        await db.sql.query("UPDATE kids SET tag = 't1' WHERE id = 2");
      },
    }));

  it('drop_multicolumn_constraint through two shadow columns; carried indexes come back under their names', () =>
    runMysqlLifecycle('my_dmc', {
      setup: `CREATE TABLE slots (id int PRIMARY KEY, day int, hour int,
                                  CONSTRAINT slots_day_hour UNIQUE (day, hour), KEY slots_hour (hour));
              INSERT INTO slots VALUES (1, 1, 9), (2, 1, 10);`,
      operations: [
        {
          drop_multicolumn_constraint: {
            table: 'slots',
            name: 'slots_day_hour',
            up: { day: 'day', hour: 'hour' },
            down: { day: 'day', hour: 'hour + 100 * id' },
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const next = await db.session(version);
        await next.query('INSERT INTO slots (id, _shiftgate_new_day, _shiftgate_new_hour) VALUES (?, 1, 9)', [
          10 + round,
        ]);
        assert.deepEqual(await mysqlRows(db.sql, 'SELECT day, hour FROM slots WHERE id = ?', [10 + round]), [
          { day: 1, hour: 9 + 100 * (10 + round) },
        ]);
        await db.sql.query('DELETE FROM slots WHERE id > 2');
      },
      async afterComplete({ db }) {
        await db.sql.query('INSERT INTO slots VALUES (3, 1, 9)');
        const idx = await mysqlRows(
          db.sql,
          `SELECT INDEX_NAME AS i, COLUMN_NAME AS c, NON_UNIQUE AS n FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'slots' ORDER BY BINARY INDEX_NAME, SEQ_IN_INDEX`,
        );
        assert.deepEqual(idx, [
          { i: 'PRIMARY', c: 'id', n: 0 },
          { i: 'slots_hour', c: 'hour', n: 1 },
        ]);
      },
    }));

  it('create_constraint primary_key on a table walked by its unique NOT NULL key', () =>
    runMysqlLifecycle('my_cc_pk', {
      setup: `CREATE TABLE tags (code varchar(10) NOT NULL UNIQUE, label varchar(20));
              INSERT INTO tags VALUES ('a', 'A'), ('b', NULL);`,
      operations: [
        {
          create_constraint: {
            table: 'tags',
            name: 'tags_pkey',
            type: 'primary_key',
            columns: ['label'],
            up: { label: "COALESCE(label, CONCAT('label-', code))" },
            down: { label: 'label' },
          },
        },
      ],
      async afterComplete({ db }) {
        const keys = await mysqlRows(
          db.sql,
          `SELECT CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS type FROM information_schema.TABLE_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'tags' ORDER BY BINARY CONSTRAINT_NAME`,
        );
        assert.deepEqual(keys, [
          { name: 'PRIMARY', type: 'PRIMARY KEY' },
          { name: 'code', type: 'UNIQUE' },
        ]);
        assert.deepEqual(await mysqlRows(db.sql, 'SELECT label FROM tags ORDER BY code'), [
          { label: 'A' },
          { label: 'label-b' },
        ]);
      },
    }));

  it('alter_column: rename, default and comment in place; a composite key backfill', () =>
    runMysqlLifecycle('my_alter_misc', {
      setup: `CREATE TABLE order_lines (order_id int NOT NULL, line int NOT NULL, qty int, note varchar(10),
                                  PRIMARY KEY (order_id, line));
              ${seed('order_lines', 60, (i) => `(${i % 7}, ${i}, ${i}, NULL)`)}`,
      operations: [
        { alter_column: { table: 'order_lines', column: 'note', name: 'remark' } },
        {
          alter_column: {
            table: 'order_lines',
            column: 'qty',
            type: 'bigint',
            default: '1',
            up: 'qty * 2',
            down: 'qty DIV 2',
          },
        },
      ],
      async afterStart({ db }) {
        const bad = await mysqlRows(
          db.sql,
          'SELECT COUNT(*) AS n FROM order_lines WHERE NOT (_shiftgate_new_qty <=> qty * 2)',
        );
        assert.equal(Number(bad[0]!.n), 0, 'every row of the composite-key table was backfilled');
      },
      async afterComplete({ db }) {
        assert.deepEqual(await mysqlColumns(db.sql, 'order_lines'), ['order_id', 'line', 'remark', 'qty']);
        const col = await mysqlRows(
          db.sql,
          `SELECT COLUMN_TYPE AS t, COLUMN_DEFAULT AS d FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'order_lines' AND COLUMN_NAME = 'qty'`,
        );
        assert.deepEqual(col, [{ t: 'bigint(20)', d: '1' }]);
      },
    }));

  it('default and comment changed in place; a foreign key renamed; a new table referencing an old one', () =>
    runMysqlLifecycle('my_in_place', {
      setup: `CREATE TABLE users (id int PRIMARY KEY, status varchar(10) DEFAULT 'new' COMMENT 'state',
                                  boss int, CONSTRAINT users_boss_fk FOREIGN KEY (boss) REFERENCES users (id));
              INSERT INTO users VALUES (1, 'ok', NULL), (2, 'ok', 1);`,
      operations: [
        { alter_column: { table: 'users', column: 'status', default: "'fresh'" } },
        { alter_column: { table: 'users', column: 'status', comment: 'the state' } },
        { rename_constraint: { table: 'users', from: 'users_boss_fk', to: 'users_manager_fk' } },
        {
          create_table: {
            name: 'notes',
            columns: [
              { name: 'id', type: 'bigint', pk: true },
              {
                name: 'user_id',
                type: 'int',
                references: { name: 'notes_user_fk', table: 'users', column: 'id', on_delete: 'CASCADE' },
              },
            ],
          },
        },
      ],
      async afterStart({ db }) {
        const col = await mysqlRows(
          db.sql,
          `SELECT COLUMN_DEFAULT AS d, COLUMN_COMMENT AS c FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME = 'status'`,
        );
        assert.deepEqual(col, [{ d: "'fresh'", c: 'the state' }]);
        await db.sql.query('INSERT INTO notes VALUES (1, 2)');
        await assert.rejects(db.sql.query('INSERT INTO notes VALUES (2, 99)'), /foreign key/i);
      },
      async afterComplete({ db }) {
        const fks = await mysqlRows(
          db.sql,
          `SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS c, DELETE_RULE AS d FROM information_schema.REFERENTIAL_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1, 2`,
        );
        assert.deepEqual(fks, [
          { t: 'notes', c: 'notes_user_fk', d: 'CASCADE' },
          { t: 'users', c: 'users_manager_fk', d: 'RESTRICT' },
        ]);
        await assert.rejects(db.sql.query('UPDATE users SET boss = 42 WHERE id = 1'), /foreign key/i);
      },
    }));

  it('alter_column on a column with a foreign key, a unique key and an index: all carried to the shadow', () =>
    runMysqlLifecycle('my_carry', {
      setup: `CREATE TABLE teams (id int PRIMARY KEY);
              INSERT INTO teams VALUES (1), (2), (3);
              CREATE TABLE players (id int PRIMARY KEY, team_id int, nick varchar(10),
                                    CONSTRAINT players_team_fk FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
                                    CONSTRAINT players_team_nick UNIQUE (team_id, nick), KEY players_nick (nick, team_id));
              ${seed('players', 30, (i) => `(${i}, ${(i % 3) + 1}, 'p${i}')`)}`,
      operations: [
        // InnoDB wants a foreign key's columns of the referenced type: a NOT NULL change, not a type change.
        {
          alter_column: {
            table: 'players',
            column: 'team_id',
            nullable: false,
            up: 'COALESCE(team_id, 1)',
            down: 'team_id',
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const next = await db.session(version);
        await next.query("INSERT INTO players (id, _shiftgate_new_team_id, nick) VALUES (?, 2, 'n')", [
          100 + round,
        ]);
        await assert.rejects(
          next.query("INSERT INTO players (id, _shiftgate_new_team_id, nick) VALUES (?, 9, 'm')", [
            200 + round,
          ]),
          /foreign key/i,
        );
        assert.deepEqual(await mysqlRows(db.sql, 'SELECT team_id FROM players WHERE id = ?', [100 + round]), [
          { team_id: 2 },
        ]);
        await db.sql.query('DELETE FROM players WHERE id >= 100');
      },
      async afterComplete({ db }) {
        const keys = await mysqlRows(
          db.sql,
          `SELECT INDEX_NAME AS i, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS c, MAX(NON_UNIQUE) AS n
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'players'
            GROUP BY INDEX_NAME ORDER BY BINARY INDEX_NAME`,
        );
        assert.deepEqual(keys, [
          { i: 'PRIMARY', c: 'id', n: 0 },
          { i: 'players_nick', c: 'nick,team_id', n: 1 },
          { i: 'players_team_nick', c: 'team_id,nick', n: 0 },
        ]);
        const fks = await mysqlRows(
          db.sql,
          `SELECT CONSTRAINT_NAME AS c, DELETE_RULE AS d FROM information_schema.REFERENTIAL_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE()`,
        );
        assert.deepEqual(fks, [{ c: 'players_team_fk', d: 'CASCADE' }]);
      },
    }));

  it('drop_constraint of a check: the new version may write what the check refuses', () =>
    runMysqlLifecycle('my_dc_check', {
      setup: `CREATE TABLE prices (id int PRIMARY KEY, amount int, CONSTRAINT amount_positive CHECK (amount > 0));
              INSERT INTO prices VALUES (1, 5), (2, 7);`,
      operations: [
        {
          drop_constraint: {
            table: 'prices',
            name: 'amount_positive',
            up: 'amount',
            down: 'ABS(amount) + 1',
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const next = await db.session(version);
        await next.query('INSERT INTO prices (id, _shiftgate_new_amount) VALUES (?, -3)', [10 + round]);
        assert.deepEqual(await mysqlRows(db.sql, 'SELECT amount FROM prices WHERE id = ?', [10 + round]), [
          { amount: 4 },
        ]);
        await db.sql.query('DELETE FROM prices WHERE id > 2');
      },
      async afterComplete({ db }) {
        await db.sql.query('INSERT INTO prices VALUES (3, -1)');
        const checks = await mysqlRows(
          db.sql,
          'SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()',
        );
        assert.deepEqual(checks, []);
      },
    }));

  it("NOT NULL through the sync trigger: a writer's NULL is refused, the backfill's is found by validation", async () => {
    const db = await mysqlMigrationDb('my_nn_sync');
    try {
      await db.sql.query(`CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL);
                          ${seed('orders', 20, (i) => `(${i}, ${i})`)}`);
      const before = await mysqlFingerprint(db.sql);
      const engine = await db.engine();
      const cents = (up: string) =>
        migration('01_cents', [
          { alter_column: { table: 'orders', column: 'amount', type: 'bigint', up, down: 'amount DIV 100' } },
        ]);
      // `up` is NULL for one existing row: the backfill writes it, the validation's read of every row refuses it.
      await assert.rejects(
        engine.start(cents('NULLIF(amount, 3) * 100')),
        /"_shiftgate_nn__shiftgate_new_amount" of table "orders" is violated by existing rows \(first: key 3\)/,
      );
      await engine.rollback();
      assert.deepEqual(await mysqlFingerprint(db.sql), before);

      await engine.start(cents('amount * 100'));
      const triggers = await mysqlRows(
        db.sql,
        `SELECT EVENT_MANIPULATION AS e, TRIGGER_NAME AS t FROM information_schema.TRIGGERS
          WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1`,
      );
      assert.deepEqual(triggers, [
        { e: 'INSERT', t: '_shiftgate_sync_amount__orders_bi' },
        { e: 'UPDATE', t: '_shiftgate_sync_amount__orders_bu' },
      ]);
      const next = await db.session('01_cents');
      for (const write of [
        `UPDATE orders SET ${SHADOW} = NULL WHERE id = 1`,
        'INSERT INTO orders (id) VALUES (100)',
      ])
        await assert.rejects(next.query(write), (e: { sqlState?: string; message?: string }) => {
          assert.equal(e.sqlState, '23000');
          assert.match(String(e.message), /must not be NULL/);
          return true;
        });
      await engine.complete();
      assert.deepEqual(await mysqlLeftovers(db.sql), []);
      await assert.rejects(db.sql.query('UPDATE orders SET amount = NULL WHERE id = 1'), /cannot be null/i);
    } finally {
      await db.close();
    }
  });

  it("coexists with the user's own BEFORE triggers: they run first, ours see their result, theirs survive", () =>
    runMysqlLifecycle('my_user_trigger', {
      setup: `CREATE TABLE docs (id int PRIMARY KEY, title varchar(20) NOT NULL, edits int NOT NULL DEFAULT 0);
              CREATE TRIGGER docs_title_bi BEFORE INSERT ON docs FOR EACH ROW SET NEW.title = UPPER(NEW.title);
              CREATE TRIGGER docs_edits_bu BEFORE UPDATE ON docs FOR EACH ROW
                SET NEW.edits = OLD.edits + 1, NEW.title = UPPER(NEW.title);
              INSERT INTO docs (id, title) VALUES (1, 'a'), (2, 'b');`,
      operations: [
        {
          alter_column: {
            table: 'docs',
            column: 'title',
            type: 'varchar(40)',
            up: "CONCAT('t:', title)",
            down: 'SUBSTRING(title, 3)',
          },
        },
      ],
      async afterStart({ db, round }) {
        // Ours after theirs, for each event; the NOT NULL check of the shadow rides on the sync trigger.
        const order = await mysqlRows(
          db.sql,
          `SELECT EVENT_MANIPULATION AS e, ACTION_ORDER AS n, TRIGGER_NAME AS t FROM information_schema.TRIGGERS
            WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1, 2`,
        );
        assert.deepEqual(order, [
          { e: 'INSERT', n: 1, t: 'docs_title_bi' },
          { e: 'INSERT', n: 2, t: '_shiftgate_sync_title__docs_bi' },
          { e: 'UPDATE', n: 1, t: 'docs_edits_bu' },
          { e: 'UPDATE', n: 2, t: '_shiftgate_sync_title__docs_bu' },
        ]);
        const old = await db.session();
        await old.query("INSERT INTO docs (id, title) VALUES (?, 'new')", [10 + round]);
        await old.query("UPDATE docs SET title = 'renamed' WHERE id = 1");
        const got = await mysqlRows(
          db.sql,
          'SELECT id, title, _shiftgate_new_title AS shadow, edits FROM docs WHERE id IN (1, ?) ORDER BY id',
          [10 + round],
        );
        // The user's update trigger counts every UPDATE, the backfill's included (as on PostgreSQL).
        assert.deepEqual(
          got.map(({ edits, ...r }) => ({ ...r, edited: Number(edits) > 0 })),
          [
            { id: 1, title: 'RENAMED', shadow: 't:RENAMED', edited: true },
            { id: 10 + round, title: 'NEW', shadow: 't:NEW', edited: false },
          ],
        );
        await db.sql.query('DELETE FROM docs WHERE id > 2');
        await db.sql.query("UPDATE docs SET title = 'A' WHERE id = 1");
      },
      async afterComplete({ db }) {
        const triggers = await mysqlRows(
          db.sql,
          'SELECT TRIGGER_NAME AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1',
        );
        assert.deepEqual(triggers, [{ t: 'docs_edits_bu' }, { t: 'docs_title_bi' }]);
        assert.deepEqual(await mysqlRows(db.sql, 'SELECT title FROM docs ORDER BY id'), [
          { title: 't:A' },
          { title: 't:B' },
        ]);
      },
    }));
});
