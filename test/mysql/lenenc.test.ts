/**
 * OK packets whose affected-rows or last-insert-id need more than 53 bits
 * (the `0xFE`-prefixed 8-byte length-encoded integers) through Shiftgate,
 * with mysql2 (supportBigNumbers / bigNumberStrings) and the mariadb
 * connector against the real MariaDB: each client sees through the proxy
 * exactly the insert ids it sees on a direct connection, and the session
 * lives on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

/** 2^53: the first insert id a double cannot tell from its neighbour. */
const TWO_53 = '9007199254740992';
const U64_MAX = '18446744073709551615';
const U64_MAX_MINUS_1 = '18446744073709551614';
const DIRECT_PORT = 3306;

describe('mysql 64-bit length-encoded integers through Shiftgate', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;

  before(async () => {
    db = await createMysqlDatabase('lenenc');
    proxy = await startMysqlProxy();
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  /** Fresh tables for one run: a signed and an unsigned BIGINT auto-increment key. */
  async function tables(suffix: string): Promise<{ s: string; u: string }> {
    const setup = await mysql.createConnection(db.url);
    const s = `s_${suffix}`;
    const u = `u_${suffix}`;
    await setup.query(`CREATE TABLE ${s} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)`);
    await setup.query(`CREATE TABLE ${u} (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT)`);
    await setup.end();
    return { s, u };
  }

  async function mysql2InsertIds(port: number, suffix: string): Promise<string[]> {
    const { s, u } = await tables(`mysql2_${suffix}`);
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      database: db.name,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    try {
      const ids: string[] = [];
      const run = async (sql: string, params?: (string | number)[], execute = false) => {
        const [res] = execute ? await conn.execute(sql, params) : await conn.query(sql, params);
        ids.push(String((res as mysql.ResultSetHeader).insertId));
      };
      await run(`INSERT INTO ${s} (id, v) VALUES (${TWO_53}, 1)`);
      // The auto-increment counter goes on past 2^53.
      await run(`INSERT INTO ${s} (v) VALUES (2)`);
      await run(`INSERT INTO ${s} (id, v) VALUES (-5, 3)`);
      await run(`INSERT INTO ${u} (id, v) VALUES (${U64_MAX_MINUS_1}, 1)`);
      await run(`INSERT INTO ${u} (id, v) VALUES (?, ?)`, [U64_MAX, 2], true);
      const [[row]] = (await conn.query(`SELECT COUNT(*) AS n FROM ${u}`)) as unknown as [[{ n: string }]];
      ids.push(`count ${row.n}`);
      return ids;
    } finally {
      await conn.end();
    }
  }

  async function mariadbInsertIds(port: number, suffix: string): Promise<string[]> {
    const { s, u } = await tables(`mariadb_${suffix}`);
    const conn = await mariadb.createConnection({ host: '127.0.0.1', port, user: 'root', database: db.name });
    try {
      const ids: string[] = [];
      ids.push(
        String((await conn.query(`INSERT INTO ${u} (id, v) VALUES (${U64_MAX_MINUS_1}, 1)`)).insertId),
      );
      ids.push(
        String((await conn.execute(`INSERT INTO ${u} (id, v) VALUES (?, ?)`, [BigInt(U64_MAX), 2])).insertId),
      );
      ids.push(String((await conn.query(`INSERT INTO ${s} (id, v) VALUES (${TWO_53}, 4)`)).insertId));
      ids.push(String((await conn.query(`INSERT INTO ${s} (v) VALUES (5)`)).insertId));
      ids.push(String((await conn.query(`INSERT INTO ${s} (id, v) VALUES (-7, 6)`)).insertId));
      const rows = await conn.query('SELECT 42 AS n');
      ids.push(`answer ${rows[0].n}`);
      return ids;
    } finally {
      await conn.end();
    }
  }

  it('mysql2 reads insert ids of 2^53, past it, negative and near 2^64-1 as directly; the session stays up', async () => {
    const direct = await mysql2InsertIds(DIRECT_PORT, 'direct');
    assert.equal(direct[0], TWO_53);
    assert.equal(direct[1], '9007199254740993');
    assert.deepEqual(await mysql2InsertIds(proxy.port, 'proxy'), direct);
  });

  it('the mariadb connector reads the same insert ids as directly', async () => {
    const direct = await mariadbInsertIds(DIRECT_PORT, 'direct');
    assert.equal(direct[2], TWO_53);
    assert.deepEqual(await mariadbInsertIds(proxy.port, 'proxy'), direct);
  });
});
