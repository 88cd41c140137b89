/**
 * What the end-to-end throttle tests share: a table of `events` rows with
 * a Shiftgate in front holding an add_column migration (a backfill of every
 * row), a client load whose statement latency the test turns up and down,
 * and the reading of STATUS while the backfill runs.
 */
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from './databases.ts';
import { startTestShiftgate, type TestShiftgate } from './shiftgate.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type StatusRow = Record<string, string | null>;

export interface EventsBackfill {
  db: TestDatabase;
  sg: TestShiftgate;
  /** SHOW SHIFTGATE STATUS, its one row. */
  status(): Promise<StatusRow>;
  /** Rows the backfill does in one second, checked to be still mid-way at the end of it. */
  rate(): Promise<number>;
  close(): Promise<void>;
}

/** Fails unless the backfill is still running with rows left. */
export function assertStillBackfilling(s: StatusRow): void {
  assert.equal(s.phase, 'backfilling', `still backfilling: ${JSON.stringify(s)}`);
  // No progress yet: the backfill is still counting its table (it has no checkpoint before that).
  if (s.rows_done === null && s.rows_total === null) return;
  // The total of a large table is the planner's estimate, raised to the rows done as they pass it.
  assert.ok(Number(s.rows_done) <= Number(s.rows_total), `rows ${s.rows_done} of ${s.rows_total}`);
}

/** A database with `rows` events and a Shiftgate (with these config flags) holding migration `add_digest`. */
export async function openEventsBackfill(
  name: string,
  rows: number,
  flags: Record<string, string>,
): Promise<EventsBackfill> {
  const db = await createPgDatabase(name);
  const setup = new pg.Client({ connectionString: db.url });
  await setup.connect();
  await setup.query('CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)');
  await setup.query(`INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, ${rows}) g`);
  await setup.end();
  const sg = await startTestShiftgate(db.url, flags);
  sg.writeMigration(
    'add_digest',
    'operations:\n  - add_column:\n      table: events\n      column: { name: digest, type: text }\n      up: "md5(payload)"\n',
  );
  const status = async () => (await sg.admin(db.url, 'SHOW SHIFTGATE STATUS'))[0]!;
  return {
    db,
    sg,
    status,
    async rate() {
      const start = Number((await status()).rows_done ?? 0);
      await sleep(1000);
      const s = await status();
      assertStillBackfilling(s);
      return Number(s.rows_done) - start;
    },
    async close() {
      await sg.stop();
      await db.drop();
    },
  };
}

export interface SleepLoad {
  /** Each client statement sleeps this long from now on. */
  set(seconds: number): void;
  /** Ends the loop and the clients; calling it again waits for the same end. */
  stop(): Promise<void>;
}

/** One client of a sleep load: runs a statement that sleeps `seconds`, and ends. */
interface SleepClient {
  sleep(seconds: number): Promise<unknown>;
  end(): Promise<void>;
}

/** Two clients through `url`, each running `SELECT pg_sleep(<seconds>)` back to back. */
export function startSleepLoad(url: string, seconds: number): Promise<SleepLoad> {
  return startLoad(seconds, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return { sleep: (s) => c.query(`SELECT pg_sleep(${s})`), end: () => c.end() };
  });
}

/** Two clients through `url` (MySQL / MariaDB), each running `SELECT SLEEP(<seconds>)` back to back. */
export function startMysqlSleepLoad(url: string, seconds: number): Promise<SleepLoad> {
  return startLoad(seconds, async () => {
    const c = await mysql.createConnection(url);
    return { sleep: (s) => c.query(`SELECT SLEEP(${s})`), end: () => c.end() };
  });
}

async function startLoad(seconds: number, open: () => Promise<SleepClient>): Promise<SleepLoad> {
  let sleepSeconds = seconds;
  let running = true;
  let stopped: Promise<void> | undefined;
  const clients = await Promise.all([1, 2].map(open));
  const loops = clients.map(async (c) => {
    while (running) await c.sleep(sleepSeconds);
  });
  return {
    set(next: number) {
      sleepSeconds = next;
    },
    stop() {
      running = false;
      // Idempotent: a test may stop the load mid-way and again in its `finally`.
      stopped ??= Promise.all(loops).then(() =>
        Promise.all(clients.map((c) => c.end())).then(() => undefined),
      );
      return stopped;
    },
  };
}
