/**
 * Three `shiftgate serve` processes in front of one PostgreSQL database
 * form a fleet through the state store: SHOW SHIFTGATE SESSIONS / PROXIES
 * on any of them show all three, an old-version session on proxy C keeps
 * COMPLETE issued on proxy A refused (naming C's session) until it leaves,
 * a proxy killed with SIGKILL drops out after the heartbeat timeout, and
 * one stopped with SIGTERM removes its row at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { eventually, type ServedProxy, serveFleet } from '../helpers/serve-process.ts';

const TIMEOUT_MS = 3000;

describe('proxy fleet (PostgreSQL, three proxy processes)', () => {
  let db: TestDatabase;
  const proxies = new Map<string, ServedProxy>();

  const query = async (name: string, sql: string, applicationName = 'fleet-test-admin') => {
    const client = new pg.Client({
      connectionString: proxies.get(name)!.proxyUrl,
      application_name: applicationName,
    });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, string | null>[];
    } finally {
      await client.end();
    }
  };
  const liveProxies = async (via: string) => (await query(via, 'SHOW SHIFTGATE PROXIES')).map((r) => r.proxy);

  before(async () => {
    db = await createPgDatabase('fleet');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO users (name) SELECT 'User ' || g FROM generate_series(1, 1000) g");
    await setup.end();
    const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-fleet-'));
    writeFileSync(
      join(migrations, '02_rename.yaml'),
      'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    );
    const started = await serveFleet(['proxy-a', 'proxy-b', 'proxy-c'], {
      upstream: db.url,
      migrations,
      'fleet-heartbeat-timeout-ms': String(TIMEOUT_MS),
    });
    for (const [id, p] of started) proxies.set(id, p);
  });

  after(async () => {
    await Promise.all([...proxies.values()].map((p) => p.stop()));
    await db.drop();
  });

  test('SESSIONS and PROXIES on any proxy show all three; COMPLETE on A waits for an old session on C', async () => {
    await eventually('all three proxies listed', async () => {
      const ids = await liveProxies('proxy-b');
      return ids.join() === 'proxy-a,proxy-b,proxy-c' ? ids : undefined;
    });
    const row = (await query('proxy-a', 'SHOW SHIFTGATE PROXIES')).find((r) => r.proxy === 'proxy-c')!;
    assert.equal(row.listen, `127.0.0.1:${proxies.get('proxy-c')!.port}`);
    assert.match(row.shiftgate_version!, /^\d+\.\d+\.\d+/);
    assert.ok(Number(row.heartbeat_age_ms) < TIMEOUT_MS, `heartbeat age ${row.heartbeat_age_ms}`);

    const started = await query('proxy-a', "SHIFTGATE START '02_rename'");
    assert.equal(started[0]!.name, '02_rename');
    await eventually(
      'the migration is active',
      async () =>
        (await query('proxy-b', 'SHOW SHIFTGATE STATUS'))[0]?.phase === 'active' ? true : undefined,
      30_000,
    );

    // An old-version client on proxy C, and a new-version one on proxy B.
    const old = new pg.Client({
      connectionString: proxies.get('proxy-c')!.proxyUrl,
      application_name: 'old-app',
    });
    await old.connect();
    assert.equal((await old.query('SELECT name FROM users WHERE id = 1')).rows[0].name, 'User 1');
    const fresh = new pg.Client({
      connectionString: proxies.get('proxy-b')!.proxyUrl,
      application_name: 'new-app',
    });
    await fresh.connect();
    await fresh.query("SET shiftgate.version = '02_rename'");
    assert.equal((await fresh.query('SELECT full_name FROM users WHERE id = 1')).rows[0].full_name, 'User 1');

    const sessions = await eventually('the sessions of B and C are seen from A', async () => {
      const rows = await query('proxy-a', 'SHOW SHIFTGATE SESSIONS');
      const oldRow = rows.find((r) => r.application_name === 'old-app');
      const newRow = rows.find((r) => r.application_name === 'new-app');
      return oldRow && newRow ? { rows, oldRow, newRow } : undefined;
    });
    assert.equal(sessions.oldRow.proxy, 'proxy-c');
    assert.equal(sessions.oldRow.admin_only, 'false');
    assert.equal(sessions.newRow.proxy, 'proxy-b');
    assert.equal(sessions.newRow.version, '02_rename');
    assert.ok(
      sessions.rows.some((r) => r.proxy === 'proxy-a' && r.application_name === 'fleet-test-admin'),
      "the asking proxy's own session is listed under its id",
    );
    const byVersion = (await query('proxy-a', 'SHOW SHIFTGATE PROXIES')).find((r) => r.proxy === 'proxy-b')!;
    assert.match(byVersion.sessions_by_version!, /02_rename=1/);

    await assert.rejects(query('proxy-a', 'SHIFTGATE COMPLETE'), (e: { code?: string; message: string }) => {
      assert.equal(e.code, '55006');
      assert.match(e.message, new RegExp(`#${sessions.oldRow.id} .*proxy proxy-c`));
      assert.doesNotMatch(e.message, /proxy-b/, 'the new-version session does not block');
      return true;
    });
    await old.end();

    await eventually("the old session is gone from C's heartbeat", async () =>
      (await query('proxy-a', 'SHOW SHIFTGATE SESSIONS')).some((r) => r.application_name === 'old-app')
        ? undefined
        : true,
    );

    // A session that ran its first statement a moment ago (no heartbeat has carried it yet) blocks too.
    const late = new pg.Client({
      connectionString: proxies.get('proxy-c')!.proxyUrl,
      application_name: 'late-app',
    });
    await late.connect();
    await late.query('SELECT name FROM users WHERE id = 2');
    const lateId = (await query('proxy-c', 'SHOW SHIFTGATE SESSIONS')).find(
      (r) => r.application_name === 'late-app',
    )!.id;
    await assert.rejects(query('proxy-a', 'SHIFTGATE COMPLETE'), (e: { code?: string; message: string }) => {
      assert.equal(e.code, '55006');
      assert.match(e.message, new RegExp(`#${lateId} .*proxy proxy-c`));
      return true;
    });
    await late.end();
    // Proxy C's next heartbeat no longer lists the session.
    const done = await eventually(
      'COMPLETE succeeds once the old session left',
      async () => {
        try {
          return await query('proxy-a', 'SHIFTGATE COMPLETE');
        } catch (err) {
          if ((err as { code?: string }).code === '55006') return undefined;
          throw err;
        }
      },
      10_000,
    );
    assert.deepEqual(done[0], { name: '02_rename', phase: 'completed', status: 'completed' });
    await fresh.end();

    const metrics = await (await fetch(proxies.get('proxy-a')!.metricsUrl)).text();
    assert.match(metrics, /shiftgate_fleet_proxies 3/);
    assert.match(metrics, /shiftgate_fleet_sessions\{proxy="proxy-/);
  });

  test('a proxy killed with SIGKILL drops out after the timeout; one stopped with SIGTERM at once', async () => {
    const b = proxies.get('proxy-b')!;
    b.child.kill('SIGKILL');
    await b.exited;
    proxies.delete('proxy-b');
    const killedAt = Date.now();
    assert.ok((await liveProxies('proxy-a')).includes('proxy-b'), 'still listed right after the kill');
    await eventually('proxy-b drops out', async () =>
      (await liveProxies('proxy-a')).includes('proxy-b') ? undefined : true,
    );
    const gone = Date.now() - killedAt;
    assert.ok(gone > TIMEOUT_MS - 1500 && gone < TIMEOUT_MS + 2000, `dropped out after ${gone} ms`);

    const c = proxies.get('proxy-c')!;
    await c.stop();
    proxies.delete('proxy-c');
    assert.deepEqual(await liveProxies('proxy-a'), ['proxy-a'], 'the stopped proxy removed its row');
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    const rows = await direct.query('SELECT id FROM shiftgate.proxies ORDER BY id');
    await direct.end();
    assert.ok(!rows.rows.some((r) => r.id === 'proxy-c'), 'no row left behind by the SIGTERM exit');
  });
});
