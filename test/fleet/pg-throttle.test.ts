/**
 * The throttle across a fleet (PostgreSQL, proxy processes): the backfill
 * runs on proxy A, and client latency rises only for the clients of proxy
 * B. The leader on A cuts its rate, and the reason names proxy B. Then A is
 * killed: B takes the backfill over and paces against the baseline A
 * measured before START (recorded with the migration), not against none.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startSleepLoad } from '../helpers/backfill-under-load.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type ServedProxy, serveProxy } from '../helpers/serve-process.ts';
import {
  throttleOnWorstProxy,
  WORST_PROXY_THROTTLE_FLAGS,
  WORST_PROXY_THROTTLE_ROWS,
} from '../helpers/worst-proxy-throttle.ts';

describe('throttle on the worst proxy (PostgreSQL, proxy processes)', () => {
  let db: TestDatabase;
  let direct: pg.Client;
  const proxies = new Map<string, ServedProxy>();

  before(async () => {
    db = await createPgDatabase('fleet_throttle');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await direct.query('CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)');
    await direct.query(
      `INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, ${WORST_PROXY_THROTTLE_ROWS}) g`,
    );
    const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-fleet-throttle-'));
    writeFileSync(
      join(migrations, 'add_digest.yaml'),
      'operations:\n  - add_column:\n      table: events\n      column: { name: digest, type: text }\n      up: "md5(payload)"\n',
    );
    const started = await Promise.all(
      ['proxy-a', 'proxy-b'].map((id) =>
        serveProxy({
          upstream: db.url,
          listen: '127.0.0.1:0',
          http: '127.0.0.1:0',
          migrations,
          'fleet-proxy-id': id,
          ...WORST_PROXY_THROTTLE_FLAGS,
        }).then((p) => [id, p] as const),
      ),
    );
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    await direct.end();
    await db.drop();
  });

  test("latency raised only for proxy B's clients: the leader on A cuts, naming B; B takes over with A's baseline", async (t) => {
    const seen = await throttleOnWorstProxy({
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
    });
    t.diagnostic(seen);
  });
});
