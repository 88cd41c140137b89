/**
 * Big traffic through Shiftgate: a 20 MB blob stored with LOAD DATA LOCAL
 * INFILE and read back as one row (a payload split across 16 MB packets),
 * a client packet over 16 MB, and LOAD DATA LOCAL from mysql2 and the
 * mariadb command-line client.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

const run = promisify(execFile);
const BLOB_BYTES = 20 * 1024 * 1024;

describe('mysql large packets and LOAD DATA LOCAL INFILE through Shiftgate', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;
  let dir: string;

  before(async () => {
    db = await createMysqlDatabase('large');
    proxy = await startMysqlProxy();
    dir = mkdtempSync(join(tmpdir(), 'shiftgate-mysql-'));
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = () =>
    mysql.createConnection({
      host: proxy.host,
      port: proxy.port,
      user: 'root',
      database: db.name,
      infileStreamFactory: (path: string) => createReadStream(path),
    });

  it('round-trips a 20 MB blob in both protocols', async () => {
    // The server's max_allowed_packet is 16 MB here, so the blob goes up through LOAD DATA LOCAL
    // (many packets) and comes back as a single row that the server splits into 16 MB packets.
    const blob = Buffer.alloc(BLOB_BYTES);
    for (let i = 0; i < blob.length; i++) blob[i] = 97 + ((i * 7 + (i >> 12)) % 26);
    const file = join(dir, 'blob.tsv');
    writeFileSync(file, Buffer.concat([Buffer.from('1\t'), blob, Buffer.from('\n')]));
    const conn = await connect();
    try {
      await conn.query('CREATE TABLE blobs (id INT PRIMARY KEY, body LONGBLOB)');
      const [load] = await conn.query({
        sql: `LOAD DATA LOCAL INFILE ? INTO TABLE blobs FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' (id, body)`,
        values: [file],
      });
      assert.equal((load as mysql.ResultSetHeader).affectedRows, 1);
      const [text] = (await conn.query('SELECT id, LENGTH(body) AS n, body FROM blobs')) as unknown as [
        Array<{ id: number; n: number; body: Buffer }>,
      ];
      assert.equal(text[0]!.n, BLOB_BYTES);
      assert.ok(text[0]!.body.equals(blob), 'text protocol row intact');
      const [binary] = (await conn.execute('SELECT body, ? AS after_blob FROM blobs WHERE id = ?', [
        'tail',
        1,
      ])) as unknown as [Array<{ body: Buffer; after_blob: string }>];
      assert.ok(binary[0]!.body.equals(blob), 'binary protocol row intact');
      assert.equal(binary[0]!.after_blob, 'tail');
      // The session is still in step after the split packets.
      const [[ok]] = (await conn.query('SELECT 1 AS one')) as unknown as [[{ one: number }]];
      assert.equal(ok.one, 1);
    } finally {
      await conn.end();
    }
  });

  it('relays a client packet over 16 MB whole: the server answers as it does directly', async () => {
    const sql = `SELECT LENGTH('${'x'.repeat(17 * 1024 * 1024)}') AS n`;
    const direct = await mysql.createConnection({ uri: MYSQL_URL, maxPreparedStatements: 1 });
    const viaProxy = await connect();
    const outcome = async (c: mysql.Connection) => {
      try {
        const [[row]] = (await c.query(sql)) as unknown as [[{ n: number }]];
        return `rows ${row.n}`;
      } catch (err) {
        return `error ${(err as { errno?: number; code?: string }).errno ?? (err as { code?: string }).code}`;
      }
    };
    const expected = await outcome(direct);
    const proxied = await outcome(viaProxy);
    // With max_allowed_packet at 16 MB the server answers 1153 and closes. The close can reach the
    // sender as a TCP reset while it is still writing, and a reset discards the unread answer: then a
    // direct client sees ECONNRESET (-104). The proxy streams the packet and mirrors the server's
    // reset, so a proxied client sees the same (or 2013 when its own write is what fails first).
    // Which one happens is a race in the kernel, for the direct client just the same; either way the
    // session ends with the server's refusal or a lost connection, never a hang or a wrong answer.
    assert.match(expected, /^(rows 17825792|error 1153|error -104)$/);
    if (expected === 'rows 17825792') assert.equal(proxied, expected);
    else assert.match(proxied, /^error (1153|2013|-104)$/);
    direct.destroy();
    viaProxy.destroy();
    // Other sessions are not affected.
    const fresh = await connect();
    const [[row]] = (await fresh.query('SELECT 2 AS two')) as unknown as [[{ two: number }]];
    assert.equal(row.two, 2);
    await fresh.end();
  });

  it('LOAD DATA LOCAL INFILE: mysql2 and the mariadb command-line client', async () => {
    const csv = join(dir, 'rows.csv');
    writeFileSync(csv, Array.from({ length: 5000 }, (_, i) => `${i},name-${i}`).join('\n'));
    const conn = await connect();
    try {
      await conn.query('CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40))');
      const [res] = await conn.query({
        sql: "LOAD DATA LOCAL INFILE ? INTO TABLE people FIELDS TERMINATED BY ',' (id, name)",
        values: [csv],
      });
      assert.equal((res as mysql.ResultSetHeader).affectedRows, 5000);
      // A missing file: the client sends an empty packet and the server answers with its error.
      await assert.rejects(
        conn.query({ sql: 'LOAD DATA LOCAL INFILE ? INTO TABLE people', values: [join(dir, 'missing.csv')] }),
      );
      const [[n]] = (await conn.query('SELECT COUNT(*) AS n FROM people')) as unknown as [[{ n: number }]];
      assert.equal(n.n, 5000);
    } finally {
      await conn.end();
    }
    const cli = [
      '--protocol=TCP',
      '-h',
      proxy.host,
      '-P',
      String(proxy.port),
      '-u',
      'root',
      '--local-infile=1',
      db.name,
    ];
    await run('mariadb', [
      ...cli,
      '-e',
      `DELETE FROM people; LOAD DATA LOCAL INFILE '${csv}' INTO TABLE people FIELDS TERMINATED BY ','`,
    ]);
    const { stdout } = await run('mariadb', [
      ...cli,
      '-B',
      '-N',
      '-e',
      'SELECT COUNT(*), MAX(id) FROM people',
    ]);
    assert.equal(stdout, '5000\t4999\n');
  });
});
