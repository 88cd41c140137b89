/**
 * A throwaway MariaDB / MySQL database with the clients a migration test
 * needs, and its schema fingerprint: the MySQL side of db.ts,
 * fingerprint.ts and the lifecycle harness.
 */
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { connectMigrationEngine } from '../../../src/dialects/index.ts';
import type { EngineOptions, MigrationEngine } from '../../../src/migrations/index.ts';
import { createMysqlDatabase, type TestDatabase } from '../../helpers/databases.ts';
import { type LifecycleCase, type LifecycleDatabase, runLifecycleOn } from './lifecycle.ts';

export interface MysqlMigrationDb {
  database: TestDatabase;
  url: string;
  /** A plain session: an old-version writer (it never sets `@shiftgate_version`). */
  sql: Connection;
  /** Opens a session bound to `version` (as the proxy binds it upstream). */
  session(version?: string): Promise<Connection>;
  engine(options?: Partial<EngineOptions>): Promise<MigrationEngine>;
  close(): Promise<void>;
}

export async function mysqlMigrationDb(prefix: string): Promise<MysqlMigrationDb> {
  const database = await createMysqlDatabase(prefix);
  const clients: Connection[] = [];
  const engines: MigrationEngine[] = [];
  const connect = async () => {
    const c = await mysql.createConnection({ uri: database.url, multipleStatements: true });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const sql = await connect();
  return {
    database,
    url: database.url,
    sql,
    async session(version) {
      const c = await connect();
      if (version) await c.query('SET @shiftgate_version = ?', [version]);
      return c;
    },
    async engine(options = {}) {
      const e = await connectMigrationEngine({ url: database.url, ...options });
      engines.push(e);
      return e;
    },
    async close() {
      for (const e of engines) await e.close().catch(() => {});
      for (const c of clients) await c.end().catch(() => {});
      // The state rows of this database go with it: the shared `shiftgate` database is left to others.
      const admin = await mysql.createConnection({ uri: database.url });
      await admin
        .query('DELETE FROM shiftgate.migrations WHERE schema_name = ?', [database.name])
        .catch(() => {});
      await admin
        .query('DELETE FROM shiftgate.events WHERE schema_name = ?', [database.name])
        .catch(() => {});
      await admin.end();
      await database.drop();
    },
  };
}

export async function mysqlRows<T = Record<string, unknown>>(
  conn: Connection,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const [r] = await conn.query<RowDataPacket[]>(sql, params);
  return r as T[];
}

export async function mysqlColumns(conn: Connection, table: string): Promise<string[]> {
  const r = await mysqlRows<{ name: string }>(
    conn,
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table],
  );
  return r.map((x) => x.name);
}

/** Everything a rollback must restore exactly, from information_schema. */
export async function mysqlFingerprint(conn: Connection): Promise<unknown> {
  const q = (sql: string) => mysqlRows(conn, sql);
  return {
    tables: await q(`SELECT TABLE_NAME, TABLE_COMMENT, ENGINE FROM information_schema.TABLES
                      WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1`),
    columns:
      await q(`SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
                             EXTRA, COLUMN_COMMENT, COLLATION_NAME, GENERATION_EXPRESSION
                        FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 3`),
    constraints:
      await q(`SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS
                           WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1, 2`),
    checks:
      await q(`SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
                      WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1, 2`),
    foreignKeys: await q(`SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.ORDINAL_POSITION,
                                 k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE
                            FROM information_schema.KEY_COLUMN_USAGE k
                            JOIN information_schema.REFERENTIAL_CONSTRAINTS r
                              ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
                             AND r.TABLE_NAME = k.TABLE_NAME
                           WHERE k.TABLE_SCHEMA = DATABASE() ORDER BY 1, 2, 4`),
    indexes:
      await q(`SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, COLLATION, INDEX_TYPE
                        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2, 3`),
    triggers:
      await q(`SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER,
                              ACTION_STATEMENT
                         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1, 2`),
  };
}

/** Names of objects Shiftgate creates temporarily; none may survive complete or rollback. */
export async function mysqlLeftovers(conn: Connection): Promise<string[]> {
  const r = await mysqlRows<{ name: string }>(
    conn,
    `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME LIKE '\\_shiftgate%'
     UNION ALL
     SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME LIKE '\\_shiftgate%'
     UNION ALL
     SELECT CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME LIKE '\\_shiftgate%'
     UNION ALL
     SELECT TRIGGER_NAME FROM information_schema.TRIGGERS
      WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE '\\_shiftgate%'
     UNION ALL
     SELECT TABLE_NAME FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_shiftgate%'`,
  );
  return r.map((row) => row.name);
}

async function openMysql(prefix: string): Promise<LifecycleDatabase<MysqlMigrationDb>> {
  const db = await mysqlMigrationDb(prefix);
  return {
    db,
    setup: async (sql) => {
      await db.sql.query(sql);
    },
    engine: (options) => db.engine(options),
    fingerprint: () => mysqlFingerprint(db.sql),
    leftovers: () => mysqlLeftovers(db.sql),
    close: () => db.close(),
  };
}

export function runMysqlLifecycle(prefix: string, c: LifecycleCase<MysqlMigrationDb>): Promise<void> {
  return runLifecycleOn(openMysql, prefix, c);
}
