/**
 * Commands for the runner on MariaDB, accepted by any proxy of the fleet:
 * PAUSE and SET issued on proxy B reach the backfill proxy A runs (through
 * the fleet controls in the shared `shiftgate` database, scoped to this
 * database), RESUME releases it, ROLLBACK on B is carried out by A.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually } from '../helpers/serve-process.ts';

const ROWS = 100_000;

type Row = Record<string, string | number | null>;

describe('fleet commands reach the runner on another proxy (MariaDB)', () => {
  let db: TestDatabase;
  let direct: mysql.Connection;
  let a: Shiftgate;
  let b: Shiftgate;

  const admin = async (sg: Shiftgate, sql: string) => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: sg.proxy.address.port,
      user: 'root',
      database: db.name,
    });
    try {
      const [rows] = await conn.query(sql);
      return rows as unknown as Row[];
    } finally {
      await conn.end();
    }
  };
  const rowsDone = async () => {
    const [rows] = await direct.query(
      'SELECT rows_done FROM shiftgate.backfill_checkpoints WHERE schema_name = ?',
      [db.name],
    );
    return Number((rows as Row[])[0]?.rows_done ?? 0);
  };

  before(async () => {
    db = await createMysqlDatabase('fleet_commands');
    direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query(`CREATE TABLE users (id int PRIMARY KEY, name varchar(40) NOT NULL);
                        INSERT INTO users SELECT seq, CONCAT('User ', seq) FROM seq_1_to_${ROWS};`);
    const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-fleet-'));
    writeFileSync(
      join(migrations, '02_email.yaml'),
      [
        'operations:',
        '  - add_column:',
        '      table: users',
        '      column: { name: email, type: varchar(80), nullable: true }',
        `      up: "CONCAT(LOWER(name), '@example.com')"`,
      ].join('\n'),
    );
    const start = (id: string) =>
      startShiftgate(
        loadConfig({
          env: {},
          flags: {
            upstream: db.url,
            listen: '127.0.0.1:0',
            migrations,
            'admin.users': 'root',
            'fleet.proxy_id': id,
            'throttle.min_batch': '200',
            'throttle.max_batch': '500',
          },
        }),
        db.url,
        { http: false },
      );
    a = await start('proxy-a');
    b = await start('proxy-b');
  });

  after(async () => {
    await a.stop();
    await b.stop();
    await direct.end();
    await db.drop();
  });

  test('PAUSE / SET / RESUME on B act on the backfill A runs; ROLLBACK on B is carried out by A', async () => {
    await admin(a, "SHIFTGATE START '02_email'");
    await eventually('the backfill runs on A', async () => ((await rowsDone()) > 0 ? true : undefined));
    await admin(b, 'SHIFTGATE PAUSE');
    await eventually('A holds its backfill', async () => (a.control?.throttle.isPaused ? true : undefined));
    await admin(b, 'SHIFTGATE SET max_batch = 300');
    await eventually('A applies the knob', async () =>
      a.control?.throttle.knobs.max_batch === 300 ? true : undefined,
    );
    const held = await rowsDone();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok((await rowsDone()) - held <= 500, 'at most the batch in flight finished while paused');
    await admin(b, 'SHIFTGATE RESUME');
    await eventually('A carries on', async () => ((await rowsDone()) > held ? true : undefined), 5000);

    const [rolledBack] = await admin(b, 'SHIFTGATE ROLLBACK');
    assert.equal(rolledBack!.phase, 'rolled_back');
    const [columns] = await direct.query(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME LIKE '%email%'",
    );
    assert.equal(Number((columns as Row[])[0]!.n), 0, 'the new column is gone');
    const [leases] = await direct.query(
      `SELECT JSON_VALUE(detail, '$.runner') AS runner FROM shiftgate.events
        WHERE schema_name = ? AND event = 'lease' ORDER BY id`,
      [db.name],
    );
    assert.deepEqual(
      (leases as Row[]).map((r) => r.runner),
      ['proxy-a'],
      'A ran the migration and its rollback',
    );
  });
});
