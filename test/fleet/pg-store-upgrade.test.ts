/**
 * A state store whose `shiftgate.proxies` table was created before proxies
 * forwarded cancels to each other (no `peer` column) is upgraded in place
 * by the fleet store's init, and the heartbeat then carries the peer
 * address and each session's backend id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PostgresFleetStore } from '../../src/dialects/postgres/fleet-store.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';

describe('PostgreSQL fleet store upgrade', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createPgDatabase('fleet_upgrade');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    // The table as the first fleet release created it.
    await setup.query(`
      CREATE SCHEMA shiftgate;
      CREATE TABLE shiftgate.proxies (
        scope text NOT NULL, id text NOT NULL, host text NOT NULL, listen text NOT NULL,
        shiftgate_version text NOT NULL, pid integer NOT NULL, started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(), running text,
        sessions jsonb NOT NULL, latency jsonb NOT NULL, PRIMARY KEY (scope, id));
      CREATE TABLE shiftgate.fleet_controls (
        scope text PRIMARY KEY, revision bigint NOT NULL DEFAULT 1, paused boolean NOT NULL DEFAULT false,
        knobs jsonb NOT NULL DEFAULT '{}', rollback text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
      INSERT INTO shiftgate.proxies (scope, id, host, listen, shiftgate_version, pid, started_at, sessions, latency)
      VALUES ('app', 'old-proxy', 'h', '127.0.0.1:6432', '0.1.0', 1, now(), '[]', '{}');
    `);
    await setup.end();
  });

  after(async () => {
    await db.drop();
  });

  test('init adds the peer column; old rows read with no peer, new heartbeats carry it', async () => {
    const store = await PostgresFleetStore.connect(db.url);
    try {
      await store.init();
      await store.beat('app', {
        id: 'new-proxy',
        host: 'h',
        listen: '127.0.0.1:6433',
        peer: '127.0.0.1:7001',
        shiftgateVersion: '0.1.0',
        pid: 2,
        startedAt: new Date(),
        sessions: [
          {
            id: 1,
            user: 'app',
            database: 'app',
            clientAddress: '127.0.0.1:5000',
            applicationName: null,
            version: null,
            connectedAt: new Date().toISOString(),
            statements: 0,
            p99Ms: null,
            adminOnly: false,
            backendId: 4242,
          },
        ],
        latency: { windowSeconds: 60, count: 0, p50Ms: null, p99Ms: null, buckets: [] },
        running: null,
      });
      const live = await store.live('app', 60_000);
      assert.deepEqual(
        live.map((p) => [p.id, p.peer]),
        [
          ['new-proxy', '127.0.0.1:7001'],
          ['old-proxy', null],
        ],
      );
      assert.equal(live[0]!.sessions[0]!.backendId, 4242);
    } finally {
      await store.close();
    }
  });
});
