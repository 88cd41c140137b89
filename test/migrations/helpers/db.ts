/** A throwaway database with the clients a migration test needs. */
import pg from 'pg';
import { connectMigrationEngine } from '../../../src/dialects/index.ts';
import type { Migration } from '../../../src/migrations/format.ts';
import type { EngineOptions, MigrationEngine } from '../../../src/migrations/index.ts';
import { parseMigration } from '../../../src/migrations/parse.ts';
import { createPgDatabase, type TestDatabase } from '../../helpers/databases.ts';

export interface MigrationDb {
  database: TestDatabase;
  url: string;
  /** A plain session: an old-version writer (it never sets `shiftgate.version`). */
  sql: pg.Client;
  /** Opens a session bound to `version` (as the proxy would bind it upstream). */
  session(version?: string): Promise<pg.Client>;
  engine(options?: Partial<EngineOptions>): Promise<MigrationEngine>;
  close(): Promise<void>;
}

export async function migrationDb(prefix: string): Promise<MigrationDb> {
  const database = await createPgDatabase(prefix);
  const clients: pg.Client[] = [];
  const engines: MigrationEngine[] = [];
  const connect = async () => {
    const c = new pg.Client({ connectionString: database.url });
    c.on('error', () => {});
    await c.connect();
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
      if (version) await c.query(`SET shiftgate.version = '${version}'`);
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
      await database.drop();
    },
  };
}

/** A migration from inline operations, named as a file would name it. */
export function migration(name: string, operations: unknown[]): Migration {
  return parseMigration({ operations }, `${name}.yaml`);
}

export async function rows<T = Record<string, unknown>>(
  client: pg.Client,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

export async function columns(client: pg.Client, table: string): Promise<string[]> {
  const r = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return r.rows.map((x) => x.attname);
}
