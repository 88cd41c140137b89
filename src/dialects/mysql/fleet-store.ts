/**
 * The fleet's heartbeat rows in the `shiftgate` database of the upstream
 * MySQL / MariaDB server (DESIGN.md section 7), on a connection of their
 * own. That database is shared by every database of the server, so rows
 * carry the scope (the database the proxies serve). Ages come from the
 * server's clock, so proxies' clocks never matter.
 */

import mysql, { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { ControlsChange, FleetControls } from '../../fleet/controls.ts';
import type {
  FleetSession,
  FleetStore,
  LatencySummary,
  LiveProxy,
  ProxyHeartbeat,
} from '../../fleet/heartbeat.ts';
import { STATE_DATABASE } from './state-store.ts';

const TABLE = `\`${STATE_DATABASE}\`.proxies`;
const CONTROLS = `\`${STATE_DATABASE}\`.fleet_controls`;

const DDL = [
  `CREATE DATABASE IF NOT EXISTS \`${STATE_DATABASE}\``,
  `CREATE TABLE IF NOT EXISTS ${TABLE} (
  scope             varchar(64) NOT NULL,
  id                varchar(191) NOT NULL,
  host              varchar(255) NOT NULL,
  listen            varchar(255) NOT NULL,
  peer              varchar(255),
  shiftgate_version varchar(64) NOT NULL,
  pid               int NOT NULL,
  started_at        datetime(6) NOT NULL,
  heartbeat_at      datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  running           varchar(191),
  sessions          longtext NOT NULL,
  latency           longtext NOT NULL,
  PRIMARY KEY (scope, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${CONTROLS} (
  scope      varchar(64) NOT NULL PRIMARY KEY,
  revision   bigint NOT NULL DEFAULT 1,
  paused     tinyint(1) NOT NULL DEFAULT 0,
  knobs      longtext NOT NULL,
  rollback   varchar(191),
  updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

type Row = RowDataPacket & Record<string, unknown>;

/** ER_DUP_FIELDNAME: another proxy added the column first. */
const DUPLICATE_COLUMN = 1060;

function toLiveProxy(r: Row): LiveProxy {
  return {
    id: String(r.id),
    host: String(r.host),
    listen: String(r.listen),
    peer: r.peer === null ? null : String(r.peer),
    shiftgateVersion: String(r.shiftgate_version),
    pid: Number(r.pid),
    startedAt: r.started_at as Date,
    heartbeatAt: r.heartbeat_at as Date,
    heartbeatAgeMs: Math.max(0, Number(r.age_ms)),
    running: r.running === null ? null : String(r.running),
    sessions: JSON.parse(String(r.sessions)) as FleetSession[],
    latency: JSON.parse(String(r.latency)) as LatencySummary,
  };
}

export class MysqlFleetStore implements FleetStore {
  private gone = false;

  private constructor(private readonly conn: Connection) {
    conn.on('error', () => {
      this.gone = true;
    });
  }

  static async connect(url: string): Promise<MysqlFleetStore> {
    const conn = await mysql.createConnection({
      uri: url,
      timezone: 'Z',
      connectAttributes: { program_name: 'shiftgate-fleet' },
    });
    const store = new MysqlFleetStore(conn);
    try {
      await conn.query("SET SESSION time_zone = '+00:00'");
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return store;
  }

  get lost(): boolean {
    return this.gone;
  }

  private async query<T extends Row[] | ResultSetHeader>(sql: string, params: unknown[] = []): Promise<T> {
    try {
      // A heartbeat stuck behind a hung server must not hold up the next one forever.
      const [result] = await this.conn.query<T>({ sql, timeout: 10_000 }, params);
      return result;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal) this.gone = true;
      throw err;
    }
  }

  async init(): Promise<void> {
    const r = await this.query<Row[]>(
      `SELECT (SELECT COUNT(*) FROM information_schema.TABLES
                WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('proxies', 'fleet_controls')) AS tables,
              (SELECT COUNT(*) FROM information_schema.COLUMNS
                WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'proxies' AND COLUMN_NAME = 'peer') AS peer`,
      [STATE_DATABASE, STATE_DATABASE],
    );
    if (Number(r[0]!.tables) === 2 && Number(r[0]!.peer) === 1) return;
    for (const sql of DDL) await this.query(sql);
    // A table created before proxies forwarded cancels to each other (MySQL has no ADD COLUMN IF NOT EXISTS).
    await this.query(`ALTER TABLE ${TABLE} ADD COLUMN peer varchar(255) AFTER listen`).catch((err) => {
      if ((err as { errno?: number }).errno !== DUPLICATE_COLUMN) throw err;
    });
  }

  async beat(scope: string, h: ProxyHeartbeat): Promise<void> {
    await this.query(
      `INSERT INTO ${TABLE} (scope, id, host, listen, peer, shiftgate_version, pid, started_at, heartbeat_at, running, sessions, latency)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW(6), ?, ?, ?)
       ON DUPLICATE KEY UPDATE host = VALUES(host), listen = VALUES(listen), peer = VALUES(peer),
              shiftgate_version = VALUES(shiftgate_version), pid = VALUES(pid), started_at = VALUES(started_at),
              heartbeat_at = VALUES(heartbeat_at), running = VALUES(running), sessions = VALUES(sessions),
              latency = VALUES(latency)`,
      [
        scope,
        h.id,
        h.host,
        h.listen,
        h.peer,
        h.shiftgateVersion,
        h.pid,
        h.startedAt,
        h.running,
        JSON.stringify(h.sessions),
        JSON.stringify(h.latency),
      ],
    );
  }

  async live(scope: string, timeoutMs: number): Promise<LiveProxy[]> {
    const rows = await this.query<Row[]>(
      `SELECT id, host, listen, peer, shiftgate_version, pid, started_at, heartbeat_at, running, sessions, latency,
              TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(6)) / 1000 AS age_ms
         FROM ${TABLE}
        WHERE scope = ? AND heartbeat_at > NOW(6) - INTERVAL ? MICROSECOND
        ORDER BY id`,
      [scope, Math.round(timeoutMs * 1000)],
    );
    return rows.map(toLiveProxy);
  }

  async sweep(scope: string, olderThanMs: number): Promise<number> {
    const r = await this.query<ResultSetHeader>(
      `DELETE FROM ${TABLE} WHERE scope = ? AND heartbeat_at < NOW(6) - INTERVAL ? MICROSECOND`,
      [scope, Math.round(olderThanMs * 1000)],
    );
    return r.affectedRows;
  }

  async remove(scope: string, id: string): Promise<void> {
    await this.query(`DELETE FROM ${TABLE} WHERE scope = ? AND id = ?`, [scope, id]);
  }

  async controls(scope: string): Promise<FleetControls | null> {
    const rows = await this.query<Row[]>(
      `SELECT revision, paused, knobs, rollback FROM ${CONTROLS} WHERE scope = ?`,
      [scope],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      revision: Number(row.revision),
      paused: Number(row.paused) === 1,
      knobs: JSON.parse(String(row.knobs)) as Record<string, string>,
      rollback: row.rollback === null ? null : String(row.rollback),
    };
  }

  async changeControls(scope: string, change: ControlsChange): Promise<void> {
    const knobs = change.knobs ? JSON.stringify(change.knobs) : null;
    const setsRollback = change.rollback !== undefined ? 1 : 0;
    await this.query(
      `INSERT INTO ${CONTROLS} (scope, paused, knobs, rollback)
       VALUES (?, COALESCE(?, 0), COALESCE(?, '{}'), IF(?, ?, NULL))
       ON DUPLICATE KEY UPDATE revision = revision + 1, paused = COALESCE(?, paused),
              knobs = JSON_MERGE_PATCH(knobs, COALESCE(?, '{}')), rollback = IF(?, ?, rollback),
              updated_at = NOW(6)`,
      [
        scope,
        change.paused ?? null,
        knobs,
        setsRollback,
        change.rollback ?? null,
        change.paused ?? null,
        knobs,
        setsRollback,
        change.rollback ?? null,
      ],
    );
  }

  async close(): Promise<void> {
    this.gone = true;
    await this.conn.end().catch(() => this.conn.destroy());
  }
}
