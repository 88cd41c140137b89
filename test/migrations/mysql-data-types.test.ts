/**
 * MariaDB data types through a real migration, in the spirit of gh-ost's
 * local tests: start -> backfill (small batches, many of them) -> writes by
 * the old and the new version -> complete (some through a rollback first).
 * Every value is compared byte for byte: each column is rendered as the hex
 * of its binary form, and the whole table is compared with an `expected`
 * table built from literals with the final definition.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connection } from 'mysql2/promise';
import { migration } from './helpers/db.ts';
import { mysqlFingerprint, mysqlLeftovers, mysqlMigrationDb, mysqlRows } from './helpers/mysql-db.ts';

const shadow = (column: string) => `_shiftgate_new_${column}`;

interface TypeCase {
  prefix: string;
  /** Column definitions of `t` (and its keys). */
  columns: string;
  /** The definition after complete (the `expected` table's). */
  finalColumns: string;
  /** Seed rows, SQL tuples in the order of `columns`. */
  rows: string[];
  operations: unknown[];
  /** Columns under alter_column: after the backfill, shadow = column for every row. */
  mirrored: string[];
  /** Statements run by an old-version session, then by a new-version session. */
  oldWrites: string[];
  newWrites: string[];
  /** The rows of the table after complete, SQL tuples in the order of `finalColumns`. */
  finalRows: string[];
  /** When set: the writes, then ROLLBACK; the old table must hold these rows; then start and complete. */
  afterRollback?: string[];
  /** A session setting of every writer (e.g. its time zone). */
  sessionInit?: string;
  /**
   * MariaDB keeps a column-level CHECK's name (a JSON column's json_valid)
   * when the column is renamed: the shadow's name stays on the constraint.
   */
  staleCheckNames?: string[];
  /** Extra checks after start. */
  afterStart?: (db: Connection, next: Connection, old: Connection) => Promise<void>;
}

/*
 * Columns are compared by name, not position: a column changed through a
 * shadow column ends up last (as on PostgreSQL), which MySQL's SELECT *
 * and positional INSERT see.
 */

/** Every column of `table` as the hex of its binary form (NULL as NULL), in key order. */
async function dump(conn: Connection, table: string, order: string): Promise<string[]> {
  const cols = await mysqlRows<{ c: string }>(
    conn,
    `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY COLUMN_NAME`,
    [table],
  );
  const render = cols.map((c) => `COALESCE(HEX(CAST(\`${c.c}\` AS BINARY)), 'NULL')`).join(", '|', ");
  const r = await mysqlRows<{ r: string }>(
    conn,
    `SELECT CONCAT(${render}) AS r FROM \`${table}\` ORDER BY ${order}`,
  );
  return r.map((x) => x.r);
}

async function definition(conn: Connection, table: string): Promise<unknown> {
  return mysqlRows(
    conn,
    `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, EXTRA, GENERATION_EXPRESSION
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
      ORDER BY COLUMN_NAME`,
    [table],
  );
}

async function expectTable(conn: Connection, columns: string, rows: string[], order: string, what: string) {
  await conn.query('DROP TABLE IF EXISTS expected');
  await conn.query(`CREATE TABLE expected (${columns})`);
  await insertRows(conn, 'expected', rows);
  assert.deepEqual(await definition(conn, 't'), await definition(conn, 'expected'), `${what}: definition`);
  assert.deepEqual(await dump(conn, 't', order), await dump(conn, 'expected', order), `${what}: every row`);
  await conn.query('DROP TABLE expected');
}

async function insertRows(conn: Connection, table: string, rows: string[]) {
  const cols = await mysqlRows<{ c: string }>(
    conn,
    `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND GENERATION_EXPRESSION IS NULL
      ORDER BY ORDINAL_POSITION`,
    [table],
  );
  if (rows.length)
    await conn.query(
      `INSERT INTO \`${table}\` (${cols.map((c) => `\`${c.c}\``).join(', ')}) VALUES ${rows.join(', ')}`,
    );
}

let counter = 0;

async function runTypeCase(c: TypeCase, order = 'id'): Promise<void> {
  const db = await mysqlMigrationDb(c.prefix);
  try {
    await db.sql.query("SET time_zone = '+00:00'");
    await db.sql.query(`CREATE TABLE t (${c.columns})`);
    await insertRows(db.sql, 't', c.rows);
    const version = `${String(++counter).padStart(2, '0')}_${c.prefix}`;
    const m = migration(version, c.operations);
    let batches = 0;
    const engine = await db.engine({
      sizing: { minBatch: 2, maxBatch: 3, targetBatchMs: 20 },
      onEvent: (e) => {
        if (e.type === 'batch') batches++;
      },
    });
    const before = await mysqlFingerprint(db.sql);
    const started = await engine.start(m);
    assert.equal(started.phase, 'active');
    assert.ok(batches >= 2, `${batches} backfill batches`);
    const mirrored = async (when: string) => {
      for (const col of c.mirrored) {
        const bad = await mysqlRows<{ n: number }>(
          db.sql,
          `SELECT COUNT(*) AS n FROM t WHERE NOT (\`${shadow(col)}\` <=> \`${col}\`)`,
        );
        assert.equal(Number(bad[0]!.n), 0, `${when}: ${shadow(col)} holds ${col} exactly`);
      }
    };
    await mirrored('after the backfill');
    const old = await db.session();
    const next = await db.session(version);
    if (c.sessionInit) {
      await old.query(c.sessionInit);
      await next.query(c.sessionInit);
    }
    for (const s of c.oldWrites) await old.query(s);
    for (const s of c.newWrites) await next.query(s);
    await mirrored('after writes by both versions');
    await c.afterStart?.(db.sql, next, old);

    if (c.afterRollback) {
      assert.equal((await engine.rollback()).phase, 'rolled_back');
      assert.deepEqual(await mysqlFingerprint(db.sql), before, 'rollback restores the schema exactly');
      assert.deepEqual(await mysqlLeftovers(db.sql), []);
      await expectTable(db.sql, c.columns, c.afterRollback, order, 'after rollback');
      assert.equal((await engine.start(m)).phase, 'active');
      await mirrored('after the second backfill');
    }
    assert.equal((await engine.complete()).phase, 'completed');
    assert.deepEqual(
      (await mysqlLeftovers(db.sql)).filter((name) => !c.staleCheckNames?.includes(name)),
      [],
    );
    await expectTable(db.sql, c.finalColumns, c.finalRows, order, 'after complete');
  } finally {
    await db.close();
  }
}

/** alter_column to `type` with up / down the identity: the value must come through unchanged. */
const widen = (table: string, column: string, type: string) => ({
  alter_column: { table, column, type, up: `\`${column}\``, down: `\`${column}\`` },
});

describe('MySQL data types through a migration', () => {
  it('signed and unsigned integers at their limits, TINYINT and INT UNSIGNED widened', () => {
    const min = '-128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0';
    const max =
      '127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615';
    const zero = '0, 0, 0, 0, 0, 0, 0, 0, 0, 0';
    const cols = (ti: string, iu: string) =>
      `id int PRIMARY KEY, ti ${ti}, tu tinyint unsigned, si smallint, su smallint unsigned,
       mi mediumint, mu mediumint unsigned, i int, iu ${iu}, bi bigint, bu bigint unsigned`;
    const rows = [
      `(1, ${min})`,
      `(2, ${max})`,
      `(3, ${zero})`,
      ...[4, 5, 6, 7].map((i) => `(${i}, ${zero})`),
    ];
    const after = [
      `(1, ${min})`,
      `(2, ${max})`,
      `(3, -128, 255, 0, 0, 0, 0, 0, 4294967295, -9223372036854775808, 18446744073709551615)`,
      `(4, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0)`,
      `(5, ${zero})`,
      `(6, ${zero})`,
      `(7, ${zero})`,
      `(10, ${max})`,
      `(11, ${min})`,
    ];
    return runTypeCase({
      prefix: 'my_ints',
      columns: cols('tinyint', 'int unsigned'),
      finalColumns: cols('smallint', 'bigint unsigned'),
      rows,
      operations: [widen('t', 'ti', 'smallint'), widen('t', 'iu', 'bigint unsigned')],
      mirrored: ['ti', 'iu'],
      oldWrites: [
        `INSERT INTO t (id, ti, tu, si, su, mi, mu, i, iu, bi, bu) VALUES (10, ${max})`,
        'UPDATE t SET ti = -128, tu = 255, bi = -9223372036854775808, bu = 18446744073709551615 WHERE id = 3',
      ],
      newWrites: [
        `INSERT INTO t (id, ${shadow('ti')}, tu, si, su, mi, mu, i, ${shadow('iu')}, bi, bu) VALUES (11, ${min})`,
        `UPDATE t SET ${shadow('iu')} = 4294967295 WHERE id = 3`,
        `UPDATE t SET ${shadow('ti')} = 127 WHERE id = 4`,
      ],
      async afterStart(db, next) {
        // A new-version value the old type cannot hold is refused (strict mode), not truncated.
        await assert.rejects(next.query(`UPDATE t SET ${shadow('ti')} = 300 WHERE id = 5`), /range|truncat/i);
        const r = await mysqlRows(db, `SELECT ti, ${shadow('ti')} AS s FROM t WHERE id = 5`);
        assert.deepEqual(r, [{ ti: 0, s: 0 }]);
      },
      afterRollback: after,
      finalRows: after,
    });
  });

  it('DECIMAL(65,30): copied by add_column up and widened by alter_column, every digit kept', () => {
    const big = '99999999999999999999999999999999999.999999999999999999999999999999';
    const small = '-0.000000000000000000000000000001';
    return runTypeCase({
      prefix: 'my_decimal',
      columns: 'id int PRIMARY KEY, d decimal(65,30) NOT NULL, e decimal(20,10)',
      finalColumns: 'id int PRIMARY KEY, d decimal(65,30) NOT NULL, e decimal(65,30), d2 decimal(65,30)',
      rows: [
        `(1, ${big}, 1234567890.0123456789)`,
        `(2, -${big}, -9999999999.9999999999)`,
        `(3, ${small}, 0.0000000001)`,
        '(4, 0, NULL)',
      ],
      operations: [
        widen('t', 'e', 'decimal(65,30)'),
        {
          add_column: { table: 't', column: { name: 'd2', type: 'decimal(65,30)', nullable: true }, up: 'd' },
        },
      ],
      mirrored: ['e'],
      oldWrites: [
        `INSERT INTO t (id, d, e) VALUES (10, ${small}, -0.0000000001)`,
        `UPDATE t SET d = 1.5 WHERE id = 4`,
      ],
      newWrites: [
        `INSERT INTO t (id, d, ${shadow('e')}, d2) VALUES (11, -${big}, 9999999999.9999999999, 7.25)`,
        `UPDATE t SET ${shadow('e')} = -1.0000000001 WHERE id = 3`,
      ],
      finalRows: [
        `(1, ${big}, 1234567890.0123456789, ${big})`,
        `(2, -${big}, -9999999999.9999999999, -${big})`,
        `(3, ${small}, -1.0000000001, ${small})`,
        '(4, 1.5, NULL, 1.5)',
        `(10, ${small}, -0.0000000001, ${small})`,
        `(11, -${big}, 9999999999.9999999999, 7.25)`,
      ],
    });
  });

  it('ENUM and SET gain a member; a new-version value the old definition lacks is refused', () =>
    runTypeCase({
      prefix: 'my_enum',
      columns: "id int PRIMARY KEY, e enum('a','b','ü') NOT NULL, s set('x','y','z')",
      finalColumns: "id int PRIMARY KEY, e enum('a','b','ü','c') NOT NULL, s set('x','y','z','w')",
      rows: ["(1, 'a', '')", "(2, 'ü', 'x,z')", "(3, 'b', NULL)", "(4, 'a', 'x,y,z')"],
      operations: [widen('t', 'e', "enum('a','b','ü','c')"), widen('t', 's', "set('x','y','z','w')")],
      mirrored: ['e', 's'],
      oldWrites: ["INSERT INTO t (id, e, s) VALUES (10, 'ü', 'z,x')", "UPDATE t SET s = 'y' WHERE id = 1"],
      newWrites: [
        `INSERT INTO t (id, ${shadow('e')}, ${shadow('s')}) VALUES (11, 'b', 'y,x')`,
        `UPDATE t SET ${shadow('s')} = '' WHERE id = 4`,
      ],
      async afterStart(db, next) {
        await assert.rejects(
          next.query(`UPDATE t SET ${shadow('e')} = 'c' WHERE id = 3`),
          /truncat|incorrect/i,
        );
        await assert.rejects(
          next.query(`UPDATE t SET ${shadow('s')} = 'w' WHERE id = 3`),
          /truncat|incorrect/i,
        );
        assert.deepEqual(await mysqlRows(db, 'SELECT e, s FROM t WHERE id = 3'), [{ e: 'b', s: null }]);
      },
      finalRows: [
        "(1, 'a', 'y')",
        "(2, 'ü', 'x,z')",
        "(3, 'b', NULL)",
        "(4, 'a', '')",
        "(10, 'ü', 'x,z')",
        "(11, 'b', 'x,y')",
      ],
    }));

  it('JSON: documents kept byte for byte, a longtext column turned into JSON', () => {
    const docs = [
      `'{"a": 1, "nested": {"list": [1, 2.5, null, true], "s": "q\\\\"uote"}}'`,
      `'[]'`,
      `'{"emoji": "\\\\ud83d\\\\ude00", "raw": "😀", "big": 18446744073709551616}'`,
      `'"just a string"'`,
    ];
    return runTypeCase({
      prefix: 'my_json',
      columns: 'id int PRIMARY KEY, j longtext, doc json',
      finalColumns: 'id int PRIMARY KEY, j json, doc json',
      rows: docs.map((d, i) => `(${i + 1}, ${d}, ${d})`),
      operations: [widen('t', 'j', 'json')],
      mirrored: ['j'],
      staleCheckNames: [shadow('j')],
      oldWrites: [
        `INSERT INTO t (id, j, doc) VALUES (10, '{"k": [ 1 ,2 ]}', JSON_OBJECT('x', 'ÿ'))`,
        `UPDATE t SET j = JSON_SET(j, '$.a', 2) WHERE id = 1`,
      ],
      newWrites: [`INSERT INTO t (id, ${shadow('j')}, doc) VALUES (11, '{}', NULL)`],
      async afterStart(_db, next) {
        // The new definition's JSON_VALID check holds for new-version writes.
        await assert.rejects(
          next.query(`UPDATE t SET ${shadow('j')} = 'not json' WHERE id = 2`),
          /constraint|check/i,
        );
      },
      finalRows: [
        `(1, '{"a": 2, "nested": {"list": [1, 2.5, null, true], "s": "q\\\\"uote"}}', ${docs[0]})`,
        `(2, ${docs[1]}, ${docs[1]})`,
        `(3, ${docs[2]}, ${docs[2]})`,
        `(4, ${docs[3]}, ${docs[3]})`,
        `(10, '{"k": [ 1 ,2 ]}', '{"x": "ÿ"}')`,
        `(11, '{}', NULL)`,
      ],
    });
  });

  it('DATETIME(6) and TIMESTAMP(6): fractional seconds, writers in non-UTC time zones', () =>
    runTypeCase({
      prefix: 'my_time',
      columns:
        'id int PRIMARY KEY, dt datetime(3), ts timestamp(3) NULL, dt6 datetime(6) NOT NULL, ts6 timestamp(6) NULL',
      finalColumns:
        'id int PRIMARY KEY, dt datetime(6), ts timestamp(6) NULL, dt6 datetime(6) NOT NULL, ts6 timestamp(6) NULL, ts_copy timestamp(6) NULL',
      // Seeded, dumped and compared in UTC (the checking session's zone); the writers work in +05:30.
      rows: [
        "(1, '1000-01-01 00:00:00.001', '1970-01-01 00:00:01.000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000001')",
        "(2, '9999-12-31 23:59:59.999', '2038-01-19 03:14:07.999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999')",
        "(3, '2024-02-29 12:34:56.789', '2024-03-31 01:30:00.500', '2024-02-29 12:34:56.000001', '2024-10-27 01:30:00.123456')",
        "(4, NULL, NULL, '2000-01-01 00:00:00.5', NULL)",
      ],
      operations: [
        widen('t', 'dt', 'datetime(6)'),
        widen('t', 'ts', 'timestamp(6) NULL'),
        {
          add_column: {
            table: 't',
            column: { name: 'ts_copy', type: 'timestamp(6)', nullable: true },
            up: 'ts6',
          },
        },
      ],
      mirrored: ['dt', 'ts'],
      sessionInit: "SET time_zone = '+05:30'",
      oldWrites: [
        "INSERT INTO t (id, dt, ts, dt6, ts6) VALUES (10, '2021-06-01 05:29:59.123', '2021-06-01 05:29:59.456', '2021-06-01 05:29:59.654321', '2021-06-01 05:29:59.000007')",
        "UPDATE t SET ts = '2001-01-01 00:00:00.999', ts6 = '2001-01-01 00:00:00.999999' WHERE id = 4",
      ],
      newWrites: [
        `INSERT INTO t (id, ${shadow('dt')}, ${shadow('ts')}, dt6, ts6, ts_copy) VALUES (11, '2022-12-31 23:59:59.999', '2022-12-31 23:59:59.001', '2022-12-31 23:59:59.999999', NULL, '2030-01-01 00:00:00.5')`,
        `UPDATE t SET ${shadow('ts')} = '1999-12-31 23:00:00.25' WHERE id = 1`,
      ],
      async afterStart(_db, _next, old) {
        // The same instants read from another zone: TIMESTAMP moves with the zone, DATETIME does not.
        await old.query("SET time_zone = '-08:00'");
        const r = await mysqlRows(
          old,
          `SELECT CAST(ts AS CHAR) AS ts, CAST(dt AS CHAR) AS dt FROM t WHERE id = 10`,
        );
        assert.deepEqual(r, [{ ts: '2021-05-31 15:59:59.456', dt: '2021-06-01 05:29:59.123' }]);
      },
      finalRows: [
        "(1, '1000-01-01 00:00:00.001', '1999-12-31 17:30:00.25', '1000-01-01 00:00:00', '1970-01-01 00:00:01.000001', '1970-01-01 00:00:01.000001')",
        "(2, '9999-12-31 23:59:59.999', '2038-01-19 03:14:07.999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '2038-01-19 03:14:07.999999')",
        "(3, '2024-02-29 12:34:56.789', '2024-03-31 01:30:00.5', '2024-02-29 12:34:56.000001', '2024-10-27 01:30:00.123456', '2024-10-27 01:30:00.123456')",
        "(4, NULL, '2000-12-31 18:30:00.999', '2000-01-01 00:00:00.5', '2000-12-31 18:30:00.999999', '2000-12-31 18:30:00.999999')",
        "(10, '2021-06-01 05:29:59.123', '2021-05-31 23:59:59.456', '2021-06-01 05:29:59.654321', '2021-05-31 23:59:59.000007', '2021-05-31 23:59:59.000007')",
        "(11, '2022-12-31 23:59:59.999', '2022-12-31 18:29:59.001', '2022-12-31 23:59:59.999999', NULL, '2029-12-31 18:30:00.5')",
      ],
    }));

  it('DATETIME(6) turned TIMESTAMP(6) on a table keyed by a TIMESTAMP(6): the backfill computes in the server zone', () => {
    // The backfill evaluates `up` in the server's default time zone, as the sync
    // trigger does for a writer that never set one; a writer in another zone
    // gets its own rows converted in its zone.
    const ids = Array.from({ length: 7 }, (_, i) => `'2020-03-29 01:59:59.99999${i}'`);
    const rows = ids.map((id, i) => `(${id}, '2021-0${i + 1}-15 12:00:00.${String(i).repeat(6)}')`);
    return runTypeCase(
      {
        prefix: 'my_dt_ts',
        columns: 'id timestamp(6) NOT NULL PRIMARY KEY, dt datetime(6) NULL',
        finalColumns: 'id timestamp(6) NOT NULL PRIMARY KEY, dt timestamp(6) NULL',
        rows,
        operations: [widen('t', 'dt', 'timestamp(6) NULL')],
        mirrored: ['dt'],
        oldWrites: [
          "INSERT INTO t (id, dt) VALUES ('2030-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999')",
        ],
        newWrites: [
          `INSERT INTO t (id, ${shadow('dt')}) VALUES ('2030-01-01 00:00:00.000002', '2000-02-29 00:00:00.5')`,
        ],
        async afterStart(db, _next, old) {
          await old.query("SET time_zone = '+05:30'");
          await old.query(
            "INSERT INTO t (id, dt) VALUES ('2030-01-01 00:00:00.000003', '2021-06-01 12:00:00')",
          );
          const r = await mysqlRows(
            db,
            `SELECT CAST(id AS CHAR) AS id, CAST(${shadow('dt')} AS CHAR) AS ts FROM t WHERE dt = '2021-06-01 12:00:00'`,
          );
          assert.deepEqual(r, [{ id: '2029-12-31 18:30:00.000003', ts: '2021-06-01 06:30:00.000000' }]);
        },
        finalRows: [
          ...rows,
          "('2030-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999')",
          "('2030-01-01 00:00:00.000002', '2000-02-29 00:00:00.5')",
          "('2029-12-31 18:30:00.000003', '2021-06-01 06:30:00')",
        ],
      },
      'id',
    );
  });

  it('utf8mb4 with 4-byte characters and latin1 columns, through a rollback', () => {
    const rows = [
      "(1, '😀 grin', 'café', 'x')",
      "(2, '𝄞 clef 🇫🇷', 'ÿ Ñ ß', 'y')",
      "(3, '', '', '')",
      "(4, 'plain', 'plain', NULL)",
    ];
    const after = [
      "(1, '😀 grin', 'café', 'x')",
      "(2, '𝄞 clef 🇫🇷 👍🏽', 'ÿ Ñ ß', 'y')",
      "(3, '', 'à la', '')",
      "(4, 'plain', 'plain', NULL)",
      "(10, '🚀🚀', '£ ¥ ©', 'z')",
      "(11, '漢字 🀄', 'Ø', 'w')",
    ];
    return runTypeCase({
      prefix: 'my_text',
      columns:
        'id int PRIMARY KEY, u varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, l varchar(10) CHARACTER SET latin1, n char(3) CHARACTER SET latin1',
      finalColumns:
        'id int PRIMARY KEY, u varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, l varchar(20) CHARACTER SET latin1, n char(3) CHARACTER SET latin1',
      rows,
      operations: [
        widen('t', 'u', 'varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'),
        widen('t', 'l', 'varchar(20) CHARACTER SET latin1'),
      ],
      mirrored: ['u', 'l'],
      oldWrites: [
        "INSERT INTO t (id, u, l, n) VALUES (10, '🚀🚀', '£ ¥ ©', 'z')",
        "UPDATE t SET u = '𝄞 clef 🇫🇷 👍🏽' WHERE id = 2",
      ],
      newWrites: [
        `INSERT INTO t (id, ${shadow('u')}, ${shadow('l')}, n) VALUES (11, '漢字 🀄', 'Ø', 'w')`,
        `UPDATE t SET ${shadow('l')} = 'à la' WHERE id = 3`,
      ],
      async afterStart(db, next) {
        // A character latin1 cannot hold is refused for the old column, not turned into '?'.
        await assert.rejects(
          next.query(`UPDATE t SET ${shadow('l')} = '😀' WHERE id = 4`),
          /incorrect string/i,
        );
        assert.deepEqual(await mysqlRows(db, 'SELECT l FROM t WHERE id = 4'), [{ l: 'plain' }]);
      },
      afterRollback: after,
      finalRows: after,
    });
  });

  it('BINARY, VARBINARY and BLOB values with 0x00 and 0xFF bytes, through a rollback', () => {
    const after = [
      '(1, 0x00000000, 0x00, 0x00FF00FF, 0xFF)',
      '(2, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFF00, 0x00)',
      "(3, 0x00FF0000, '', '', 0x0000)",
      '(4, 0x41000000, 0x4100, NULL, NULL)',
      '(10, 0xFF000000, 0x000000, 0x00000000FF, 0x00FFFE)',
      '(11, 0x0000FFFF, 0xFFFE0001, 0x5C27225C00, 0x00FF)',
    ];
    return runTypeCase({
      prefix: 'my_binary',
      columns: 'id int PRIMARY KEY, b binary(4) NOT NULL, vb varbinary(8), bl blob, tb tinyblob',
      finalColumns: 'id int PRIMARY KEY, b binary(4) NOT NULL, vb varbinary(16), bl mediumblob, tb tinyblob',
      rows: [
        '(1, 0x00000000, 0x00, 0x00FF00FF, 0xFF)',
        '(2, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFF00, 0x00)',
        "(3, 0x00FF, '', '', 0x0000)",
        "(4, 'A', 0x4100, NULL, NULL)",
      ],
      operations: [widen('t', 'vb', 'varbinary(16)'), widen('t', 'bl', 'mediumblob')],
      mirrored: ['vb', 'bl'],
      oldWrites: ['INSERT INTO t (id, b, vb, bl, tb) VALUES (10, 0xFF, 0x000000, 0x00000000FF, 0x00FFFE)'],
      newWrites: [
        `INSERT INTO t (id, b, ${shadow('vb')}, ${shadow('bl')}, tb) VALUES (11, 0x0000FFFF, 0xFFFE0001, 0x5C27225C00, 0x00FF)`,
      ],
      afterRollback: after,
      finalRows: after,
    });
  });

  it('generated columns, VIRTUAL and STORED, next to the changed column', () => {
    const cols = (a: string) =>
      `id int PRIMARY KEY, a ${a} NULL, b int NOT NULL,
       g bigint AS (b * 2) VIRTUAL, s bigint AS (b + 1) STORED, gs varchar(30) AS (CONCAT(b, '-', id)) VIRTUAL`;
    return runTypeCase({
      prefix: 'my_generated',
      columns: cols('int'),
      finalColumns: cols('bigint'),
      rows: ['(1, 1, 10)', '(2, -2147483648, 20)', '(3, 2147483647, 30)', '(4, 0, 40)'],
      operations: [widen('t', 'a', 'bigint')],
      mirrored: ['a'],
      oldWrites: ['INSERT INTO t (id, a, b) VALUES (10, 5, 50)', 'UPDATE t SET b = 41 WHERE id = 4'],
      newWrites: [
        `INSERT INTO t (id, ${shadow('a')}, b) VALUES (11, 7, 70)`,
        `UPDATE t SET ${shadow('a')} = 9 WHERE id = 1`,
      ],
      async afterStart(db) {
        const r = await mysqlRows(db, 'SELECT id, g, s, gs FROM t WHERE id IN (1, 4, 11) ORDER BY id');
        assert.deepEqual(
          r.map((x) => [x.id, Number(x.g), Number(x.s), x.gs]),
          [
            [1, 20, 11, '10-1'],
            [4, 82, 42, '41-4'],
            [11, 140, 71, '70-11'],
          ],
        );
      },
      finalRows: [
        '(1, 9, 10)',
        '(2, -2147483648, 20)',
        '(3, 2147483647, 30)',
        '(4, 0, 41)',
        '(10, 5, 50)',
        '(11, 7, 70)',
      ],
    });
  });

  it('a composite primary key (int, varchar) walked in key order', () => {
    const keys = [1, 2, 3].flatMap((k1) => ['', 'a', 'b b', 'é', 'z😀'].map((k2) => [k1, k2] as const));
    const rows = keys.map(([k1, k2], i) => `(${k1}, '${k2}', ${i})`);
    const final = keys.map(([k1, k2], i) => `(${k1}, '${k2}', ${k1 === 2 && k2 === 'é' ? 99 : i})`);
    return runTypeCase(
      {
        prefix: 'my_composite',
        columns: 'k1 int NOT NULL, k2 varchar(10) NOT NULL, v int, PRIMARY KEY (k1, k2)',
        finalColumns: 'k1 int NOT NULL, k2 varchar(10) NOT NULL, v bigint, PRIMARY KEY (k1, k2)',
        rows,
        operations: [widen('t', 'v', 'bigint')],
        mirrored: ['v'],
        oldWrites: [
          "INSERT INTO t (k1, k2, v) VALUES (4, 'x', 1)",
          "UPDATE t SET v = 99 WHERE k1 = 2 AND k2 = 'é'",
        ],
        newWrites: [`INSERT INTO t (k1, k2, ${shadow('v')}) VALUES (0, 'zz', 2)`],
        finalRows: ["(0, 'zz', 2)", ...final, "(4, 'x', 1)"],
      },
      'k1, k2',
    );
  });

  it('a table whose only key is a unique NOT NULL key', () =>
    runTypeCase(
      {
        prefix: 'my_unique_key',
        columns: 'code varchar(20) NOT NULL, n int NOT NULL, v int, UNIQUE KEY t_code (code, n)',
        finalColumns: 'code varchar(20) NOT NULL, n int NOT NULL, v bigint, UNIQUE KEY t_code (code, n)',
        rows: ["('a', 1, 1)", "('a', 2, 2)", "('b', 1, 3)", "('c', 1, NULL)", "('d', 1, 5)", "('e', 1, 6)"],
        operations: [widen('t', 'v', 'bigint')],
        mirrored: ['v'],
        oldWrites: ["INSERT INTO t (code, n, v) VALUES ('f', 1, 7)", "UPDATE t SET v = 30 WHERE code = 'b'"],
        newWrites: [`INSERT INTO t (code, n, ${shadow('v')}) VALUES ('g', 1, 8)`],
        finalRows: [
          "('a', 1, 1)",
          "('a', 2, 2)",
          "('b', 1, 30)",
          "('c', 1, NULL)",
          "('d', 1, 5)",
          "('e', 1, 6)",
          "('f', 1, 7)",
          "('g', 1, 8)",
        ],
      },
      'code, n',
    ));

  it('a binary(16) primary key with 0x00 and 0xFF bytes', () => {
    const ids = [
      '00000000000000000000000000000000',
      '00FF',
      'FF',
      'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
      '7F80',
      '8000FF00',
      'C3A9',
      'E29C93',
    ];
    const rows = ids.map((h, i) => `(0x${h}, ${i})`);
    return runTypeCase(
      {
        prefix: 'my_binary_key',
        columns: 'id binary(16) PRIMARY KEY, v int',
        finalColumns: 'id binary(16) PRIMARY KEY, v bigint',
        rows,
        operations: [widen('t', 'v', 'bigint')],
        mirrored: ['v'],
        oldWrites: ['INSERT INTO t (id, v) VALUES (0xFE, 100)'],
        newWrites: [`INSERT INTO t (id, ${shadow('v')}) VALUES (0x01, 101)`],
        finalRows: [...rows, '(0xFE, 100)', '(0x01, 101)'],
      },
      'id',
    );
  });
});

describe('MySQL: changes next to generated columns that MariaDB can only make by copying', () => {
  // Both would fail only at COMPLETE, in the contracting phase where ROLLBACK
  // is no longer possible: they are refused at start, nothing applied.
  const refused = async (prefix: string, setup: string, reason: RegExp) => {
    const db = await mysqlMigrationDb(prefix);
    try {
      await db.sql.query(setup);
      const before = await mysqlFingerprint(db.sql);
      const engine = await db.engine();
      await assert.rejects(engine.start(migration(`01_${prefix}`, [widen('t', 'a', 'bigint')])), reason);
      assert.deepEqual(await mysqlFingerprint(db.sql), before, 'nothing applied');
      assert.deepEqual(await mysqlLeftovers(db.sql), []);
    } finally {
      await db.close();
    }
  };

  it('a change of a column a generated column reads', () =>
    refused(
      'my_generated_dep',
      `CREATE TABLE t (id int PRIMARY KEY, a int NULL, g bigint AS (a * 2) VIRTUAL);
       INSERT INTO t (id, a) VALUES (1, 1), (2, 2)`,
      /column "a" of "t" is read by the generated column "g"/,
    ));

  it('a NOT NULL column changed on a table with a STORED generated column', () =>
    refused(
      'my_generated_nn',
      `CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int, s bigint AS (b + 1) STORED);
       INSERT INTO t (id, a, b) VALUES (1, 1, 1), (2, 2, 2)`,
      /column "a" of "t" NOT NULL next to the stored generated column "s".*ALGORITHM=COPY/,
    ));
});

describe('MySQL: a table the backfill cannot walk', () => {
  it('is refused with an error naming the table, and nothing is applied', async () => {
    const db = await mysqlMigrationDb('my_no_key');
    try {
      await db.sql.query(`CREATE TABLE keyless (a int, v int, UNIQUE KEY maybe (a));
                          INSERT INTO keyless VALUES (1, 1), (NULL, 2), (NULL, 3)`);
      const before = await mysqlFingerprint(db.sql);
      const engine = await db.engine();
      await assert.rejects(
        engine.start(migration('01_keyless', [widen('keyless', 'v', 'bigint')])),
        /"keyless".*no primary key/,
      );
      assert.deepEqual(await mysqlFingerprint(db.sql), before, 'nothing applied');
      assert.deepEqual(await mysqlLeftovers(db.sql), []);
      const state = await mysqlRows(
        db.sql,
        'SELECT name FROM shiftgate.migrations WHERE schema_name = DATABASE()',
      ).catch(() => []);
      assert.deepEqual(state, []);
    } finally {
      await db.close();
    }
  });
});
