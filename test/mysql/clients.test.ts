/**
 * Real MySQL clients through Shiftgate against the real MariaDB: mysql2
 * (query, execute, pool, multi-statements, change user), the mariadb
 * connector (pipelining, bulk batch, long data, reset), the mariadb
 * command-line client, and raw commands no driver exposes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { encodePacket } from '../../src/dialects/mysql/messages.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { isEofOrErr, RawMysqlClient } from './raw-client.ts';

const run = promisify(execFile);

describe('mysql clients through Shiftgate', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;

  before(async () => {
    db = await createMysqlDatabase('clients');
    proxy = await startMysqlProxy();
    const direct = await mysql.createConnection(db.url);
    await direct.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(10,2))');
    await direct.query("INSERT INTO items VALUES (1, 'apple', 1.50), (2, 'pear', 2.25), (3, 'plum', NULL)");
    await direct.end();
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  it('mysql2: text queries, multi-statements, prepared statements, transactions, change user', async () => {
    const conn = await mysql.createConnection({
      host: proxy.host,
      port: proxy.port,
      user: 'root',
      database: db.name,
      multipleStatements: true,
    });
    try {
      // The connection id a client sees is the proxy's, not the upstream thread id.
      const [[ids]] = (await conn.query('SELECT CONNECTION_ID() AS upstream')) as unknown as [
        [{ upstream: number }],
      ];
      assert.notEqual(conn.threadId, ids.upstream);
      assert.ok(proxy.proxy.ctx.registry.byCancelKey(String(conn.threadId)));

      const [rows] = await conn.query('SELECT id, name, price FROM items ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, name: 'apple', price: '1.50' },
        { id: 2, name: 'pear', price: '2.25' },
        { id: 3, name: 'plum', price: null },
      ]);

      const [multi] = (await conn.query(
        "SELECT 1 AS a; INSERT INTO items VALUES (4, 'fig', 3); SELECT name FROM items WHERE id = 4; UPDATE items SET price = 4 WHERE id = 4",
      )) as unknown as [unknown[]];
      assert.equal(multi.length, 4);
      assert.deepEqual(multi[0], [{ a: 1 }]);
      assert.equal((multi[1] as mysql.ResultSetHeader).affectedRows, 1);
      assert.deepEqual(multi[2], [{ name: 'fig' }]);
      assert.equal((multi[3] as mysql.ResultSetHeader).changedRows, 1);

      // An error in the middle of a multi-statement ends it with the server's error.
      await assert.rejects(conn.query('SELECT 1; SELECT * FROM no_such_table; SELECT 3'), { errno: 1146 });

      for (let i = 0; i < 3; i++) {
        const [exec] = await conn.execute('SELECT name, price FROM items WHERE id = ? OR name = ?', [
          2,
          'fig',
        ]);
        assert.deepEqual(exec, [
          { name: 'pear', price: '2.25' },
          { name: 'fig', price: '4.00' },
        ]);
      }
      const [ins] = await conn.execute('INSERT INTO items VALUES (?, ?, ?)', [5, 'kiwi', 0.5]);
      assert.equal((ins as mysql.ResultSetHeader).affectedRows, 1);
      await assert.rejects(conn.execute('SELECT * FROM items WHERE nope = ?', [1]), { errno: 1054 });
      conn.unprepare('SELECT name, price FROM items WHERE id = ? OR name = ?');

      await conn.beginTransaction();
      await conn.query('DELETE FROM items');
      const [[inside]] = (await conn.query('SELECT COUNT(*) AS n FROM items')) as unknown as [
        [{ n: number }],
      ];
      assert.equal(inside.n, 0);
      await conn.rollback();
      const [[outside]] = (await conn.query('SELECT COUNT(*) AS n FROM items')) as unknown as [
        [{ n: number }],
      ];
      assert.equal(outside.n, 5);

      await conn.changeUser({ user: 'root', database: 'mysql' });
      const [[current]] = (await conn.query('SELECT DATABASE() AS d, 1 + 1 AS two')) as unknown as [
        [{ d: string; two: number }],
      ];
      assert.deepEqual(current, { d: 'mysql', two: 2 });
      const session = proxy.proxy.ctx.registry.byCancelKey(String(conn.threadId))!;
      assert.equal(session.info.database, 'mysql');
      await conn.query(`USE \`${db.name}\``);
      await conn.ping();
    } finally {
      await conn.end();
    }
  });

  it('mysql2 pool: concurrent sessions each get their own answers', async () => {
    const pool = mysql.createPool({
      host: proxy.host,
      port: proxy.port,
      user: 'root',
      database: db.name,
      connectionLimit: 8,
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 400 }, async (_, i) => {
          const [rows] =
            i % 2
              ? await pool.query('SELECT ? AS v, SLEEP(0) AS s', [i])
              : await pool.execute('SELECT ? AS v', [i]);
          return Number((rows as Array<{ v: number | string }>)[0]!.v);
        }),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 400 }, (_, i) => i),
      );
    } finally {
      await pool.end();
    }
  });

  it('mariadb connector: pipelined queries, bulk batch, long data, reset, change user', async () => {
    const conn = await mariadb.createConnection({
      host: proxy.host,
      port: proxy.port,
      user: 'root',
      database: db.name,
    });
    try {
      const pipelined = await Promise.all([
        conn.query('SELECT 1 AS x'),
        conn.query('SELECT name FROM items WHERE id = ?', [1]),
        conn.execute('SELECT name FROM items WHERE id = ?', [2]),
        conn.query('SELECT 3 AS y'),
      ]);
      assert.deepEqual(
        pipelined.map((r) => ({ ...r[0] })),
        [{ x: 1 }, { name: 'apple' }, { name: 'pear' }, { y: 3 }],
      );

      await conn.query('CREATE TABLE bulk (id INT PRIMARY KEY, label VARCHAR(20))');
      const res = await conn.batch(
        'INSERT INTO bulk VALUES (?, ?)',
        Array.from({ length: 500 }, (_, i) => [i, `label-${i}`]),
      );
      assert.equal((res as { affectedRows: number }).affectedRows, 500);
      const [count] = await conn.query('SELECT COUNT(*) AS n, MAX(label) AS m FROM bulk');
      assert.equal(Number(count.n), 500);

      // A stream parameter is sent with COM_STMT_SEND_LONG_DATA.
      await conn.query('CREATE TABLE docs (id INT PRIMARY KEY, body MEDIUMBLOB)');
      const body = Buffer.alloc(3 * 1024 * 1024, 'shiftgate ');
      await conn.execute('INSERT INTO docs VALUES (?, ?)', [
        1,
        Readable.from([body.subarray(0, 1e6), body.subarray(1e6)]),
      ]);
      const [doc] = await conn.query('SELECT body FROM docs WHERE id = 1');
      assert.ok(Buffer.compare(doc.body, body) === 0);

      await conn.query('SET @marker = 42');
      await conn.reset();
      const [afterReset] = await conn.query('SELECT @marker AS m');
      assert.equal(afterReset.m, null);

      await conn.changeUser({ user: 'root', database: 'mysql' });
      const [who] = await conn.query('SELECT DATABASE() AS d');
      assert.equal(who.d, 'mysql');
    } finally {
      await conn.end();
    }
  });

  it('mariadb command-line client: results, server errors, status', async () => {
    const args = ['--protocol=TCP', '-h', proxy.host, '-P', String(proxy.port), '-u', 'root', db.name];
    const { stdout } = await run('mariadb', [
      ...args,
      '-B',
      '-e',
      'SELECT id, name FROM items WHERE id <= 2 ORDER BY id; SELECT 40 + 2',
    ]);
    assert.equal(stdout, 'id\tname\n1\tapple\n2\tpear\n40 + 2\n42\n');
    await assert.rejects(
      run('mariadb', [...args, '-e', 'SELECT * FROM missing_table']),
      (err: { stderr: string }) => /ERROR 1146 \(42S02\).*missing_table/.test(err.stderr),
    );
    const { stdout: status } = await run('mariadb', [...args, '-e', 'status']);
    assert.match(status, /Connection id:\s+\d+/);
    assert.match(status, /TCP port:\s+\d+/);
  });

  it('raw commands: COM_FIELD_LIST, COM_STATISTICS, COM_INIT_DB, COM_PING, COM_RESET_CONNECTION, COM_STMT_RESET', async () => {
    const c = await RawMysqlClient.connect(proxy.port, 'root', db.name);
    try {
      c.send(0, Buffer.concat([Buffer.from([0x04]), Buffer.from('items\0')]));
      const fields = await c.readUntil(isEofOrErr);
      assert.equal(fields.length, 4, 'three column definitions and an EOF');
      assert.match(fields[0]!.payload.toString('latin1'), /id/);

      c.send(0, Buffer.from([0x09]));
      assert.match((await c.read()).payload.toString(), /^Uptime: \d+/);

      c.send(0, Buffer.concat([Buffer.from([0x02]), Buffer.from('mysql')]));
      assert.equal((await c.read()).payload[0], 0x00);
      c.send(0, Buffer.from([0x0e]));
      assert.equal((await c.read()).payload[0], 0x00);
      c.send(0, Buffer.from([0x1f]));
      assert.equal((await c.read()).payload[0], 0x00);

      // Prepare, send long data, reset, execute: the reset drops the long data.
      c.send(0, Buffer.concat([Buffer.from([0x16]), Buffer.from('SELECT ? AS v')]));
      // COM_STMT_PREPARE_OK, one parameter definition + EOF, one column definition + EOF.
      let eofs = 0;
      const prepared = await c.readUntil(
        (p) => p.payload[0] === 0xfe && p.payload.length < 9 && ++eofs === 2,
      );
      assert.equal(prepared.length, 5);
      const statementId = prepared[0]!.payload.readUInt32LE(1);
      const id = Buffer.alloc(4);
      id.writeUInt32LE(statementId);
      c.send(0, Buffer.concat([Buffer.from([0x18]), id, Buffer.from([0, 0]), Buffer.from('dropped')]));
      c.send(0, Buffer.concat([Buffer.from([0x1a]), id]));
      assert.equal((await c.read()).payload[0], 0x00, 'COM_STMT_RESET answers OK');
      c.send(0, Buffer.concat([Buffer.from([0x19]), id]));
      c.send(0, Buffer.from([0x0e]));
      const pong = await c.read();
      assert.equal(pong.payload[0], 0x00, 'COM_STMT_CLOSE has no response; the ping answer comes next');
      assert.equal(pong.sequenceId, 1);

      // Replication streams are refused by the proxy itself.
      c.send(0, Buffer.concat([Buffer.from([0x12]), Buffer.alloc(10)]));
      const refused = await c.read();
      assert.equal(refused.payload[0], 0xff);
      assert.equal(refused.payload.readUInt16LE(1), 1235);
      c.send(0, Buffer.from([0x0e]));
      assert.equal((await c.read()).payload[0], 0x00);
    } finally {
      c.close();
    }
  });

  it('holds a command pipelined behind the handshake response until the login succeeds', async () => {
    const c = await RawMysqlClient.connect(
      proxy.port,
      'root',
      db.name,
      encodePacket(0, Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT 4242')])),
    );
    try {
      const result = await c.readUntil(isEofOrErr);
      const rows = await c.readUntil(isEofOrErr);
      assert.equal(result[0]!.payload[0], 1, 'one column');
      assert.match(rows[0]!.payload.toString('latin1'), /4242/);
    } finally {
      c.close();
    }
  });

  it('answers KILL of an id the proxy never handed out without touching the upstream', async () => {
    const conn = await mysql.createConnection({ host: proxy.host, port: proxy.port, user: 'root' });
    try {
      await assert.rejects(conn.query('KILL 999999'), { errno: 1094, message: /Unknown thread id: 999999/ });
      // A multi-statement text on a connection without multipleStatements: the server's own syntax error.
      await assert.rejects(conn.query('SELECT 1; KILL 5'), { errno: 1064 });
      const [[row]] = (await conn.query('SELECT 7 AS seven')) as unknown as [[{ seven: number }]];
      assert.equal(row.seven, 7);
    } finally {
      await conn.end();
    }
  });

  it('records statement latency and bytes with the mysql dialect label', async () => {
    const metrics = proxy.proxy.ctx.metrics;
    const before =
      (await metrics.statementDuration.get()).values.find(
        (v) => v.metricName === 'shiftgate_statement_duration_seconds_count' && v.labels.dialect === 'mysql',
      )?.value ?? 0;
    const conn = await mysql.createConnection({
      host: proxy.host,
      port: proxy.port,
      user: 'root',
      multipleStatements: true,
    });
    await conn.query('SELECT SLEEP(0.2)');
    await conn.query('SELECT 1; SELECT 2; SELECT 3');
    await conn.execute('SELECT ?', [1]);
    const session = proxy.proxy.ctx.registry.byCancelKey(String(conn.threadId))!;
    // SLEEP(0.2): its latency is measured up to the end of its response.
    assert.ok((session.info.latency.quantileUs(1) ?? 0) >= 200_000);
    await conn.end();
    const counted = (await metrics.statementDuration.get()).values.find(
      (v) => v.metricName === 'shiftgate_statement_duration_seconds_count' && v.labels.dialect === 'mysql',
    )!.value;
    // SLEEP, the multi-statement (one command, one statement latency), prepare + execute.
    assert.equal(counted - before, 4);
    const sent = (await metrics.clientBytesSent.get()).values.find(
      (v) => v.labels.dialect === 'mysql',
    )!.value;
    const received = (await metrics.clientBytesReceived.get()).values.find(
      (v) => v.labels.dialect === 'mysql',
    )!.value;
    assert.ok(sent > 0 && received > 0);
    assert.ok(proxy.proxy.ctx.latency.quantileMs(0.99, 60) !== null);
  });
});
