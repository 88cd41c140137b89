/**
 * The admin console through the PostgreSQL proxy: every command through pg
 * (simple and extended protocol), postgres.js and psql, authorisation,
 * syntax errors, and COMPLETE refused while old-version sessions remain.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { createPgDatabase, PG_URL, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);

const COMMANDS = [
  'SHOW SHIFTGATE STATUS',
  'SHOW SHIFTGATE MIGRATIONS',
  'SHOW SHIFTGATE SESSIONS',
  "SHIFTGATE START '02_rename'",
  'SHIFTGATE PAUSE',
  'SHIFTGATE RESUME',
  'SHIFTGATE SET max_batch = 500',
  'SHIFTGATE COMPLETE',
  'SHIFTGATE COMPLETE FORCE',
  'SHIFTGATE ROLLBACK',
];

describe('admin console (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let url: string;
  const appUser = `sg_app_${process.pid}`;

  before(async () => {
    db = await createPgDatabase('console');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO users (name) SELECT 'User ' || g FROM generate_series(1, 2000) g");
    await setup.query(`DROP ROLE IF EXISTS ${appUser}`);
    await setup.query(`CREATE ROLE ${appUser} LOGIN`);
    await setup.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${appUser}`);
    await setup.end();
    sg = await startTestShiftgate(db.url);
    url = db.url;
    sg.writeMigration(
      '02_rename',
      'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    );
    sg.writeMigration(
      '03_email',
      [
        'operations:',
        '  - add_column:',
        '      table: users',
        '      column: { name: email, type: text, nullable: false }',
        `      up: "lower(replace(full_name, ' ', '.')) || '@example.com'"`,
      ].join('\n'),
    );
    sg.writeMigration('bad', 'operations:\n  - add_column:\n      table: users\n      column: { name: x }\n');
  });

  after(async () => {
    await sg.stop();
    await db.drop();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${appUser}`);
    await c.end();
  });

  test('a user not in admin.users gets 42501 for every command', async () => {
    const u = new URL(url);
    u.username = appUser;
    const client = new pg.Client({ connectionString: sg.via(u.toString()) });
    await client.connect();
    for (const command of COMMANDS) {
      await assert.rejects(client.query(command), (e: { code?: string; message: string }) => {
        assert.equal(e.code, '42501', command);
        assert.match(e.message, /not a Shiftgate admin/);
        return true;
      });
    }
    const { rows } = await client.query('SELECT count(*)::int AS n FROM users');
    assert.equal(rows[0].n, 2000, 'the session stays usable');
    await client.end();
  });

  test('malformed and unknown commands get 42601 listing the valid commands', async () => {
    const client = new pg.Client({ connectionString: sg.via(url) });
    await client.connect();
    for (const bad of [
      'SHIFTGATE FROBNICATE',
      'SHOW SHIFTGATE EVERYTHING',
      "SHIFTGATE START 'a' 'b'",
      'SHIFTGATE SET = 3',
    ]) {
      await assert.rejects(client.query(bad), (e: { code?: string; hint?: string }) => {
        assert.equal(e.code, '42601', bad);
        assert.match(e.hint ?? '', /SHOW SHIFTGATE STATUS/);
        return true;
      });
    }
    await client.end();
  });

  test('every command through psql: aligned result sets, errors with their SQLSTATE', async () => {
    const psql = (sql: string) => run('psql', [sg.via(url), '-X', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    for (const [sql, header] of [
      ['SHOW SHIFTGATE STATUS', /name\s*\|\s*phase\s*\|\s*table\s*\|\s*rows_done/],
      ['SHOW SHIFTGATE MIGRATIONS', /name\s*\|\s*phase\s*\|\s*parent\s*\|\s*started/],
      ['SHOW SHIFTGATE SESSIONS', /id\s*\|\s*user\s*\|\s*database\s*\|\s*client_address/],
      ['SHIFTGATE PAUSE', /backfill paused/],
      ['SHIFTGATE RESUME', /backfill resumed/],
      ['SHIFTGATE SET min_batch = 200', /min_batch\s*\|\s*200/],
    ] as const) {
      const { stdout } = await psql(sql);
      assert.match(stdout, header, sql);
    }
    for (const [sql, message] of [
      ['SHIFTGATE COMPLETE', /no migration is in flight/],
      ['SHIFTGATE ROLLBACK', /no migration is in flight/],
      ['SHIFTGATE WHATEVER', /unrecognised Shiftgate command/],
    ] as const) {
      await assert.rejects(psql(sql), (e: { stderr: string }) => {
        assert.match(e.stderr, message, sql);
        return true;
      });
    }
  });

  test('START of a file that fails validation changes nothing and says why', async () => {
    await assert.rejects(sg.admin(url, "SHIFTGATE START 'bad'"), (e: { code?: string; message: string }) => {
      assert.equal(e.code, '22023');
      assert.match(e.message, /bad/);
      assert.match(e.message, /type/, 'names the missing field');
      return true;
    });
    await assert.rejects(sg.admin(url, "SHIFTGATE START 'missing'"), /no migration file "missing"/);
    assert.deepEqual(await sg.admin(url, 'SHOW SHIFTGATE MIGRATIONS'), []);
  });

  test('START, STATUS through psql and extended protocol, SET, COMPLETE refused then accepted', async () => {
    const { stdout } = await run('psql', [sg.via(url), '-Atc', "SHIFTGATE START '02_rename'"]);
    assert.match(stdout, /^02_rename\|\w+\|started/);
    await sg.waitForPhase(url, 'active');

    // Extended protocol: pg with a named statement, and postgres.js.
    const client = new pg.Client({ connectionString: sg.via(url) });
    await client.connect();
    const status = await client.query({ name: 'status', text: 'SHOW SHIFTGATE STATUS' });
    assert.deepEqual(
      status.fields.map((f) => f.name),
      [
        'name',
        'phase',
        'table',
        'rows_done',
        'rows_total',
        'rows_per_s',
        'eta_s',
        'batch_size',
        'throttled',
        'throttle_reason',
        'client_p99_ms',
        'baseline_p99_ms',
        'controller',
        'target_rate',
        'latency_cost',
        'floor_p99_ms',
        'last_change',
      ],
    );
    assert.equal(status.rows[0].name, '02_rename');
    assert.equal(status.rows[0].phase, 'active');
    // fetch_types off: otherwise postgres.js queries pg_type at connect, which makes it a client of a version.
    const sql = postgres(sg.via(url), { max: 1, fetch_types: false });
    const [knob] = await sql.unsafe('SHIFTGATE SET max_batch = 500');
    assert.deepEqual({ ...knob }, { knob: 'max_batch', value: '500' });
    await assert.rejects(sql.unsafe('SHIFTGATE SET max_batch = lots'), { code: '22023' });

    // An old-version client session that ran a statement keeps the old version alive.
    const old = new pg.Client({ connectionString: sg.via(url), application_name: 'old-app' });
    await old.connect();
    assert.equal((await old.query('SELECT name FROM users WHERE id = 1')).rows[0].name, 'User 1');
    const sessions = await client.query('SHOW SHIFTGATE SESSIONS');
    const oldRow = sessions.rows.find((r) => r.application_name === 'old-app');
    assert.equal(oldRow.version, '(initial)');
    assert.equal(oldRow.admin_only, 'false');
    assert.equal(
      sessions.rows.find((r) => r.application_name !== 'old-app' && r.admin_only === 'true') !== undefined,
      true,
    );

    await assert.rejects(client.query('SHIFTGATE COMPLETE'), (e: { code?: string; message: string }) => {
      assert.equal(e.code, '55006');
      assert.match(e.message, new RegExp(`#${oldRow.id} `));
      return true;
    });
    await old.end();
    await new Promise((r) => setTimeout(r, 100));
    const done = await client.query('SHIFTGATE COMPLETE');
    assert.deepEqual(done.rows[0], { name: '02_rename', phase: 'completed', status: 'completed' });
    const history = await sql.unsafe('SHOW SHIFTGATE MIGRATIONS');
    assert.equal(history[0]!.name, '02_rename');
    assert.equal(history[0]!.phase, 'completed');
    assert.ok(history[0]!.completed);
    assert.ok(history[0]!.p99_during_ms !== null, 'latency during the migration was recorded');
    await sql.end();
    await client.end();
  });

  test('PAUSE holds the backfill (visible in STATUS), RESUME releases it, ROLLBACK undoes it all', async () => {
    const client = new pg.Client({ connectionString: sg.via(url) });
    await client.connect();
    assert.deepEqual((await client.query('SHIFTGATE PAUSE')).rows, [{ status: 'backfill paused' }]);
    await client.query("SHIFTGATE START '03_email'");
    await sg.waitForPhase(url, 'backfilling');
    const paused = (await client.query('SHOW SHIFTGATE STATUS')).rows[0];
    assert.equal(paused.throttled, 'true');
    assert.equal(paused.throttle_reason, 'paused by operator');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await client.query('SHOW SHIFTGATE STATUS')).rows[0].phase, 'backfilling', 'still held');
    const metrics = () => sg.sg.proxy.ctx.metrics.registry.metrics();
    const held = await metrics();
    assert.match(held, /shiftgate_migration_phase\{migration="03_email",phase="backfilling"\} 1/);
    assert.match(held, /shiftgate_throttle_active\{reason="paused"\} 1/);
    await client.query('SHIFTGATE RESUME');
    await sg.waitForPhase(url, 'active');
    const done = await metrics();
    assert.match(done, /shiftgate_backfill_rows_total\{migration="03_email",table="users"\} 2000/);
    assert.match(done, /shiftgate_backfill_rows_remaining\{migration="03_email",table="users"\} 0/);
    assert.match(
      done,
      /shiftgate_backfill_batch_duration_seconds_count\{migration="03_email",table="users"\} [1-9]/,
    );
    assert.match(done, /shiftgate_backfill_batch_size\{migration="03_email",table="users"\} [1-9]/);
    assert.match(done, /shiftgate_throttle_active\{reason="paused"\} 0/);
    assert.match(done, /shiftgate_sessions\{version="02_rename"\} [1-9]/);
    assert.match(done, /shiftgate_client_p99_baseline_seconds/);
    const active = (await client.query('SHOW SHIFTGATE STATUS')).rows[0];
    assert.equal(active.rows_done, '2000');
    assert.equal(active.rows_total, '2000');
    const rolledBack = await client.query('SHIFTGATE ROLLBACK');
    assert.equal(rolledBack.rows[0].phase, 'rolled_back');
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    const cols = await direct.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
    );
    assert.deepEqual(
      cols.rows.map((r) => r.column_name),
      ['id', 'full_name'],
    );
    await direct.end();
    await client.end();
  });
});
