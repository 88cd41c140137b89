/**
 * The fleet's heartbeat rows in the `shiftgate` schema of the upstream
 * PostgreSQL database (DESIGN.md section 7), on a connection of their own.
 * Ages come from the database's clock, so proxies' clocks never matter.
 */

import pg from 'pg';
import type { ControlsChange, FleetControls } from '../../fleet/controls.ts';
import type {
  FleetSession,
  FleetStore,
  LatencySummary,
  LiveProxy,
  ProxyHeartbeat,
} from '../../fleet/heartbeat.ts';
import { INIT_LOCK_CLASS, INIT_LOCK_NAME } from './state-store.ts';
import { STATE_SCHEMA } from './triggers.ts';

const S = STATE_SCHEMA;
const TABLE = `${S}.proxies`;
const CONTROLS = `${S}.fleet_controls`;

const DDL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${TABLE} (
  scope             text NOT NULL,
  id                text NOT NULL,
  host              text NOT NULL,
  listen            text NOT NULL,
  peer              text,
  shiftgate_version text NOT NULL,
  pid               integer NOT NULL,
  started_at        timestamptz NOT NULL,
  heartbeat_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  running           text,
  sessions          jsonb NOT NULL,
  latency           jsonb NOT NULL,
  PRIMARY KEY (scope, id)
);
-- A table created before proxies forwarded cancels to each other.
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS peer text;
CREATE TABLE IF NOT EXISTS ${CONTROLS} (
  scope      text PRIMARY KEY,
  revision   bigint NOT NULL DEFAULT 1,
  paused     boolean NOT NULL DEFAULT false,
  knobs      jsonb NOT NULL DEFAULT '{}',
  rollback   text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
`;

interface ProxyRow {
  id: string;
  host: string;
  listen: string;
  peer: string | null;
  shiftgate_version: string;
  pid: number;
  started_at: Date;
  heartbeat_at: Date;
  age_ms: number;
  running: string | null;
  sessions: FleetSession[];
  latency: LatencySummary;
}

function toLiveProxy(r: ProxyRow): LiveProxy {
  return {
    id: r.id,
    host: r.host,
    listen: r.listen,
    peer: r.peer,
    shiftgateVersion: r.shiftgate_version,
    pid: r.pid,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    heartbeatAgeMs: Math.max(0, r.age_ms),
    running: r.running,
    sessions: r.sessions,
    latency: r.latency,
  };
}

export class PostgresFleetStore implements FleetStore {
  private gone = false;
  /** The heartbeat and the admin console's reads share the connection: their queries go one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly client: pg.Client) {
    // A dropped connection surfaces as the failing query's error; without a listener it would crash the process.
    client.on('error', () => {
      this.gone = true;
    });
    client.on('end', () => {
      this.gone = true;
    });
  }

  static async connect(url: string): Promise<PostgresFleetStore> {
    const client = new pg.Client({
      connectionString: url,
      application_name: 'shiftgate-fleet',
      // A heartbeat stuck behind a hung server must not hold up the next one forever.
      query_timeout: 10_000,
    });
    const store = new PostgresFleetStore(client);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return store;
  }

  get lost(): boolean {
    return this.gone;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  async init(): Promise<void> {
    return this.serial(async () => {
      const r = await this.client.query<{ ok: boolean }>(
        `SELECT to_regclass('${CONTROLS}') IS NOT NULL
                AND EXISTS (SELECT FROM pg_attribute
                             WHERE attrelid = to_regclass('${TABLE}') AND attname = 'peer' AND NOT attisdropped) AS ok`,
      );
      if (r.rows[0]!.ok) return;
      // The same lock as the migration state store's init: concurrent CREATE ... IF NOT EXISTS collide otherwise.
      await this.client.query('BEGIN');
      try {
        await this.client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          INIT_LOCK_CLASS,
          INIT_LOCK_NAME,
        ]);
        await this.client.query(DDL);
        await this.client.query('COMMIT');
      } catch (err) {
        await this.client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async beat(scope: string, h: ProxyHeartbeat): Promise<void> {
    return this.serial(async () => {
      await this.client.query(
        `INSERT INTO ${TABLE} (scope, id, host, listen, peer, shiftgate_version, pid, started_at, heartbeat_at, running, sessions, latency)
         VALUES ($1, $2, $3, $4, $11, $5, $6, $7, clock_timestamp(), $8, $9, $10)
         ON CONFLICT (scope, id) DO UPDATE
            SET host = EXCLUDED.host, listen = EXCLUDED.listen, peer = EXCLUDED.peer, shiftgate_version = EXCLUDED.shiftgate_version,
                pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,
                running = EXCLUDED.running, sessions = EXCLUDED.sessions, latency = EXCLUDED.latency`,
        [
          scope,
          h.id,
          h.host,
          h.listen,
          h.shiftgateVersion,
          h.pid,
          h.startedAt,
          h.running,
          JSON.stringify(h.sessions),
          JSON.stringify(h.latency),
          h.peer,
        ],
      );
    });
  }

  async live(scope: string, timeoutMs: number): Promise<LiveProxy[]> {
    return this.serial(async () => {
      const r = await this.client.query<ProxyRow>(
        `SELECT id, host, listen, peer, shiftgate_version, pid, started_at, heartbeat_at, running, sessions, latency,
                (extract(epoch FROM clock_timestamp() - heartbeat_at) * 1000)::float8 AS age_ms
           FROM ${TABLE}
          WHERE scope = $1 AND heartbeat_at > clock_timestamp() - make_interval(secs => $2::float8 / 1000)
          ORDER BY id`,
        [scope, timeoutMs],
      );
      return r.rows.map(toLiveProxy);
    });
  }

  async sweep(scope: string, olderThanMs: number): Promise<number> {
    return this.serial(async () => {
      const r = await this.client.query(
        `DELETE FROM ${TABLE} WHERE scope = $1 AND heartbeat_at < clock_timestamp() - make_interval(secs => $2::float8 / 1000)`,
        [scope, olderThanMs],
      );
      return r.rowCount ?? 0;
    });
  }

  async remove(scope: string, id: string): Promise<void> {
    return this.serial(async () => {
      await this.client.query(`DELETE FROM ${TABLE} WHERE scope = $1 AND id = $2`, [scope, id]);
    });
  }

  async controls(scope: string): Promise<FleetControls | null> {
    return this.serial(async () => {
      const r = await this.client.query<{
        revision: string;
        paused: boolean;
        knobs: Record<string, string>;
        rollback: string | null;
      }>(`SELECT revision, paused, knobs, rollback FROM ${CONTROLS} WHERE scope = $1`, [scope]);
      const row = r.rows[0];
      return row
        ? { revision: Number(row.revision), paused: row.paused, knobs: row.knobs, rollback: row.rollback }
        : null;
    });
  }

  async changeControls(scope: string, change: ControlsChange): Promise<void> {
    return this.serial(async () => {
      await this.client.query(
        `INSERT INTO ${CONTROLS} AS c (scope, paused, knobs, rollback)
         VALUES ($1, COALESCE($2, false), COALESCE($3::jsonb, '{}'), CASE WHEN $4 THEN $5 END)
         ON CONFLICT (scope) DO UPDATE
            SET revision = c.revision + 1, paused = COALESCE($2, c.paused), knobs = c.knobs || COALESCE($3::jsonb, '{}'),
                rollback = CASE WHEN $4 THEN $5 ELSE c.rollback END, updated_at = clock_timestamp()`,
        [
          scope,
          change.paused ?? null,
          change.knobs ? JSON.stringify(change.knobs) : null,
          change.rollback !== undefined,
          change.rollback ?? null,
        ],
      );
    });
  }

  async close(): Promise<void> {
    this.gone = true;
    await this.client.end().catch(() => {});
  }
}
