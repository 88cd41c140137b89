/**
 * KILL inside a multi-statement COM_QUERY through Shiftgate (mysql2 with
 * multipleStatements, on a connection and on a pool): a proxy connection
 * id is mapped to its upstream thread in every statement of the text, with
 * KILL QUERY / KILL CONNECTION, comments and odd spacing; server thread
 * ids go upstream unchanged; the statements around the KILL run as usual.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { alive } from './connection-probes.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mysql KILL inside multi-statement text through Shiftgate', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;

  before(async () => {
    db = await createMysqlDatabase('killmulti');
    proxy = await startMysqlProxy();
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  const options = () => ({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'root',
    database: db.name,
    multipleStatements: true,
  });
  const connect = () => mysql.createConnection(options());

  /** A statement the victim runs until it is killed: 'killed' when it stopped early. */
  function sleeper(victim: mysql.Connection): Promise<string> {
    const started = Date.now();
    return victim.query('SELECT SLEEP(10) AS s').then(
      ([rows]) => (Date.now() - started < 5000 ? 'killed' : `ran ${JSON.stringify(rows)}`),
      (err: { errno?: number }) => (Date.now() - started < 5000 ? 'killed' : `error ${err.errno}`),
    );
  }

  it('KILL QUERY <proxy id>; SELECT SLEEP(0.05) stops the victim statement and runs the rest', async () => {
    const victim = await connect();
    const killer = await connect();
    try {
      const running = sleeper(victim);
      await sleep(300);
      const [results] = (await killer.query(
        `KILL QUERY ${victim.threadId}; SELECT SLEEP(0.05) AS s`,
      )) as unknown as [unknown[]];
      assert.equal(results.length, 2, 'two results: the KILL OK and the SELECT');
      assert.deepEqual(results[1], [{ s: 0 }]);
      assert.equal(await running, 'killed');
      assert.equal(await alive(victim), true, 'KILL QUERY leaves the connection');
    } finally {
      await victim.end();
      await killer.end();
    }
  });

  it('KILL CONNECTION after other statements, with comments and odd spacing', async () => {
    const victim = await connect();
    victim.on('error', () => undefined);
    const bystander = await connect();
    const killer = await connect();
    try {
      const [results] = (await killer.query(
        `SELECT 1 AS a ;\n  /* who */ kill\tconnection /* it */\n ${victim.threadId}  -- bye\n; SELECT 'KILL ${bystander.threadId}' AS b`,
      )) as unknown as [unknown[]];
      assert.equal(results.length, 3);
      assert.deepEqual(results[2], [{ b: `KILL ${bystander.threadId}` }]);
      assert.equal(await alive(victim), false, 'the named proxy session is gone');
      assert.equal(await alive(bystander), true, 'a KILL inside a string kills nothing');
      assert.equal(await alive(killer), true);
    } finally {
      victim.destroy();
      await bystander.end();
      await killer.end();
    }
  });

  it('two KILLs of proxy ids and one of a server thread id in one text', async () => {
    const a = await connect();
    const b = await connect();
    const direct = await mysql.createConnection(MYSQL_URL);
    for (const c of [a, b, direct]) c.on('error', () => undefined);
    const killer = await connect();
    try {
      await killer.query(`KILL ${a.threadId};KILL CONNECTION ${direct.threadId}; KILL   ${b.threadId};`);
      assert.equal(await alive(a), false);
      assert.equal(await alive(b), false);
      assert.equal(await alive(direct), false, 'the server thread id reached the server unchanged');
      assert.equal(await alive(killer), true);
    } finally {
      for (const c of [a, b, direct]) c.destroy();
      await killer.end();
    }
  });

  it('an unknown proxy id in a multi-statement text gets the server\'s "Unknown thread id" for that statement', async () => {
    const conn = await connect();
    try {
      await conn.query('CREATE TABLE IF NOT EXISTS t (n INT)');
      await assert.rejects(
        conn.query('INSERT INTO t VALUES (1); KILL 4294967000; INSERT INTO t VALUES (2)'),
        {
          errno: 1094,
          message: /Unknown thread id: 4294967000/,
        },
      );
      const [rows] = await conn.query('SELECT n FROM t ORDER BY n');
      assert.deepEqual(rows, [{ n: 1 }], 'the statement before the KILL ran, the one after did not');
    } finally {
      await conn.end();
    }
  });

  it('through a pool: KILL QUERY <proxy id of a pooled connection>; SELECT SLEEP(0.05)', async () => {
    const pool = mysql.createPool({ ...options(), connectionLimit: 2 });
    try {
      const victim = await pool.getConnection();
      const running = sleeper(victim);
      await sleep(300);
      const [results] = (await pool.query(
        `KILL QUERY ${victim.threadId}; SELECT SLEEP(0.05) AS s`,
      )) as unknown as [unknown[]];
      assert.deepEqual(results[1], [{ s: 0 }]);
      assert.equal(await running, 'killed');
      victim.release();
      const [[row]] = (await pool.query('SELECT 7 AS n')) as unknown as [[{ n: number }]];
      assert.equal(row.n, 7);
    } finally {
      await pool.end();
    }
  });
});
