/**
 * The throttle across a fleet (MariaDB, proxy processes): the backfill runs
 * on proxy A, and client latency (SELECT SLEEP) rises only for the clients
 * of proxy B. The leader on A cuts its rate, and the reason names proxy B.
 * Then A is killed: B takes the backfill over and paces against the
 * baseline A measured before START (recorded with the migration).
 */
import mysql from 'mysql2/promise';
import { startMysqlSleepLoad } from '../helpers/backfill-under-load.ts';
import { createMysqlDatabase } from '../helpers/databases.ts';
import { serveFleet } from '../helpers/serve-process.ts';
import {
  addDigestMigrations,
  describeWorstProxyThrottle,
  WORST_PROXY_THROTTLE_FLAGS,
  WORST_PROXY_THROTTLE_ROWS,
} from '../helpers/worst-proxy-throttle.ts';

describeWorstProxyThrottle('MariaDB', async () => {
  const db = await createMysqlDatabase('fleet_throttle');
  const direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
  await direct.query(`CREATE TABLE events (id int PRIMARY KEY, payload varchar(40) NOT NULL);
                      INSERT INTO events SELECT seq, CONCAT('event ', seq) FROM seq_1_to_${WORST_PROXY_THROTTLE_ROWS};`);
  const proxies = await serveFleet(['proxy-a', 'proxy-b'], {
    upstream: db.url,
    migrations: addDigestMigrations('type: varchar(32), nullable: true', 'MD5(payload)'),
    'admin-users': 'root',
    ...WORST_PROXY_THROTTLE_FLAGS,
  });
  return {
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
    async close() {
      await Promise.all([...proxies.values()].map((p) => p.stop()));
      await direct.end();
      // drop() also deletes the database's rows in the shared shiftgate database.
      await db.drop();
    },
  };
});
