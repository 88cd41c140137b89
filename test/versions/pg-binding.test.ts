/**
 * The proxy's version binding and the server's `shiftgate.version` setting
 * agree at every statement, whatever the client does to either: SET inside
 * a transaction, in a failed transaction or in a batch that fails, RESET,
 * RESET ALL, DISCARD ALL, set_config. Other `shiftgate.*` settings (the
 * backfill's marker) cannot be changed by a client at all. And admin
 * commands prepared under a name run at every execution.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);
const NEW = '02_email';
const OLD = '(initial)';

describe('PostgreSQL version binding follows the server', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  const clients: pg.Client[] = [];

  async function connect(params: Record<string, string> = {}): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: sg.via(db.url, params) });
    await c.connect();
    clients.push(c);
    return c;
  }

  /** The proxy's binding (SHOW, answered by the proxy) and the server's setting, side by side. */
  async function bindings(c: pg.Client): Promise<{ proxy: string | null; server: string | null }> {
    const proxy = (await c.query('SHOW shiftgate.version')).rows[0]['shiftgate.version'];
    const server = (await c.query("SELECT current_setting('shiftgate.version', true) AS v")).rows[0].v;
    return { proxy, server: server === '' ? null : server };
  }

  async function assertAgree(c: pg.Client, expected: string): Promise<void> {
    assert.deepEqual(await bindings(c), { proxy: expected, server: expected });
  }

  async function sqlstate(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      return (err as { code: string }).code;
    }
    return 'no error';
  }

  before(async () => {
    db = await createPgDatabase('binding');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE u (id serial PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO u (name) SELECT 'User' || g FROM generate_series(1, 50) g");
    await setup.end();
    sg = await startTestShiftgate(db.url);
    sg.writeMigration(
      NEW,
      `operations:\n  - add_column:\n      table: u\n      up: "lower(name) || '@x'"\n      column: { name: email, type: text, nullable: false }\n`,
    );
    await sg.admin(db.url, `SHIFTGATE START '${NEW}'`);
    await sg.waitForPhase(db.url, 'active');
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await sg?.stop();
    await db?.drop();
  });

  test('the reported case through psql: SET in a rolled-back transaction binds nothing and loses no data', async () => {
    const script = [
      'BEGIN;',
      `SET shiftgate.version = '${NEW}';`,
      'ROLLBACK;',
      "INSERT INTO u(name, email) VALUES ('Alice', 'alice@real.example');",
      'SHOW shiftgate.version;',
    ].join('\n');
    // A script file: psql sends each statement on its own, as in an interactive session.
    const file = join(mkdtempSync(join(tmpdir(), 'sg-binding-')), 'script.sql');
    writeFileSync(file, script);
    const { stdout, stderr } = await run('psql', [sg.via(db.url), '-X', '-At', '-f', file]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    const rows = (await check.query("SELECT name, email FROM u WHERE name = 'Alice'")).rows;
    await check.end();
    // Before the fix the INSERT went through and the trigger replaced the email with 'alice@x'.
    assert.deepEqual(rows, []);
    assert.match(stderr, /cannot run inside a transaction block/);
    // Bound to the old version, the INSERT naming the new column is refused instead of being rewritten by the trigger.
    assert.match(stderr, /u\.email: the column does not exist/);
    assert.equal(stdout.trim().split('\n').at(-1), OLD);
  });

  test('a SET of its own binds, and the new version writes its own data', async () => {
    const c = await connect();
    await assertAgree(c, OLD);
    await c.query(`SET shiftgate.version = '${NEW}'`);
    await assertAgree(c, NEW);
    const r = await c.query("INSERT INTO u(name, email) VALUES ('Bea', 'bea@real.example') RETURNING email");
    assert.equal(r.rows[0].email, 'bea@real.example');
    const old = await connect();
    await old.query("INSERT INTO u(name) VALUES ('Cid')");
    const both = await c.query("SELECT name, email FROM u WHERE name IN ('Bea', 'Cid') ORDER BY name");
    assert.deepEqual(both.rows, [
      { name: 'Bea', email: 'bea@real.example' },
      { name: 'Cid', email: 'cid@x' },
    ]);
  });

  test('SET inside a transaction block or a failed transaction is refused and changes neither side', async () => {
    const c = await connect();
    await c.query('BEGIN');
    assert.equal(await sqlstate(c.query(`SET shiftgate.version = '${NEW}'`)), '25001');
    await c.query('ROLLBACK');
    await assertAgree(c, OLD);
    await c.query('BEGIN');
    await sqlstate(c.query('SELECT 1/0'));
    // Refused by the proxy (25001) or, as its refusal runs in the failed transaction, by the server (25P02).
    assert.match(await sqlstate(c.query(`SET shiftgate.version = '${NEW}'`)), /^25(001|P02)$/);
    await c.query('ROLLBACK');
    await assertAgree(c, OLD);
  });

  test('a SET pipelined behind BEGIN waits for the server and is refused', async () => {
    const c = await connect();
    // pg sends each query when the previous one is answered; postgres.js pipelines them.
    const sql = postgres(sg.via(db.url), { max: 1, onnotice: () => {} });
    try {
      const [begin, set] = await Promise.allSettled([
        sql.unsafe('BEGIN'),
        sql.unsafe(`SET shiftgate.version = '${NEW}'`),
        sql.unsafe('ROLLBACK'),
      ]);
      assert.equal(begin.status, 'fulfilled');
      assert.equal(set.status, 'rejected');
      assert.equal((set as PromiseRejectedResult).reason.code, '25001');
      const [row] = await sql.unsafe("SELECT current_setting('shiftgate.version', true) AS server");
      const [shown] = await sql.unsafe('SHOW shiftgate.version');
      assert.deepEqual([row!.server, shown!['shiftgate.version']], [OLD, OLD]);
    } finally {
      await sql.end();
    }
    await assertAgree(c, OLD);
  });

  test('extended protocol: a SET of its own binds; one in a batch that fails is undone on both sides', async () => {
    const sql = postgres(sg.via(db.url), { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`SET shiftgate.version = '${NEW}'`);
      const [a] = await sql.unsafe("SELECT current_setting('shiftgate.version', true) AS v");
      assert.equal(a!.v, NEW);
      const [shown] = await sql.unsafe('SHOW shiftgate.version');
      assert.equal(shown!['shiftgate.version'], NEW);
      // Writes of the bound version keep their own value.
      const [w] = await sql.unsafe(
        "INSERT INTO u(name, email) VALUES ('Dee', 'dee@real.example') RETURNING email",
      );
      assert.equal(w!.email, 'dee@real.example');
    } finally {
      await sql.end();
    }
    // node-postgres sends a parameterised query as Parse/Bind/Execute/Sync; a SET cannot take
    // parameters, so the batch fails at the server, and the binding stays where it was.
    const c = await connect();
    assert.notEqual(await sqlstate(c.query(`SET shiftgate.version = '${NEW}'`, [1])), 'no error');
    await assertAgree(c, OLD);
    // A named prepared SET would run later, in whatever transaction: refused.
    assert.equal(
      await sqlstate(c.query({ name: 'bind', text: `SET shiftgate.version = '${NEW}'` })),
      '0A000',
    );
    await assertAgree(c, OLD);
  });

  test('RESET, SET ... DEFAULT, RESET ALL and DISCARD ALL return both sides to the startup version', async () => {
    const c = await connect();
    for (const reset of [
      'RESET shiftgate.version',
      'SET shiftgate.version = DEFAULT',
      'RESET ALL',
      'DISCARD ALL',
    ]) {
      await c.query(`SET shiftgate.version = '${NEW}'`);
      await assertAgree(c, NEW);
      await c.query(reset);
      await assertAgree(c, OLD);
    }
    // A session that connected bound to the new version goes back to it, not to the default.
    const n = await connect({ options: `-c shiftgate.version=${NEW}` });
    await n.query(`SET shiftgate.version = '${OLD}'`);
    await assertAgree(n, OLD);
    await n.query('DISCARD ALL');
    await assertAgree(n, NEW);
    // Inside a transaction, RESET ALL would be undone by a ROLLBACK: refused while bound by SET.
    await n.query(`SET shiftgate.version = '${OLD}'`);
    await n.query('BEGIN');
    assert.equal(await sqlstate(n.query('RESET ALL')), '25001');
    await n.query('ROLLBACK');
    await assertAgree(n, OLD);
    assert.equal(await sqlstate(n.query('RESET ALL; SELECT 1')), '25001');
    await assertAgree(n, OLD);
  });

  test('set_config and SET of shiftgate.* inside other statements are refused: 42501', async () => {
    const c = await connect();
    for (const sql of [
      `SELECT set_config('shiftgate.version', '${NEW}', false)`,
      `BEGIN; SET shiftgate.version = '${NEW}'; COMMIT`,
      `DO $$BEGIN PERFORM set_config('shiftgate.version', '${NEW}', false); END$$`,
      `ALTER ROLE postgres SET shiftgate.version = '${NEW}'`,
    ]) {
      assert.equal(await sqlstate(c.query(sql)), '42501', sql);
      await assertAgree(c, OLD);
    }
  });

  test('no client can switch the sync triggers off through the proxy', async () => {
    const c = await connect();
    for (const sql of [
      "SET shiftgate.backfill = 'on'",
      "SET LOCAL shiftgate.backfill = 'on'",
      'RESET shiftgate.backfill',
      "SELECT set_config('shiftgate.backfill', 'on', false)",
    ]) {
      assert.equal(await sqlstate(c.query(sql)), '42501', sql);
    }
    // Nor at startup.
    const starter = new pg.Client({
      connectionString: sg.via(db.url, { options: '-c shiftgate.backfill=on' }),
    });
    assert.equal(await sqlstate(starter.connect()), '42501');
    await starter.end().catch(() => {});
    // The old-version write still goes through the trigger.
    await c.query("INSERT INTO u(name) VALUES ('Eve')");
    const mine = await connect({ options: `-c shiftgate.version=${NEW}` });
    const eve = await mine.query("SELECT email FROM u WHERE name = 'Eve'");
    assert.equal(eve.rows[0].email, 'eve@x');
  });

  test('a writer that bypasses the proxy cannot skip the trigger with the old marker value', async () => {
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    try {
      await direct.query('BEGIN');
      await direct.query("SELECT set_config('shiftgate.backfill', 'on', true)");
      await direct.query("INSERT INTO u(name) VALUES ('Fay')");
      await direct.query('COMMIT');
    } finally {
      await direct.end();
    }
    const mine = await connect({ options: `-c shiftgate.version=${NEW}` });
    const fay = await mine.query("SELECT email FROM u WHERE name = 'Fay'");
    assert.equal(fay.rows[0].email, 'fay@x');
  });

  test('named prepared admin commands run at every execution', async () => {
    const c = await connect();
    const status = () => c.query({ name: 'status', text: 'SHOW SHIFTGATE STATUS' });
    const pause = () => c.query({ name: 'pause', text: 'SHIFTGATE PAUSE' });
    const resume = () => c.query({ name: 'resume', text: 'SHIFTGATE RESUME' });
    assert.equal((await status()).rows[0].throttled, 'false');
    await pause();
    assert.equal((await status()).rows[0].throttled, 'true');
    await resume();
    assert.equal((await status()).rows[0].throttled, 'false');
    // The same prepared PAUSE again: it must pause again, not replay its first answer.
    const again = await pause();
    assert.equal(again.rows[0].status, 'backfill paused');
    assert.equal((await status()).rows[0].throttle_reason, 'paused by operator');
    await resume();
    // postgres.js prepares every statement under a name, and describes it before it runs.
    const sql = postgres(sg.via(db.url), { max: 1, prepare: true, onnotice: () => {} });
    try {
      const first = await sql`SHOW SHIFTGATE STATUS`;
      await sql`SHIFTGATE PAUSE`;
      const second = await sql`SHOW SHIFTGATE STATUS`;
      await sql`SHIFTGATE RESUME`;
      assert.deepEqual([first[0]!.throttled, second[0]!.throttled], ['false', 'true']);
      const [v] = await sql`SHOW shiftgate.version`;
      assert.equal(v!['shiftgate.version'], OLD);
    } finally {
      await sql.end();
    }
  });
});
