/**
 * The throttle across a fleet (PostgreSQL, proxy processes): the backfill
 * runs on proxy A, and client latency rises only for the clients of proxy
 * B. The leader on A cuts its rate, and the reason names proxy B. Then A is
 * killed: B takes the backfill over and paces against the baseline A
 * measured before START (recorded with the migration), not against none.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type SleepLoad, startSleepLoad } from '../helpers/backfill-under-load.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveProxy } from '../helpers/serve-process.ts';

/** At the 5,000 rows/s cap the backfill takes a minute: it is still running at every check. */
const ROWS = 300_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('throttle on the worst proxy (PostgreSQL, proxy processes)', () => {
  let db: TestDatabase;
  let direct: pg.Client;
  const proxies = new Map<string, ServedProxy>();
  const loads: SleepLoad[] = [];

  const query = async (name: string, sql: string) => {
    const client = new pg.Client({ connectionString: proxies.get(name)!.proxyUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, string | null>[];
    } finally {
      await client.end();
    }
  };
  const status = async (name: string) => (await query(name, 'SHOW SHIFTGATE STATUS'))[0];

  before(async () => {
    db = await createPgDatabase('fleet_throttle');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await direct.query('CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)');
    await direct.query(`INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, ${ROWS}) g`);
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
          'throttle-max-rate': '5000',
          'throttle-max-batch': '500',
          'throttle-min-batch': '50',
          // Headroom 4: on a busy machine the p99 of 2 ms statements moves by more than 20% on its
          // own; the raised latency on B (150 ms) is far above 4 x.
          'throttle-latency-headroom': '4',
        }).then((p) => [id, p] as const),
      ),
    );
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all(loads.map((l) => l.stop().catch(() => {})));
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    await direct.end();
    await db.drop();
  });

  test("latency raised only for proxy B's clients: the leader on A cuts, naming B; B takes over with A's baseline", async () => {
    const loadA = await startSleepLoad(proxies.get('proxy-a')!.proxyUrl, 0.002);
    const loadB = await startSleepLoad(proxies.get('proxy-b')!.proxyUrl, 0.002);
    loads.push(loadA, loadB);
    // Both proxies have a baseline's worth of statements, and B's heartbeat carries it.
    await sleep(3000);

    await query('proxy-a', "SHIFTGATE START 'add_digest'");
    const first = await eventually('the backfill runs on proxy A', async () => {
      const s = await status('proxy-a');
      return s?.phase === 'backfilling' && Number(s.rows_done) > 0 ? s : undefined;
    });
    const baseline = first.baseline_p99_ms;
    assert.ok(
      baseline !== null && Number(baseline) > 1,
      `baseline p99 ${baseline} ms reflects the 2 ms load`,
    );
    await eventually('the rate ramps up on a healthy latency', async () => {
      const s = await status('proxy-a');
      return Number(s?.target_rate) >= 4000 ? s : undefined;
    });

    // Only B's clients slow down; A's own clients stay at 2 ms.
    loadB.set(0.15);
    const cut = await eventually(
      "the leader on A cuts the rate on B's latency",
      async () => {
        const s = await status('proxy-a');
        return s?.throttled === 'true' && /on proxy proxy-b/.test(s.throttle_reason ?? '') ? s : undefined;
      },
      15_000,
    );
    assert.equal(cut.phase, 'backfilling');
    assert.match(cut.throttle_reason!, /^client p99 \d+(\.\d)?ms on proxy proxy-b > 4 x baseline /);
    assert.match(
      cut.last_change!,
      /^cut [\d,]+ -> [\d,]+ rows\/s: client p99 \d+(\.\d)?ms on proxy proxy-b > /,
    );
    assert.ok(Number(cut.target_rate) < 4000, `target rate ${cut.target_rate} rows/s after the cut`);
    assert.ok(
      Number(cut.client_p99_ms) < 100,
      `A's own clients stayed fast (p99 ${cut.client_p99_ms} ms): the cut is B's doing`,
    );

    // Failover: A dies mid-backfill; B takes the lease and paces against the same baseline.
    loadB.set(0.002);
    await loadA.stop();
    const a = proxies.get('proxy-a')!;
    a.child.kill('SIGKILL');
    await a.exited;
    proxies.delete('proxy-a');
    await eventually(
      'proxy B takes the backfill over',
      async () => {
        const leases = await direct.query(
          `SELECT 1 FROM shiftgate.events WHERE event = 'lease' AND detail->>'runner' = 'proxy-b'`,
        );
        return leases.rowCount ? true : undefined;
      },
      15_000,
    );
    const taken = await eventually('B runs the backfill with a baseline', async () => {
      const s = await status('proxy-b');
      return s?.phase === 'backfilling' && s.baseline_p99_ms !== null ? s : undefined;
    });
    assert.equal(taken.baseline_p99_ms, baseline, "the taken-over runner paces against A's baseline");
    await query('proxy-b', 'SHIFTGATE ROLLBACK');
  });
});
