/**
 * The MySQL translator behind a running proxy: during a
 * rename_column, a session bound to the new version and one on the old
 * version read and write the same rows, each under its own names, through
 * mysql2's text protocol (COM_QUERY) and binary protocol (COM_STMT_PREPARE
 * and EXECUTE); `SELECT *` column metadata lists the session's version's
 * columns; a refusal is a MySQL error and the session goes on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';

const NAME = '02_full_name';
const AGE = '03_age_bigint';

describe('MySQL translation through the proxy', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let direct: mysql.Connection;

  before(async () => {
    db = await createMysqlDatabase('my_translate_proxy');
    direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query(`CREATE TABLE users (id int PRIMARY KEY, name varchar(50) NOT NULL, age int);
                        INSERT INTO users VALUES (1, 'Alice', 31), (2, 'Bob', 17);`);
    const dir = mkdtempSync(join(tmpdir(), 'shiftgate-mysql-translate-'));
    writeFileSync(
      join(dir, `${NAME}.yaml`),
      [
        'operations:',
        '  - rename_column:',
        '      table: users',
        '      from: name',
        '      to: full_name',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, `${AGE}.yaml`),
      [
        'operations:',
        '  - alter_column:',
        '      table: users',
        '      column: age',
        '      type: bigint',
        "      up: 'age'",
        "      down: 'age'",
      ].join('\n'),
    );
    const config = loadConfig({
      env: {},
      flags: { upstream: db.url, listen: '127.0.0.1:0', migrations: dir, 'admin.users': 'root' },
    });
    sg = await startShiftgate(config, db.url, { http: false });
  });

  after(async () => {
    await sg?.stop();
    await direct?.end();
    await db?.drop();
  });

  const connect = (options: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: sg.proxy.address.port,
      user: 'root',
      database: db.name,
      ...options,
    });

  async function waitForPhase(conn: mysql.Connection, phase: string): Promise<void> {
    const deadline = Date.now() + 30000;
    let last = '';
    while (Date.now() < deadline) {
      const [rows] = (await conn.query('SHOW SHIFTGATE STATUS')) as unknown as [{ phase: string }[]];
      last = rows[0]?.phase ?? 'none';
      if (last === phase) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`migration did not reach ${phase} (last: ${last})`);
  }

  it('old and new sessions side by side, in text and binary protocol', async () => {
    const admin = await connect();
    const old = await connect();
    let neu: mysql.Connection | null = null;
    try {
      await admin.query(`SHIFTGATE START '${NAME}'`);
      await waitForPhase(admin, 'active');
      // Bound at connect (connection attribute), once the proxy's version map has the new version.
      const deadline = Date.now() + 10000;
      while (neu === null) {
        try {
          neu = await connect({ connectAttributes: { shiftgate_version: NAME } });
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }

      // Text protocol, each version under its own names.
      const [newRows, newFields] = await neu.query('SELECT * FROM users ORDER BY id');
      assert.deepEqual(
        (newFields as mysql.FieldPacket[]).map((f) => f.name),
        ['id', 'full_name', 'age'],
      );
      assert.deepEqual(
        (newRows as { full_name: string }[]).map((r) => r.full_name),
        ['Alice', 'Bob'],
      );
      const [oldRows] = await old.query('SELECT name FROM users WHERE id = 2');
      assert.deepEqual(oldRows, [{ name: 'Bob' }]);

      // Binary protocol: COM_STMT_PREPARE carries the rewritten text, parameters stay in place.
      await neu.execute('UPDATE users SET full_name = ? WHERE id = ?', ['Bobby', 2]);
      const [seen] = await old.execute('SELECT name FROM users WHERE id = ?', [2]);
      assert.deepEqual(seen, [{ name: 'Bobby' }], "the old version reads the new version's write");
      await old.execute('INSERT INTO users (id, name, age) VALUES (?, ?, ?)', [3, 'Carol', 40]);
      const [mine, fields] = await neu.execute('SELECT * FROM users WHERE id = ?', [3]);
      assert.deepEqual(
        (fields as mysql.FieldPacket[]).map((f) => f.name),
        ['id', 'full_name', 'age'],
        "the prepared SELECT *'s column metadata lists the version's columns",
      );
      assert.deepEqual(mine, [{ id: 3, full_name: 'Carol', age: 40 }]);
      // The same prepared text executed again (mysql2 caches the statement id).
      const [again] = await neu.execute('SELECT * FROM users WHERE id = ?', [1]);
      assert.deepEqual(again, [{ id: 1, full_name: 'Alice', age: 31 }]);

      // UPDATE ... JOIN, the multi-table form the parser reads only in pieces, in both protocols.
      await neu.execute(
        'UPDATE users u JOIN users o ON o.id = ? SET u.full_name = CONCAT(o.full_name, ?) WHERE u.id = ?',
        [1, '+', 3],
      );
      await old.query(
        'UPDATE users u INNER JOIN users o ON o.id = 2 SET u.name = o.name, u.age = 41 WHERE u.id = 1',
      );
      const [joined] = await neu.query('SELECT id, full_name, age FROM users WHERE id IN (1, 3) ORDER BY id');
      assert.deepEqual(joined, [
        { id: 1, full_name: 'Bobby', age: 41 },
        { id: 3, full_name: 'Alice+', age: 40 },
      ]);
      await old.query("UPDATE users SET name = 'Alice', age = 31 WHERE id = 1");

      // A refusal is a MySQL error; the session goes on.
      await assert.rejects(
        neu.query('SELECT name FROM users'),
        (e: { errno?: number; sqlState?: string; message: string }) => {
          assert.equal(e.errno, 1054);
          assert.equal(e.sqlState, '42S22', 'the MySQL SQLSTATE of an unknown column');
          return true;
        },
      );
      await assert.rejects(neu.execute('SELECT * FROM users NATURAL JOIN users AS u2'), {
        errno: 1235,
        sqlState: '42000',
      });
      // shiftgate_translations_total counts each statement the translator looked at, by result.
      const counted = Object.fromEntries(
        (await sg.proxy.ctx.metrics.translations.get()).values.map((v) => [v.labels.result, v.value]),
      );
      assert.ok(counted.rewritten! >= 3, JSON.stringify(counted));
      assert.ok(counted.passthrough! >= 1, JSON.stringify(counted));
      assert.equal(counted.refused, 2, JSON.stringify(counted));
      const [[after]] = (await neu.query('SELECT full_name FROM users WHERE id = 1')) as unknown as [
        [{ full_name: string }],
      ];
      assert.equal(after.full_name, 'Alice');

      // USE follows the server: another database's `users` is not the migrating one.
      await direct.query(`CREATE DATABASE IF NOT EXISTS \`${db.name}_other\``);
      await direct.query(`CREATE TABLE \`${db.name}_other\`.users (id int, full_name varchar(9))`);
      try {
        await neu.query(`USE \`${db.name}_other\``);
        const [other] = await neu.query('SELECT full_name FROM users');
        assert.deepEqual(other, [], "the other database's table, untranslated");
        await neu.query(`USE \`${db.name}\``);
        const [back] = await neu.query('SELECT full_name FROM users WHERE id = 1');
        assert.deepEqual(back, [{ full_name: 'Alice' }]);
      } finally {
        await direct.query(`DROP DATABASE \`${db.name}_other\``);
      }

      // After a sql_mode change the proxy cannot tell what "x" is: it refuses rather than guess.
      await neu.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')");
      await assert.rejects(neu.query('SELECT "full_name" FROM users'), { errno: 1235 });
      const [[unquoted]] = (await neu.query('SELECT `full_name` FROM users WHERE id = 1')) as unknown as [
        [{ full_name: string }],
      ];
      assert.equal(unquoted.full_name, 'Alice');

      await admin.query('SHIFTGATE ROLLBACK');
      await waitForPhase(admin, 'none');
    } finally {
      for (const c of [admin, old, neu]) await c?.end().catch(() => {});
    }
  });

  it('prepared statements: one opened before START runs after it, one opened during the migration is re-prepared after COMPLETE', async () => {
    const admin = await connect();
    const old = await connect();
    let neu: mysql.Connection | null = null;
    let zipped: mysql.Connection | null = null;
    const star = 'SELECT * FROM users WHERE id = ?';
    try {
      // Opened on the old version before START: its translation does not change, it keeps running.
      const [before] = await old.execute(star, [1]);
      assert.deepEqual(Object.keys((before as object[])[0]!), ['id', 'name', 'age']);
      await admin.query(`SHIFTGATE START '${NAME}'`);
      await waitForPhase(admin, 'active');
      const [during, fields] = await old.execute(star, [1]);
      assert.deepEqual(
        (fields as mysql.FieldPacket[]).map((f) => f.name),
        ['id', 'name', 'age'],
      );
      assert.equal((during as { name: string }[])[0]?.name, 'Alice');

      const deadline = Date.now() + 10000;
      while (neu === null) {
        try {
          neu = await connect({ connectAttributes: { shiftgate_version: NAME } });
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // Opened during the migration on the new version: prepared as its translation.
      const [mine] = await neu.execute(star, [1]);
      assert.deepEqual(mine, [{ id: 1, full_name: 'Alice', age: 31 }]);
      // The same over the compressed protocol, where the proxy's own prepare must leave no trace.
      const z = await connect({ connectAttributes: { shiftgate_version: NAME }, compress: true });
      zipped = z;
      const [zippedRows] = await z.execute(star, [2]);
      assert.deepEqual(zippedRows, [{ id: 2, full_name: 'Bobby', age: 17 }]);

      await admin.query('SHIFTGATE COMPLETE FORCE');
      await waitForPhase(admin, 'none');
      for (const id of [2, 1]) {
        const [rows, zippedFields] = await z.execute(star, [id]);
        assert.deepEqual(
          (zippedFields as mysql.FieldPacket[]).map((f) => f.name),
          ['id', 'full_name', 'age'],
        );
        assert.equal((rows as { id: number }[])[0]?.id, id, 'compressed, after COMPLETE');
      }
      const [[ping]] = (await z.query('SELECT 1 AS one')) as unknown as [[{ one: number }]];
      assert.equal(ping.one, 1, 'the compressed session goes on');
      // The server would re-prepare the translated text on the renamed column: the proxy
      // prepares the completed schema's text in its place; the client's statement id stays.
      const [again, againFields] = await neu.execute(star, [1]);
      assert.deepEqual(
        (againFields as mysql.FieldPacket[]).map((f) => f.name),
        ['id', 'full_name', 'age'],
      );
      assert.deepEqual(again, [{ id: 1, full_name: 'Alice', age: 31 }]);

      // Opened before an alter_column's START: the server would re-prepare it on a table that
      // now has the shadow column, and `*` would show it. Prepared again by the proxy: the version's columns.
      const [plain] = await neu.execute(star, [2]);
      assert.deepEqual(Object.keys((plain as object[])[0]!), ['id', 'full_name', 'age']);
      await admin.query(`SHIFTGATE START '${AGE}'`);
      await waitForPhase(admin, 'active');
      const [fresh, freshFields] = await neu.execute(star, [2]);
      assert.deepEqual(
        (freshFields as mysql.FieldPacket[]).map((f) => f.name),
        ['id', 'full_name', 'age'],
      );
      assert.equal((fresh as { full_name: string }[])[0]?.full_name, 'Bobby', 'written by the first test');
      await admin.query('SHIFTGATE ROLLBACK');
      await waitForPhase(admin, 'none');
      // Once more after ROLLBACK, from the statement the proxy prepared; then closed through the
      // client's id (the server's statement behind it goes) and prepared anew.
      const [back, backFields] = await neu.execute(star, [2]);
      assert.deepEqual(
        (backFields as mysql.FieldPacket[]).map((f) => f.name),
        ['id', 'full_name', 'age'],
      );
      assert.deepEqual(back, [{ id: 2, full_name: 'Bobby', age: 17 }]);
      neu.unprepare(star);
      const [reopened] = await neu.execute(star, [1]);
      assert.deepEqual(reopened, [{ id: 1, full_name: 'Alice', age: 31 }]);
    } finally {
      for (const c of [admin, old, neu, zipped]) await c?.end().catch(() => {});
    }
  });
});
