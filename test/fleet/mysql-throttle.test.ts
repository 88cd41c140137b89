/**
 * The throttle across a fleet (MariaDB, proxy processes): the backfill runs
 * on proxy A, and client latency (SELECT SLEEP) rises only for the clients
 * of proxy B. The leader on A cuts its rate, and the reason names proxy B.
 * Then A is killed: B takes the backfill over and paces against the
 * baseline A measured before START (recorded with the migration).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { startMysqlSleepLoad } from '../helpers/backfill-under-load.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type ServedProxy, serveProxy } from '../helpers/serve-process.ts';
import {
  throttleOnWorstProxy,
  WORST_PROXY_THROTTLE_FLAGS,
  WORST_PROXY_THROTTLE_ROWS,
} from '../helpers/worst-proxy-throttle.ts';

describe('throttle on the worst proxy (MariaDB, proxy processes)', () => {
  let db: TestDatabase;
  let direct: mysql.Connection;
  const proxies = new Map<string, ServedProxy>();

  before(async () => {
    db = await createMysqlDatabase('fleet_throttle');
    direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query(`CREATE TABLE events (id int PRIMARY KEY, payload varchar(40) NOT NULL);
                        INSERT INTO events SELECT seq, CONCAT('event ', seq) FROM seq_1_to_${WORST_PROXY_THROTTLE_ROWS};`);
    const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-fleet-throttle-'));
    writeFileSync(
      join(migrations, 'add_digest.yaml'),
      'operations:\n  - add_column:\n      table: events\n      column: { name: digest, type: varchar(32), nullable: true }\n      up: "MD5(payload)"\n',
    );
    const started = await Promise.all(
      ['proxy-a', 'proxy-b'].map((id) =>
        serveProxy({
          upstream: db.url,
          listen: '127.0.0.1:0',
          http: '127.0.0.1:0',
          migrations,
          'admin-users': 'root',
          'fleet-proxy-id': id,
          ...WORST_PROXY_THROTTLE_FLAGS,
        }).then((p) => [id, p] as const),
      ),
    );
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    // The shiftgate database is shared by every database of the server: this one's rows go.
    await direct.query('DELETE FROM shiftgate.migrations WHERE schema_name = ?', [db.name]).catch(() => {});
    await direct.query('DELETE FROM shiftgate.events WHERE schema_name = ?', [db.name]).catch(() => {});
    await direct.query('DELETE FROM shiftgate.fleet_controls WHERE scope = ?', [db.name]).catch(() => {});
    await direct.end();
    await db.drop();
  });

  test("latency raised only for proxy B's clients: the leader on A cuts, naming B; B takes over with A's baseline", async (t) => {
    const seen = await throttleOnWorstProxy({
      proxies,
      async query(name, sql) {
        const conn = await mysql.createConnection(proxies.get(name)!.proxyUrl);
        try {
          const [rows] = await conn.query(sql);
          return rows as Record<string, unknown>[];
        } finally {
          await conn.end();
        }
      },
      startLoad: startMysqlSleepLoad,
      async leasedBy(runner) {
        const [rows] = await direct.query(
          `SELECT 1 FROM shiftgate.events
            WHERE schema_name = ? AND event = 'lease' AND JSON_VALUE(detail, '$.runner') = ?`,
          [db.name, runner],
        );
        return (rows as unknown[]).length > 0;
      },
    });
    t.diagnostic(seen);
  });
});
