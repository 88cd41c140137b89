/**
 * Real MariaDB clients through the MySQL translator: the `mariadb` npm
 * connector (text protocol, binary protocol, a pool, batch(), big numbers,
 * multi-statement text) and the `mariadb` command-line client, with an old
 * and a new version side by side during a migration (rename_column +
 * add_column with `up`) and the new version after COMPLETE. Each version
 * reads and writes the same rows under its own names and sees the other's
 * writes; `SELECT *` lists exactly its version's columns.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';

const MIGRATION = '01_clients';
/** Beyond 2^53: a JavaScript number would round it. */
const BIG = 9007199254740993n;
const OLD_COLUMNS = ['id', 'name', 'balance'];
const NEW_COLUMNS = ['id', 'full_name', 'balance', 'points'];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('MariaDB clients through the MySQL translator', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let direct: mysql.Connection;
  /** Bound to the old version: the default, the latest completed version. */
  let old: mariadb.Connection;
  /** Bound to the migration's version by a connection attribute. */
  let neu: mariadb.Connection;

  before(async () => {
    db = await createMysqlDatabase('my_translate_clients');
    direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query(`CREATE TABLE users (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL, balance bigint NOT NULL);
                        INSERT INTO users (name, balance) VALUES ('Alice', 10), ('Bob', 20);`);
    const dir = mkdtempSync(join(tmpdir(), 'shiftgate-mysql-clients-'));
    writeFileSync(
      join(dir, `${MIGRATION}.yaml`),
      [
        'operations:',
        '  - rename_column:',
        '      table: users',
        '      from: name',
        '      to: full_name',
        '  - add_column:',
        '      table: users',
        '      column: { name: points, type: bigint, nullable: true }',
        "      up: 'balance * 10'",
      ].join('\n'),
    );
    const config = loadConfig({
      env: {},
      flags: { upstream: db.url, listen: '127.0.0.1:0', migrations: dir, 'admin.users': 'root' },
    });
    sg = await startShiftgate(config, db.url, { http: false });
    const admin = await connect();
    try {
      await admin.query(`SHIFTGATE START '${MIGRATION}'`);
      await waitForPhase(admin, 'active');
    } finally {
      await admin.end();
    }
    old = await connect({ multipleStatements: true });
    neu = await connectNew({ multipleStatements: true });
  });

  after(async () => {
    for (const c of [old, neu]) await c?.end().catch(() => {});
    await sg?.stop();
    await direct?.end();
    await db?.drop();
  });

  const options = (extra: Partial<mariadb.ConnectionConfig> = {}): mariadb.ConnectionConfig => ({
    host: '127.0.0.1',
    port: sg.proxy.address.port,
    user: 'root',
    database: db.name,
    bigIntAsNumber: false,
    insertIdAsNumber: false,
    ...extra,
  });
  const connect = (extra: Partial<mariadb.ConnectionConfig> = {}) => mariadb.createConnection(options(extra));
  /** The proxy learns of the new version a moment after START: retry the bound connect until it does. */
  async function connectNew(extra: Partial<mariadb.ConnectionConfig> = {}): Promise<mariadb.Connection> {
    const deadline = Date.now() + 10000;
    for (;;) {
      try {
        return await connect({ connectAttributes: { shiftgate_version: MIGRATION }, ...extra });
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  async function waitForPhase(conn: mariadb.Connection, phase: string): Promise<void> {
    const deadline = Date.now() + 30000;
    let last = '';
    while (Date.now() < deadline) {
      const rows: { phase?: string }[] = await conn.query('SHOW SHIFTGATE STATUS');
      last = rows[0]?.phase ?? 'none';
      if (last === phase) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`migration did not reach ${phase} (last: ${last})`);
  }
  const names = (rows: { meta?: mariadb.FieldInfo[] }) => (rows.meta ?? []).map((f) => f.name());

  function cli(args: string[], stdin?: string): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'mariadb',
        [
          '-h',
          '127.0.0.1',
          '-P',
          String(sg.proxy.address.port),
          '-u',
          'root',
          '--skip-ssl',
          ...args,
          db.name,
        ],
        { timeout: 30000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (stdin !== undefined) child.stdin!.end(stdin);
    });
  }

  it('connector: old and new versions read and write the same rows, in text and binary protocol', async () => {
    // Text protocol (COM_QUERY): each version's `SELECT *` lists exactly its columns.
    const mine = await neu.query('SELECT * FROM users ORDER BY id');
    assert.deepEqual(names(mine), NEW_COLUMNS);
    assert.deepEqual(
      [...mine],
      [
        { id: 1n, full_name: 'Alice', balance: 10n, points: 100n },
        { id: 2n, full_name: 'Bob', balance: 20n, points: 200n },
      ],
    );
    const theirs = await old.query('SELECT * FROM users ORDER BY id');
    assert.deepEqual(names(theirs), OLD_COLUMNS);
    assert.deepEqual(
      [...theirs].map((r: { name: string }) => r.name),
      ['Alice', 'Bob'],
    );

    // Binary protocol (COM_STMT_PREPARE / EXECUTE): the new version writes, the old one reads it.
    await neu.execute('UPDATE users SET full_name = ?, points = ? WHERE id = ?', ['Alicia', 7n, 1n]);
    const seen = await old.execute('SELECT * FROM users WHERE id = ?', [1n]);
    assert.deepEqual(names(seen), OLD_COLUMNS, "the prepared SELECT *'s column metadata");
    assert.deepEqual([...seen], [{ id: 1n, name: 'Alicia', balance: 10n }]);

    // The old version writes, in both protocols; the new version reads it, `points` filled by `up`.
    const inserted = await old.execute('INSERT INTO users (name, balance) VALUES (?, ?)', ['Carol', 30]);
    assert.equal(typeof inserted.insertId, 'bigint', 'insertIdAsNumber: false');
    const carol = await neu.execute('SELECT * FROM users WHERE id = ?', [inserted.insertId]);
    assert.deepEqual(names(carol), NEW_COLUMNS);
    assert.deepEqual([...carol], [{ id: inserted.insertId, full_name: 'Carol', balance: 30n, points: 300n }]);
    await old.query('UPDATE users SET balance = 40 WHERE name = ?', ['Carol']);
    const recomputed = await neu.query('SELECT full_name, points FROM users WHERE id = ?', [
      inserted.insertId,
    ]);
    assert.deepEqual([...recomputed], [{ full_name: 'Carol', points: 400n }]);
    // The value the new version wrote into its column survives an old-version write of another column.
    await old.execute('UPDATE users SET name = ? WHERE id = ?', ['Alice', 1n]);
    const alice = await neu.execute('SELECT full_name, points FROM users WHERE id = ?', [1n]);
    assert.deepEqual([...alice], [{ full_name: 'Alice', points: 7n }]);

    // Bound by `SET shiftgate.version` instead of a connection attribute.
    const bySet = await connect();
    try {
      await bySet.query(`SET shiftgate.version = '${MIGRATION}'`);
      const rows = await bySet.execute('SELECT * FROM users WHERE id = ?', [2n]);
      assert.deepEqual(names(rows), NEW_COLUMNS);
      assert.equal(rows[0].full_name, 'Bob');
    } finally {
      await bySet.end();
    }

    // The old name is unknown to the new version: MySQL's own error, and the connection goes on.
    await assert.rejects(neu.query('SELECT name FROM users'), { errno: 1054, sqlState: '42S22' });
    // The connector pipelines PREPARE with an EXECUTE naming statement -1: when the proxy refuses
    // the prepare, the execution must not reach the server, to which -1 still names the UPDATE
    // prepared before it (it would run it with these parameters).
    await neu.execute('UPDATE users SET balance = balance + ? WHERE id = ?', [0, 2n]);
    await assert.rejects(neu.execute('SELECT name FROM users WHERE balance = ? AND id = ?', [1000, 2n]), {
      errno: 1054,
    });
    const untouched = await old.query('SELECT balance FROM users WHERE id = 2');
    assert.deepEqual([...untouched], [{ balance: 20n }], 'nothing ran for the refused statement');
    await assert.rejects(old.query('SELECT full_name FROM users'), { errno: 1054 });
    const still = await neu.query('SELECT count(*) AS n FROM users');
    assert.equal(still[0].n, 3n);
  });

  it('connector: a pool of new-version connections and batch() from both versions', async () => {
    const pool = mariadb.createPool({
      ...options(),
      connectionLimit: 4,
      minimumIdle: 4,
      initSql: `SET shiftgate.version = '${MIGRATION}'`,
    });
    try {
      // Concurrent statements spread over the pool's connections, each bound by initSql.
      const reads = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          i % 2 === 0
            ? pool.execute('SELECT full_name, points FROM users WHERE id = ?', [2n])
            : pool.query('SELECT full_name, points FROM users WHERE id = 2'),
        ),
      );
      for (const rows of reads) assert.deepEqual([...rows], [{ full_name: 'Bob', points: 200n }]);
      assert.ok(pool.totalConnections() > 1, `the pool opened ${pool.totalConnections()} connections`);

      // batch(): MariaDB's bulk execute (COM_STMT_BULK_EXECUTE) of a translated INSERT.
      const batched = await pool.batch('INSERT INTO users (full_name, balance, points) VALUES (?, ?, ?)', [
        ['Dan', 50, 1],
        ['Eve', 60, 2],
      ]);
      assert.equal((batched as mariadb.UpsertResult).affectedRows, 2);
      const rows = await old.query(
        "SELECT name, balance FROM users WHERE name IN ('Dan', 'Eve') ORDER BY name",
      );
      assert.deepEqual(
        [...rows],
        [
          { name: 'Dan', balance: 50n },
          { name: 'Eve', balance: 60n },
        ],
      );
      // From the old version: its names, and the sync trigger fills the new version's column.
      await old.batch('UPDATE users SET balance = ? WHERE name = ?', [
        [51, 'Dan'],
        [61, 'Eve'],
      ]);
      const after = await pool.query(
        "SELECT full_name, points FROM users WHERE full_name IN ('Dan', 'Eve') ORDER BY 1",
      );
      assert.deepEqual(
        [...after],
        [
          { full_name: 'Dan', points: 510n },
          { full_name: 'Eve', points: 610n },
        ],
      );
    } finally {
      await pool.end();
    }
  });

  it('connector: BIGINT beyond 2^53 and multi-statement text mixing translated statements', async () => {
    const results = await neu.query(
      `INSERT INTO users (full_name, balance, points) VALUES ('Big', ${BIG}, ${BIG});
       SELECT * FROM users WHERE full_name = 'Big';
       UPDATE users SET full_name = 'Bigger' WHERE full_name = 'Big';
       SELECT full_name, points FROM users WHERE balance = ${BIG}`,
    );
    assert.equal(results.length, 4);
    const [insert, star, update, last] = results;
    assert.equal(typeof insert.insertId, 'bigint');
    assert.deepEqual(names(star), NEW_COLUMNS);
    assert.deepEqual([...star], [{ id: insert.insertId, full_name: 'Big', balance: BIG, points: BIG }]);
    assert.equal(update.affectedRows, 1);
    assert.deepEqual([...last], [{ full_name: 'Bigger', points: BIG }]);

    // The old version, binary protocol, a BigInt parameter: exact, under its own name.
    const exact = await old.execute('SELECT name, balance FROM users WHERE balance = ?', [BIG]);
    assert.deepEqual([...exact], [{ name: 'Bigger', balance: BIG }]);
    // Its own multi-statement text; the trigger computes `up` on the new version's column.
    const [, mineNow] = await old.query(
      `UPDATE users SET balance = balance + 1 WHERE name = 'Bigger'; SELECT * FROM users WHERE name = 'Bigger'`,
    );
    assert.deepEqual(names(mineNow), OLD_COLUMNS);
    assert.equal(mineNow[0].balance, BIG + 1n);
    const points = await neu.execute('SELECT points FROM users WHERE full_name = ?', ['Bigger']);
    assert.equal(points[0].points, (BIG + 1n) * 10n);
  });

  it('the mariadb command-line client: its version bound by SET, refusals on stderr with an error code', async () => {
    const bound = await cli([
      '-e',
      `SET shiftgate.version = '${MIGRATION}'; SELECT full_name, points FROM users WHERE id = 2`,
    ]);
    assert.equal(bound.code, 0, bound.stderr);
    assert.equal(bound.stdout, 'full_name\tpoints\nBob\t200\n');
    const unbound = await cli(['-e', 'SELECT * FROM users WHERE id = 2']);
    assert.equal(unbound.code, 0, unbound.stderr);
    assert.equal(unbound.stdout, 'id\tname\tbalance\n2\tBob\t20\n');

    // A script over stdin: the statements before the refusal ran, the rest did not.
    const script = [
      `SET shiftgate.version = '${MIGRATION}';`,
      "UPDATE users SET full_name = 'Robert' WHERE id = 2;",
      'SELECT * FROM users WHERE id = 2;',
      'SELECT * FROM users NATURAL JOIN users AS u2;',
      "SELECT 'not reached';",
      '',
    ].join('\n');
    const stopped = await cli(['--batch'], script);
    assert.notEqual(stopped.code, 0);
    assert.equal(stopped.stdout, 'id\tfull_name\tbalance\tpoints\n2\tRobert\t20\t200\n');
    assert.match(
      stopped.stderr,
      /ERROR 1235 \(42000\) at line 4: .*NATURAL JOIN.*schema version "01_clients"/,
    );
    const theirs = await old.execute('SELECT name FROM users WHERE id = ?', [2n]);
    assert.deepEqual([...theirs], [{ name: 'Robert' }], "the old version reads the CLI's write");

    // With --force the session goes on after the refusal.
    const forced = await cli(
      ['--batch', '--force'],
      script.replace("'not reached'", 'full_name FROM users WHERE id = 1'),
    );
    assert.match(forced.stderr, /ERROR 1235 \(42000\) at line 4/);
    assert.match(forced.stdout, /full_name\nAlice\n$/);
  });

  it('after COMPLETE the new version goes on: connector and command-line client', async () => {
    const admin = await connect();
    try {
      await admin.query('SHIFTGATE COMPLETE FORCE');
      await waitForPhase(admin, 'none');
    } finally {
      await admin.end();
    }
    const rows = await neu.query('SELECT * FROM users WHERE id = 1');
    assert.deepEqual(names(rows), NEW_COLUMNS);
    assert.deepEqual([...rows], [{ id: 1n, full_name: 'Alice', balance: 10n, points: 7n }]);
    await neu.query('UPDATE users SET points = points + 1 WHERE full_name = ?', ['Alice']);

    // A statement the connector prepared during the migration, still in its prepare cache: the
    // proxy prepares the completed schema's text in its place and runs the execution there (the
    // connector would not re-prepare on ER_NEED_REPREPARE). Twice, to run on the mapped id too.
    for (const points of [8n, 8n]) {
      const cached = await neu.execute('SELECT * FROM users WHERE id = ?', [1n]);
      assert.deepEqual(names(cached), NEW_COLUMNS);
      assert.deepEqual([...cached], [{ id: 1n, full_name: 'Alice', balance: 10n, points }]);
    }
    // A statement prepared now runs on the completed schema; the connector pipelines its
    // PREPARE with an EXECUTE naming statement -1, "the one prepared last" (the client's, not
    // the one the proxy prepared just before).
    const fresh = await neu.execute('SELECT * FROM users WHERE id = ? AND balance >= 0', [1n]);
    assert.deepEqual(names(fresh), NEW_COLUMNS);
    assert.deepEqual([...fresh], [{ id: 1n, full_name: 'Alice', balance: 10n, points: 8n }]);
    const write = await neu.execute('UPDATE users SET points = points + ? WHERE full_name = ?', [
      1n,
      'Alice',
    ]);
    assert.equal((write as mariadb.UpsertResult).affectedRows, 1);
    await neu.query('UPDATE users SET points = points - 1 WHERE id = 1');
    const reconnected = await connectNew();
    try {
      const again = await reconnected.execute('SELECT * FROM users WHERE id = ?', [1n]);
      assert.deepEqual([...again], [{ id: 1n, full_name: 'Alice', balance: 10n, points: 8n }]);
      const batched = await reconnected.batch('INSERT INTO users (full_name, balance) VALUES (?, ?)', [
        ['Fay', 1],
        ['Gus', 2],
      ]);
      assert.equal((batched as mariadb.UpsertResult).affectedRows, 2);
    } finally {
      await reconnected.end();
    }

    const cliRows = await cli([
      '-e',
      `SET shiftgate.version = '${MIGRATION}'; SELECT * FROM users WHERE id = 2`,
    ]);
    assert.equal(cliRows.code, 0, cliRows.stderr);
    assert.equal(cliRows.stdout, 'id\tfull_name\tbalance\tpoints\n2\tRobert\t20\t200\n');
  });
});
