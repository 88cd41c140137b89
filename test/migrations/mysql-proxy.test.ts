/**
 * Migrations through the MySQL proxy: SHIFTGATE START runs the MySQL
 * driver, the phase shows in SHOW SHIFTGATE STATUS, a session bound with
 * SET shiftgate.version has `@shiftgate_version` set on its upstream
 * connection (so the sync triggers know its writes), a session that
 * says nothing writes as the old version, and ROLLBACK / COMPLETE finish.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { connectMigrationEngine } from '../../src/dialects/index.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { migration } from './helpers/db.ts';
import { mysqlColumns, mysqlRows } from './helpers/mysql-db.ts';

const NAME = '02_price_cents';
const SHADOW = '_shiftgate_new_price';

describe('migrations through the MySQL proxy', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let direct: mysql.Connection;

  before(async () => {
    db = await createMysqlDatabase('my_proxy');
    direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query(`CREATE TABLE products (id int PRIMARY KEY, price int NOT NULL);
                        INSERT INTO products VALUES (1, 10), (2, 20), (3, 30);`);
    const dir = mkdtempSync(join(tmpdir(), 'shiftgate-mysql-migrations-'));
    writeFileSync(
      join(dir, `${NAME}.yaml`),
      [
        'operations:',
        '  - alter_column:',
        '      table: products',
        '      column: price',
        '      type: bigint',
        "      up: 'price * 100'",
        "      down: 'price DIV 100'",
      ].join('\n'),
    );
    const config = loadConfig({
      env: {},
      flags: { upstream: db.url, listen: '127.0.0.1:0', migrations: dir, 'admin.users': 'root' },
    });
    sg = await startShiftgate(config, db.url, { http: false });
  });

  after(async () => {
    await sg.stop();
    await direct.end();
    await db.drop();
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

  it('START, writes of both versions, ROLLBACK, START again, COMPLETE', async () => {
    const admin = await connect();
    try {
      await admin.query(`SHIFTGATE START '${NAME}'`);
      await waitForPhase(admin, 'active');
      assert.deepEqual(await mysqlColumns(direct, 'products'), ['id', 'price', SHADOW]);

      // Bound at connect through the connection attribute, and by SET: both reach the server.
      const byAttribute = await connect({ connectAttributes: { shiftgate_version: NAME } });
      const bySet = await connect();
      await bySet.query(`SET shiftgate.version = '${NAME}'`);
      const plain = await connect();
      // A prepared SET (COM_STMT_EXECUTE) reaches the server as the same assignment.
      const byExecute = await connect();
      await byExecute.execute(`SET shiftgate.version = '${NAME}'`);
      for (const c of [byAttribute, bySet, byExecute]) {
        const [[row]] = (await c.query('SELECT @shiftgate_version AS v')) as unknown as [[{ v: string }]];
        assert.equal(row.v, NAME);
      }
      const [[none]] = (await plain.query('SELECT @shiftgate_version AS v')) as unknown as [
        [{ v: string | null }],
      ];
      assert.notEqual(none.v, NAME, 'a session that says nothing is not the new version');

      // The new version writes `price` under its own name: the proxy sends it to the shadow column.
      await bySet.query('UPDATE products SET price = 4400 WHERE id = 1');
      await plain.query('UPDATE products SET price = 25 WHERE id = 2');
      const got = await mysqlRows(
        direct,
        `SELECT id, price, CAST(${SHADOW} AS SIGNED) AS s FROM products ORDER BY id`,
      );
      assert.deepEqual(
        got.map((r) => [r.id, r.price, Number(r.s)]),
        [
          [1, 44, 4400],
          [2, 25, 2500],
          [3, 30, 3000],
        ],
      );
      // RESET CONNECTION clears user variables: the proxy sets the version again.
      await bySet.reset();
      const [[again]] = (await bySet.query('SELECT @shiftgate_version AS v')) as unknown as [[{ v: string }]];
      assert.equal(again.v, NAME);
      // Back to the default binding: the server's variable follows.
      await byExecute.query('SET shiftgate.version = DEFAULT');
      const [[reset]] = (await byExecute.query('SELECT @shiftgate_version AS v')) as unknown as [
        [{ v: string | null }],
      ];
      assert.notEqual(reset.v, NAME);
      for (const c of [byAttribute, bySet, byExecute, plain]) await c.end();

      await admin.query('SHIFTGATE ROLLBACK');
      await waitForPhase(admin, 'none');
      assert.deepEqual(await mysqlColumns(direct, 'products'), ['id', 'price']);

      await admin.query(`SHIFTGATE START '${NAME}'`);
      await waitForPhase(admin, 'active');
      await admin.query('SHIFTGATE COMPLETE FORCE');
      await waitForPhase(admin, 'none');
      const final = await mysqlRows(
        direct,
        `SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'products' AND COLUMN_NAME = 'price'`,
      );
      assert.deepEqual(final, [{ t: 'bigint(20)' }]);
      const [history] = (await admin.query('SHOW SHIFTGATE MIGRATIONS')) as unknown as [
        { name: string; phase: string }[],
      ];
      assert.equal(history.at(-1)?.phase, 'completed');
    } finally {
      await admin.end();
    }
  });

  it('refuses client statements that set @shiftgate_version or @shiftgate_backfill, in any spelling, and the session goes on', async () => {
    const conn = await connect({ multipleStatements: true });
    try {
      const attempts: [sql: string, variable: string][] = [
        ...[
          "SET @shiftgate_version = 'x'",
          "SELECT @shiftgate_version := 'x'",
          'SET @`ShiftGate_Version` = 1',
          "SELECT 1 INTO @'shiftgate_version'",
          "SELECT 1; SET @shiftgate_version = 'x'",
          "SET @a = 1, @shiftgate_version = 'x'",
        ].map((sql): [string, string] => [sql, '@shiftgate_version']),
        // The backfill's mark: a client setting it would skip the sync triggers' assignments and NOT NULL checks.
        ...[
          'SET @shiftgate_backfill = CONNECTION_ID()',
          'SELECT CONNECTION_ID() INTO @`Shiftgate_Backfill`',
        ].map((sql): [string, string] => [sql, '@shiftgate_backfill']),
      ];
      for (const [sql, variable] of attempts) {
        await assert.rejects(conn.query(sql), (e: { errno?: number; message: string }) => {
          assert.equal(e.errno, 1227, sql);
          assert.ok(e.message.startsWith(`${variable} is Shiftgate's own variable`), e.message);
          return true;
        });
      }
      await assert.rejects(conn.execute('SELECT @shiftgate_version := ?', ['x']), { errno: 1227 });
      const [rows] = (await conn.query(
        'SET @shiftgate_versions = 2; SELECT @shiftgate_versions AS v',
      )) as unknown as [unknown[]];
      assert.deepEqual(
        rows[1],
        [{ v: 2 }],
        "another variable whose name starts the same is the client's own",
      );
    } finally {
      await conn.end();
    }
  });

  it('follows a migration another runner started (by polling the state tables): sessions can bind to it', async () => {
    const engine = await connectMigrationEngine({ url: db.url });
    const conn = await connect();
    try {
      await engine.start(
        migration('03_note', [
          {
            add_column: { table: 'products', column: { name: 'note', type: 'varchar(10)', nullable: true } },
          },
        ]),
      );
      const deadline = Date.now() + 5000;
      let bound = false;
      while (!bound && Date.now() < deadline) {
        bound = await conn.query("SET shiftgate.version = '03_note'").then(
          () => true,
          () => false,
        );
        if (!bound) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(bound, 'the proxy learned of the new version');
      const [[row]] = (await conn.query('SELECT @shiftgate_version AS v')) as unknown as [[{ v: string }]];
      assert.equal(row.v, '03_note');
      await engine.rollback();
    } finally {
      await conn.end();
      await engine.close();
    }
  });
});
