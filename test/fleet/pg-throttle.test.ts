/**
 * The throttle across a fleet (PostgreSQL, proxy processes): the backfill
 * runs on proxy A, and client latency rises only for the clients of proxy
 * B. The leader on A cuts its rate, and the reason names proxy B. Then A is
 * killed: B takes the backfill over and paces against the baseline A
 * measured before START (recorded with the migration), not against none.
 */
import pg from 'pg';
import { startSleepLoad } from '../helpers/backfill-under-load.ts';
import { createPgDatabase } from '../helpers/databases.ts';
import { serveFleet } from '../helpers/serve-process.ts';
import {
  addDigestMigrations,
  describeWorstProxyThrottle,
  WORST_PROXY_THROTTLE_FLAGS,
  WORST_PROXY_THROTTLE_ROWS,
} from '../helpers/worst-proxy-throttle.ts';

describeWorstProxyThrottle('PostgreSQL', async () => {
  const db = await createPgDatabase('fleet_throttle');
  const direct = new pg.Client({ connectionString: db.url });
  await direct.connect();
  await direct.query('CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)');
  await direct.query(
    `INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, ${WORST_PROXY_THROTTLE_ROWS}) g`,
  );
  const proxies = await serveFleet(['proxy-a', 'proxy-b'], {
    upstream: db.url,
    migrations: addDigestMigrations('type: text', 'md5(payload)'),
    ...WORST_PROXY_THROTTLE_FLAGS,
  });
  return {
    proxies,
    async query(name, sql) {
      const client = new pg.Client({ connectionString: proxies.get(name)!.proxyUrl });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    },
    startLoad: startSleepLoad,
    async leasedBy(runner) {
      const leases = await direct.query(
        `SELECT 1 FROM shiftgate.events WHERE event = 'lease' AND detail->>'runner' = $1`,
        [runner],
      );
      return (leases.rowCount ?? 0) > 0;
    },
    async close() {
      await Promise.all([...proxies.values()].map((p) => p.stop()));
      await direct.end();
      await db.drop();
    },
  };
});
