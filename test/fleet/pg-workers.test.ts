/**
 * `shiftgate serve` with `proxy.workers: 2` as a real process in front of
 * PostgreSQL: clients are spread over both worker processes, each a fleet
 * member (`<proxy_id>/w1`, `/w2`) seen in SHOW SHIFTGATE PROXIES / SESSIONS;
 * one scrape of /metrics adds up both workers; a migration runs once (one
 * lease, every row backfilled once); kill -9 of a worker drops its clients
 * at once, the primary starts it again and new connections succeed; SIGTERM
 * drains both and exits 0. A worker that cannot listen stops the start.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { auditCounts, createAuditedUsers, emailMigrationFolder } from '../helpers/audited-users.ts';
import { type KeyedClient, sendCancel } from '../helpers/cancel-request.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveProxy } from '../helpers/serve-process.ts';

const ROWS = 5000;
const WORKERS = ['pool/w1', 'pool/w2'];

/** The value of one unlabelled-or-labelled sample in Prometheus text, or undefined. */
function sample(metrics: string, line: RegExp): number | undefined {
  const m = new RegExp(`^${line.source}\\s+(\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : undefined;
}

describe('proxy.workers: 2 (PostgreSQL, one serve process)', () => {
  let db: TestDatabase;
  let direct: pg.Client;
  let proxy: ServedProxy;
  const clients: pg.Client[] = [];

  const connect = async (applicationName: string) => {
    const client = new pg.Client({ connectionString: proxy.proxyUrl, application_name: applicationName });
    // A worker killed under it ends the connection; the test awaits that through the query instead.
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    return client;
  };
  const query = async (sql: string) => {
    const client = await connect('workers-test-admin');
    try {
      return (await client.query(sql)).rows as Record<string, string | null>[];
    } finally {
      await client.end();
    }
  };
  /** Live workers by fleet id, with their pid. */
  const members = async () =>
    new Map((await query('SHOW SHIFTGATE PROXIES')).map((r) => [r.proxy!, Number(r.pid)]));
  /** The worker each of this test's client sessions (by application_name prefix) is on. */
  const workerOf = async (prefix: string) =>
    new Map(
      (await query('SHOW SHIFTGATE SESSIONS'))
        .filter((r) => r.application_name?.startsWith(prefix))
        .map((r) => [r.application_name!, r.proxy!]),
    );

  before(async () => {
    db = await createPgDatabase('workers');
    direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await createAuditedUsers(direct, ROWS);
    const migrations = emailMigrationFolder();
    proxy = await serveProxy({
      upstream: db.url,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      migrations,
      'proxy-workers': '2',
      'fleet-proxy-id': 'pool',
      'throttle-max-batch': '500',
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await proxy.stop();
    await direct.end();
    await db.drop();
  });

  test('clients are spread over both workers; PROXIES, SESSIONS and one /metrics scrape show both', async () => {
    const live = await eventually('both workers are fleet members', async () => {
      const m = await members();
      return WORKERS.every((w) => m.has(w)) ? m : undefined;
    });
    assert.deepEqual([...live.keys()].sort(), WORKERS);
    const pids = WORKERS.map((w) => live.get(w)!);
    assert.notEqual(pids[0], pids[1], 'two processes');
    assert.ok(!pids.includes(proxy.child.pid!), 'neither is the primary');

    const spread = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(`spread-${i}`)));
    for (const c of spread) assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    const on = await eventually('every session is in its worker heartbeat', async () => {
      const m = await workerOf('spread-');
      return m.size === 6 ? m : undefined;
    });
    for (const w of WORKERS) {
      assert.ok([...on.values()].includes(w), `${w} serves some of the clients: ${[...on.values()]}`);
    }

    const metrics = await eventually('a scrape that adds up both workers', async () => {
      const text = await (await fetch(proxy.metricsUrl)).text();
      return (sample(text, /shiftgate_client_connections\{dialect="postgres"\}/) ?? 0) >= 6
        ? text
        : undefined;
    });
    // Each worker holds only its share of the six: the scrape saw both.
    const perWorker = WORKERS.map((w) => [...on.values()].filter((p) => p === w).length);
    assert.ok(Math.max(...perWorker) < 6, `split ${perWorker}`);
    assert.ok(sample(metrics, /shiftgate_statement_duration_seconds_count\{dialect="postgres"\}/)! >= 6);
    // The fleet as every worker reads it from the heartbeats: counted once, not once per worker.
    assert.equal(sample(metrics, /shiftgate_fleet_proxies/), 2);
    for (const c of spread) await c.end();
  });

  test('a migration runs once: one worker takes the lease and every row is backfilled once', async () => {
    const [started] = await query("SHIFTGATE START '02_email'");
    assert.equal(started!.name, '02_email');
    await eventually(
      'the migration is active',
      async () => ((await query('SHOW SHIFTGATE STATUS'))[0]?.phase === 'active' ? true : undefined),
      60_000,
    );
    const leases = await direct.query<{ runner: string }>(
      `SELECT detail->>'runner' AS runner FROM shiftgate.events WHERE event = 'lease' ORDER BY id`,
    );
    assert.equal(leases.rows.length, 1, `one run: ${leases.rows.map((r) => r.runner)}`);
    assert.ok(WORKERS.includes(leases.rows[0]!.runner), `run by a worker: ${leases.rows[0]!.runner}`);
    assert.deepEqual(
      await auditCounts(direct),
      { updates: ROWS, rows: ROWS },
      'each row updated by exactly one batch',
    );
  });

  test('a CancelRequest cancels its statement whichever worker the cluster hands it to', async () => {
    // Six cancels through the shared port: round-robin hands about half of them to the worker
    // that does not own the session, which forwards them to the owner's peer port.
    for (let i = 0; i < 6; i++) {
      const client = (await connect(`cancel-${i}`)) as KeyedClient;
      const sleeping = client.query('SELECT pg_sleep(30)').then(
        () => assert.fail('the cancelled statement cannot succeed'),
        (e: { code?: string }) => e,
      );
      await eventually('the statement runs and its backend is in a heartbeat', async () => {
        const r = await direct.query(
          `SELECT 1 FROM pg_stat_activity a, shiftgate.proxies p, jsonb_array_elements(p.sessions) s
            WHERE a.pid = $1 AND a.state = 'active' AND a.query LIKE '%pg_sleep%'
              AND (s->>'backendId')::int = $1`,
          [client.processID],
        );
        return r.rowCount === 1 ? true : undefined;
      });
      const started = Date.now();
      await sendCancel(proxy.port, client.processID, client.secretKey);
      assert.equal((await sleeping).code, '57014', `cancel ${i}`);
      assert.ok(Date.now() - started < 10_000, `cancel ${i} took ${Date.now() - started} ms`);
      await client.end();
    }
  });

  test('kill -9 of a worker: its clients get an error at once, it is started again, new clients connect', async () => {
    const pids = await members();
    const held = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(`held-${i}`)));
    for (const c of held) await c.query('SELECT 1');
    const on = await eventually('the held sessions are in the heartbeats', async () => {
      const m = await workerOf('held-');
      return m.size === 6 ? m : undefined;
    });
    const victim = 'pool/w1';
    const victimPid = pids.get(victim)!;
    assert.ok([...on.values()].includes(victim), 'the victim has clients');
    process.kill(victimPid, 'SIGKILL');

    for (const [i, client] of held.entries()) {
      const worker = on.get(`held-${i}`);
      const outcome = await Promise.race([
        client.query('SELECT 1').then(
          () => 'answered',
          () => 'connection error',
        ),
        new Promise((r) => setTimeout(() => r('hang'), 10_000)),
      ]);
      assert.equal(outcome, worker === victim ? 'connection error' : 'answered', `held-${i} on ${worker}`);
    }

    const restarted = await eventually(
      'the primary starts the worker again',
      async () => {
        const pid = (await members()).get(victim);
        return pid !== undefined && pid !== victimPid ? pid : undefined;
      },
      20_000,
    );
    assert.equal(existsSync(`/proc/${victimPid}`), false, 'the killed process is gone');
    assert.equal((await members()).get('pool/w2'), pids.get('pool/w2'), 'the other worker kept running');
    assert.notEqual(restarted, proxy.child.pid);

    const fresh = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(`fresh-${i}`)));
    for (const c of fresh) assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
    const freshOn = await eventually('the new sessions are in the heartbeats', async () => {
      const m = await workerOf('fresh-');
      return m.size === 6 ? m : undefined;
    });
    assert.ok([...freshOn.values()].includes(victim), 'the restarted worker takes clients');
    for (const c of [...held, ...fresh]) await c.end().catch(() => {});
  });

  test('SIGTERM to the primary drains both workers and exits 0; their fleet rows are gone', async () => {
    const pids = [...(await members()).values()];
    proxy.child.kill('SIGTERM');
    const { code } = await proxy.exited;
    assert.equal(code, 0);
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `worker ${pid} exited`);
    const rows = await direct.query('SELECT id FROM shiftgate.proxies');
    assert.deepEqual(rows.rows, [], 'every worker removed its heartbeat row');
  });
});

describe('proxy.workers: workers that cannot run', () => {
  test('a listen address in use stops serve with exit 1 instead of restarting', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as { port: number };
    const db = await createPgDatabase('workers_fail');
    try {
      const started = serveProxy({
        upstream: db.url,
        listen: `127.0.0.1:${port}`,
        http: '127.0.0.1:0',
        'proxy-workers': '2',
      });
      await assert.rejects(started, /serve exited with 1: [\s\S]*a worker failed to start/);
    } finally {
      taken.close();
      await db.drop();
    }
  });

  test('a worker that keeps crashing stops serve with exit 1 instead of restarting it forever', async () => {
    const db = await createPgDatabase('workers_loop');
    const proxy = await serveProxy({
      upstream: db.url,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      'proxy-workers': '2',
      'fleet-proxy-id': 'loop',
    });
    const primary = proxy.child.pid!;
    const workerPids = () =>
      readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    try {
      const client = new pg.Client({ connectionString: proxy.proxyUrl });
      await client.connect();
      const rows = (await client.query('SHOW SHIFTGATE PROXIES')).rows as { proxy: string; pid: string }[];
      await client.end();
      const survivor = Number(rows.find((r) => r.proxy === 'loop/w2')?.pid);
      const killed = new Set<number>();
      // Each start of worker 1 is killed as soon as it is forked (a crash at start-up counts as
      // any other); the fifth crash within a minute is the loop (DEFAULT_RESTART_POLICY.loopCrashes).
      for (let crash = 1; crash <= 5; crash++) {
        const pid = await eventually(`worker 1 forked (start ${crash})`, async () =>
          workerPids().find((p) => p !== survivor && !killed.has(p)),
        );
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      }
      const exit = await Promise.race([proxy.exited, new Promise<null>((r) => setTimeout(r, 30_000, null))]);
      assert.ok(exit, 'serve stopped within 30 s of the fifth crash');
      assert.equal(exit.code, 1);
      assert.match(exit.stderr, /worker 1 crashed repeatedly/);
      assert.equal(existsSync(`/proc/${survivor}`), false, 'the other worker was stopped too');
    } finally {
      await proxy.stop();
      await db.drop();
    }
  });
});
