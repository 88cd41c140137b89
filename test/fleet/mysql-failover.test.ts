/**
 * Backfill runner failover on MariaDB: proxy A's runner is killed with
 * SIGKILL mid-backfill of 200k rows; proxy B takes GET_LOCK within 5 s and
 * resumes from the checkpoint. `up` calls a stored function that logs every
 * row it computes in the batch's own transaction: exactly one call per row
 * means no batch was applied twice or skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveFleet } from '../helpers/serve-process.ts';

const ROWS = 200_000;

type Row = Record<string, string | number | null>;

describe('backfill runner failover (MariaDB, proxy processes)', () => {
  let db: TestDatabase;
  let direct: mysql.Connection;
  const proxies = new Map<string, ServedProxy>();

  const query = async (name: string, sql: string) => {
    const conn = await mysql.createConnection(proxies.get(name)!.proxyUrl);
    try {
      const [rows] = await conn.query(sql);
      return rows as unknown as Row[];
    } finally {
      await conn.end();
    }
  };
  const rows = async (sql: string, params: unknown[] = []) => {
    const [result] = await direct.query(sql, params);
    return result as unknown as Row[];
  };
  const leases = () =>
    rows(
      `SELECT JSON_VALUE(detail, '$.runner') AS runner, phase FROM shiftgate.events
        WHERE schema_name = ? AND event = 'lease' ORDER BY id`,
      [db.name],
    );

  before(async () => {
    db = await createMysqlDatabase('failover');
    direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query(`CREATE TABLE users (id int PRIMARY KEY, name varchar(40) NOT NULL);
                        INSERT INTO users SELECT seq, CONCAT('User ', seq) FROM seq_1_to_${ROWS};
                        CREATE TABLE calls (id int NOT NULL);`);
    await direct.query(`CREATE FUNCTION email_of(i int, n varchar(40)) RETURNS varchar(80) MODIFIES SQL DATA
                        BEGIN
                          INSERT INTO calls VALUES (i);
                          RETURN CONCAT(LOWER(REPLACE(n, ' ', '.')), '@example.com');
                        END`);
    const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-failover-'));
    writeFileSync(
      join(migrations, '02_email.yaml'),
      [
        'operations:',
        '  - add_column:',
        '      table: users',
        '      column: { name: email, type: varchar(80), nullable: true }',
        '      up: "email_of(id, name)"',
      ].join('\n'),
    );
    const started = await serveFleet(['proxy-a', 'proxy-b'], {
      upstream: db.url,
      migrations,
      'admin-users': 'root',
      'throttle-min-batch': '500',
      'throttle-max-batch': '1000',
    });
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    await direct.end();
    await db.drop();
  });

  test('kill -9 of the runner mid-backfill: another proxy resumes within 5 s; every row computed once', async () => {
    await query('proxy-a', "SHIFTGATE START '02_email'");
    await eventually('the backfill is under way on proxy A', async () => {
      const [row] = await query('proxy-b', 'SHOW SHIFTGATE STATUS');
      return row?.phase === 'backfilling' && Number(row.rows_done) >= 10_000 ? row : undefined;
    });
    const a = proxies.get('proxy-a')!;
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    proxies.delete('proxy-a');
    const [checkpoint] = await rows(
      'SELECT rows_done FROM shiftgate.backfill_checkpoints WHERE schema_name = ?',
      [db.name],
    );
    assert.ok(
      Number(checkpoint!.rows_done) < ROWS,
      `killed mid-backfill (${checkpoint!.rows_done} rows done)`,
    );

    await eventually(
      'proxy B takes the migration over',
      async () => ((await leases()).some((l) => l.runner === 'proxy-b') ? true : undefined),
      5000,
    );
    assert.ok(Date.now() - killedAt < 5000, `handed over after ${Date.now() - killedAt} ms`);
    assert.deepEqual(
      (await leases()).map((l) => `${l.runner}:${l.phase}`),
      ['proxy-a:pending', 'proxy-b:backfilling'],
    );
    await eventually(
      'the migration is active',
      async () =>
        (await query('proxy-b', 'SHOW SHIFTGATE STATUS'))[0]?.phase === 'active' ? true : undefined,
      120_000,
    );
    const [calls] = await rows('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM calls');
    assert.deepEqual(
      { n: Number(calls!.n), ids: Number(calls!.ids) },
      { n: ROWS, ids: ROWS },
      'each row computed by exactly one committed batch',
    );
    await query('proxy-b', 'SHIFTGATE COMPLETE');
    const [wrong] = await rows(
      `SELECT COUNT(*) AS n FROM users WHERE NOT (email <=> CONCAT(LOWER(REPLACE(name, ' ', '.')), '@example.com'))`,
    );
    assert.equal(Number(wrong!.n), 0, 'every value is what an uninterrupted run computes');
  });
});
