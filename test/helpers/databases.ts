/**
 * Throwaway databases on the real servers: each test creates its own
 * uniquely named database and drops it, so tests never see each other's
 * data and never touch anything else on the shared servers.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

export const PG_URL = process.env.SHIFTGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_URL = process.env.SHIFTGATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

export interface TestDatabase {
  name: string;
  /** Connection URL of the new database, as the superuser of the admin URL. */
  url: string;
  drop(): Promise<void>;
}

function uniqueName(prefix: string): string {
  return `sg_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
}

export async function createPgDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The tables of the `shiftgate` database, with the column naming the database each row is of. */
const MYSQL_STATE_ROWS = [
  ['migrations', 'schema_name'],
  ['backfill_checkpoints', 'schema_name'],
  ['events', 'schema_name'],
  ['proxies', 'scope'],
  ['fleet_controls', 'scope'],
] as const;

/** Deletes Shiftgate's rows of database `name` from the server's shared `shiftgate` database. */
export async function dropMysqlState(conn: mysql.Connection, name: string): Promise<void> {
  for (const [table, column] of MYSQL_STATE_ROWS) {
    await conn.query(`DELETE FROM shiftgate.${table} WHERE ${column} = ?`, [name]).catch(() => {});
  }
}

/** Whether the MySQL server's shared `shiftgate` database exists. */
async function mysqlStateDatabaseExists(conn: mysql.Connection): Promise<boolean> {
  const [rows] = await conn.query("SHOW DATABASES LIKE 'shiftgate'");
  return (rows as unknown[]).length > 0;
}

/**
 * Drops the `shiftgate` database a run's migrations and proxies created on
 * the MySQL server, once every test or bench has deleted its rows (see
 * `dropMysqlState`): what is left otherwise is an empty database no one
 * asked for. One that still holds a row is left alone, and its tables are
 * named. Only `watchMysqlStateDatabase` knows when it is safe to call.
 */
async function dropEmptyMysqlStateDatabase(conn: mysql.Connection): Promise<string> {
  const [tables] = (await conn.query(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'shiftgate'",
  )) as unknown as [{ name: string }[]];
  const holding: string[] = [];
  for (const { name } of tables) {
    const [[row]] = (await conn.query(`SELECT count(*) AS n FROM shiftgate.\`${name}\``)) as unknown as [
      [{ n: number }],
    ];
    if (Number(row!.n) > 0) holding.push(`${name} (${row!.n})`);
  }
  if (holding.length > 0) return `left the shiftgate database on MySQL: rows remain in ${holding.join(', ')}`;
  await conn.query('DROP DATABASE IF EXISTS shiftgate');
  return 'dropped the empty shiftgate database this run created on MySQL';
}

/** How many runs may share one MySQL server and still see each other (one named lock each). */
const RUN_SLOTS = 32;
const runLock = (slot: number) => `shiftgate_test_run_${slot}`;

/**
 * A named lock this run (of the tests, or a benchmark) holds on the MySQL
 * server for as long as it runs (the server frees it if the run dies), so
 * that a run that ends while another is running leaves the shared
 * `shiftgate` database alone. Null when every slot is taken.
 */
async function holdRunSlot(conn: mysql.Connection): Promise<{ othersRunning(): Promise<boolean> } | null> {
  for (let slot = 1; slot <= RUN_SLOTS; slot++) {
    const [[row]] = (await conn.query('SELECT GET_LOCK(?, 0) AS got', [runLock(slot)])) as unknown as [
      [{ got: number | null }],
    ];
    if (row?.got !== 1) continue;
    return {
      async othersRunning() {
        for (let other = 1; other <= RUN_SLOTS; other++) {
          if (other === slot) continue;
          const [[used]] = (await conn.query('SELECT IS_USED_LOCK(?) AS holder', [
            runLock(other),
          ])) as unknown as [[{ holder: number | null }]];
          if (used?.holder !== null && used?.holder !== undefined) return true;
        }
        return false;
      },
    };
  }
  return null;
}

export interface MysqlStateWatch {
  /**
   * Drops the `shiftgate` database if it did not exist when the watch
   * began, every table is empty, and no other run holds a slot; says what
   * it did (null: nothing to tidy, or no MySQL server).
   */
  tidy(): Promise<string | null>;
}

/**
 * Begins a run that may create the MySQL server's shared `shiftgate`
 * database (any MySQL migration does; each test or bench deletes only its
 * own rows): `tidy` at its end leaves the server as the run found it.
 */
export async function watchMysqlStateDatabase(): Promise<MysqlStateWatch> {
  let conn: mysql.Connection | null = null;
  let existed: boolean;
  let slot: Awaited<ReturnType<typeof holdRunSlot>>;
  try {
    conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
    // Idle for the whole run: if the server drops it, the slot is gone and tidy leaves the database.
    conn.on('error', () => {});
    existed = await mysqlStateDatabaseExists(conn);
    slot = await holdRunSlot(conn);
  } catch {
    await conn?.end().catch(() => {});
    return { tidy: async () => null }; // No MySQL server to tidy.
  }
  const held = conn;
  return {
    async tidy() {
      try {
        if (existed || !(await mysqlStateDatabaseExists(held))) return null;
        if (slot === null || (await slot.othersRunning()))
          return 'left the shiftgate database on MySQL: another run is using the server';
        return await dropEmptyMysqlStateDatabase(held);
      } catch (err) {
        // Tidying is a courtesy: it must never fail the run it follows.
        return `left the shiftgate database on MySQL: ${(err as Error).message}`;
      } finally {
        await held.end().catch(() => {});
      }
    },
  };
}

export async function createMysqlDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = await mysql.createConnection(MYSQL_URL);
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = await mysql.createConnection(MYSQL_URL);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      // The shiftgate database is shared by every database of the server: this one's rows go too.
      await dropMysqlState(c, name);
      await c.end();
    },
  };
}
