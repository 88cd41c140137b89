/**
 * The dashboard's JSON API against a running proxy, through a migration's
 * life: none yet, paused in the backfill, active with the backfill done,
 * completed with its latency report, and a second one rolled back. Sessions
 * are counted by the version they are bound to; nothing the API answers
 * carries the upstream password; only GET is served, to loopback names.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const PASSWORD = 'dashboard-s3cret';
const ROWS = 3000;

interface Step {
  phase: string;
  state: string;
  at: string | null;
}

describe('dashboard JSON API (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  /** The database URL with a password in it (trust auth ignores it): it must never show up in an answer. */
  let url: string;
  const clients: pg.Client[] = [];
  const bodies: string[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field
  async function api(path: string): Promise<any> {
    const res = await fetch(`${sg.httpUrl}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.text();
    bodies.push(body);
    return JSON.parse(body);
  }

  async function client(version?: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: sg.via(url) });
    await c.connect();
    clients.push(c);
    if (version) await c.query(`SET shiftgate.version = '${version}'`);
    await c.query('SELECT count(*) FROM users');
    return c;
  }

  /** `path`'s answer once `check` holds, or the last one after 10 s (each read is shared for half a second). */
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field
  async function apiWhen(path: string, check: (answer: any) => boolean) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answer = await api(path);
      if (check(answer) || Date.now() > deadline) return answer;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const statusWhen = (check: (s: { migration: { phase: string } | null }) => boolean) =>
    apiWhen('/api/status', check);
  const migrationsWhen = (check: (m: { name: string; phase: string }[]) => boolean) =>
    apiWhen('/api/migrations', (r) => check(r.migrations));

  before(async () => {
    db = await createPgDatabase('dashboard_api');
    const u = new URL(db.url);
    u.password = PASSWORD;
    url = u.toString();
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await setup.query(`INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, ${ROWS}) g`);
    await setup.end();
    sg = await startTestShiftgate(url, {}, { http: true });
    sg.writeMigration(
      '02_email',
      'operations:\n  - add_column:\n      table: users\n      column: { name: email, type: text }\n      up: "lower(name) || \'@example.com\'"\n',
    );
    sg.writeMigration(
      '03_nick',
      'operations:\n  - add_column:\n      table: users\n      column: { name: nick, type: text }\n      up: "upper(name)"\n',
    );
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await sg.stop();
    await db.drop();
  });

  test('before any migration: no migration, sessions by version, admin-only sessions apart', async () => {
    const app = await client();
    for (let i = 0; i < 30; i++) await app.query('SELECT name FROM users WHERE id = $1', [i + 1]);
    const adminOnly = new pg.Client({ connectionString: sg.via(url) });
    await adminOnly.connect();
    clients.push(adminOnly);
    await adminOnly.query('SHOW SHIFTGATE STATUS');

    const s = await api('/api/status');
    assert.equal(s.dialect, 'postgres');
    assert.equal(s.unavailable, null);
    assert.equal(s.migration, null);
    assert.equal(s.throttle.backfilling, false);
    assert.equal(s.throttle.throttled, false);
    assert.equal(s.throttle.knobs.max_batch, 10000);
    assert.ok(s.latency.p99Ms > 0, `client p99 over 5 s: ${s.latency.p99Ms}`);
    assert.deepEqual(s.sessions, {
      byVersion: [{ version: '(initial)', sessions: 1 }],
      clients: 1,
      adminOnly: 1,
    });

    const sessions = await api('/api/sessions');
    assert.equal(sessions.sessions.length, 2);
    const mine = sessions.sessions.find((x: { adminOnly: boolean }) => !x.adminOnly);
    assert.equal(mine.version, '(initial)');
    assert.equal(mine.statements, 31);
    assert.equal(mine.user, 'postgres');
    assert.deepEqual(await api('/api/migrations'), { unavailable: null, migrations: [] });

    // The series fills once a second from the latency the proxy already records.
    await new Promise((r) => setTimeout(r, 2200));
    const series = await api('/api/series');
    assert.equal(series.intervalMs, 1000);
    assert.equal(series.capacity, 600);
    assert.ok(series.points.length >= 2, `${series.points.length} points`);
    assert.ok(
      series.points.some(
        (p: { statements: number; p99Ms: number | null }) => p.statements > 0 && p.p99Ms! > 0,
      ),
      'a point holds the statements just run',
    );
    const last = series.points.at(-1).t;
    assert.equal(last % 1000, 0, 'points sit on whole seconds');
    assert.deepEqual((await api(`/api/series?since=${last}`)).points, [], 'since= returns only newer points');
  });

  test('paused in the backfill: phase, timeline and the throttle reason', async () => {
    await sg.admin(url, 'SHIFTGATE PAUSE');
    await sg.admin(url, "SHIFTGATE START '02_email'");
    await sg.waitForPhase(url, 'backfilling');
    const s = await statusWhen((x) => x.migration?.phase === 'backfilling');
    const m = s.migration;
    assert.equal(m.name, '02_email');
    assert.equal(m.phase, 'backfilling');
    assert.equal(m.inFlight, true);
    assert.equal(m.parent, null);
    assert.deepEqual(
      m.timeline.map((t: Step) => `${t.phase}:${t.state}`),
      [
        'pending:done',
        'expanding:done',
        'backfilling:current',
        'validating:todo',
        'active:todo',
        'contracting:todo',
        'completed:todo',
      ],
    );
    assert.ok(m.timeline[0].at, 'the start date is known');
    assert.ok(
      m.timeline.slice(1, 3).every((t: Step) => t.at && t.at >= m.timeline[0].at),
      `this proxy's runner reported when expanding and backfilling began: ${JSON.stringify(m.timeline)}`,
    );
    assert.equal(m.tables.length, 1);
    assert.equal(m.tables[0].table, 'users');
    assert.equal(m.rowsTotal, ROWS);
    assert.ok(m.rowsDone < ROWS, `held at ${m.rowsDone}`);
    assert.equal(s.throttle.backfilling, true);
    assert.equal(s.throttle.throttled, true);
    assert.equal(s.throttle.paused, true);
    assert.equal(s.throttle.reasonLabel, 'paused');
    assert.equal(s.throttle.reason, 'paused by operator');
    await sg.admin(url, 'SHIFTGATE RESUME');
  });

  test('active: the backfill done, progress 1, a session on each version', async () => {
    await sg.waitForPhase(url, 'active');
    await client('02_email');
    const s = await statusWhen((x) => x.migration?.phase === 'active');
    const m = s.migration;
    assert.equal(m.phase, 'active');
    assert.equal(m.rowsDone, ROWS);
    assert.equal(m.rowsTotal, ROWS);
    assert.equal(m.progress, 1);
    assert.equal(m.etaSeconds, 0);
    assert.equal(m.tables[0].done, true);
    assert.ok(m.batchSize > 0);
    assert.ok(m.activeAt, 'active date');
    assert.deepEqual(
      m.timeline.map((t: Step) => t.state),
      ['done', 'done', 'done', 'done', 'current', 'todo', 'todo'],
    );
    assert.ok(m.timeline.find((t: Step) => t.phase === 'backfilling').at, 'the proxy saw the backfill start');
    assert.equal(s.throttle.backfilling, false, 'no backfill runs in the active phase');
    const inFlight = (await api('/api/migrations')).migrations[0];
    assert.equal(inFlight.phase, 'active');
    assert.ok(inFlight.latency.beforeP99Ms > 0, 'the report so far of the migration in flight');
    assert.equal(inFlight.latency.afterP99Ms, null);
    assert.equal(s.throttle.reason, null);
    assert.deepEqual(s.sessions.byVersion, [
      { version: '(initial)', sessions: 1 },
      { version: '02_email', sessions: 1 },
    ]);
    assert.equal(s.sessions.clients, 2);
    // The next sample (at most a second away) sees the finished backfill.
    let points: { phase: string | null; rowsDone: number | null }[] = [];
    const sawActive = () => points.some((p) => p.phase === 'active' && p.rowsDone === ROWS);
    for (let i = 0; i < 30 && !sawActive(); i++) {
      await new Promise((r) => setTimeout(r, 100));
      points = (await api('/api/series')).points;
    }
    assert.ok(
      sawActive(),
      `the series records the phase and the rows done: ${JSON.stringify(points.slice(-3))}`,
    );
  });

  test('completed: the latest migration, not in flight, with its latency report in the history', async () => {
    await sg.admin(url, 'SHIFTGATE COMPLETE FORCE');
    const s = await statusWhen((x) => x.migration?.phase === 'completed');
    assert.equal(s.migration.name, '02_email');
    assert.equal(s.migration.phase, 'completed');
    assert.equal(s.migration.inFlight, false);
    assert.ok(s.migration.completedAt);
    assert.ok(s.migration.timeline.every((t: Step) => t.state === 'done'));
    const { migrations } = await migrationsWhen((m) => m[0]?.phase === 'completed');
    assert.equal(migrations.length, 1);
    const h = migrations[0];
    assert.equal(h.name, '02_email');
    assert.equal(h.phase, 'completed');
    assert.ok(h.startedAt && h.activeAt && h.completedAt);
    assert.equal(h.error, null);
    assert.ok(h.latency.beforeP50Ms > 0, 'p50 before: 30 statements ran in the minute before START');
    assert.ok(h.latency.beforeP99Ms >= h.latency.beforeP50Ms);
    assert.ok(h.latency.duringP99Ms > 0, 'statements ran during the migration');
    assert.equal(h.latency.afterP99Ms, null, 'measured over the minute after completion');
  });

  test('rolled back: the rollback path in the timeline, the history keeps both', async () => {
    await sg.admin(url, "SHIFTGATE START '03_nick'");
    await sg.waitForPhase(url, 'active');
    await statusWhen((x) => x.migration?.phase === 'active');
    const app = await client();
    for (let i = 0; i < 5; i++) await app.query('SELECT count(*) FROM users');
    await sg.admin(url, 'SHIFTGATE ROLLBACK');
    const s = await statusWhen((x) => x.migration?.phase === 'rolled_back');
    const m = s.migration;
    assert.equal(m.name, '03_nick');
    assert.equal(m.phase, 'rolled_back');
    assert.equal(m.inFlight, false);
    assert.equal(m.parent, '02_email');
    const path = m.timeline.map((t: Step) => t.phase);
    assert.deepEqual(path.slice(-2), ['rolling_back', 'rolled_back']);
    assert.ok(path.includes('active'), `the rollback came from the active phase: ${path}`);
    assert.ok(!path.includes('completed'));
    assert.ok(m.timeline.every((t: Step) => t.state === 'done'));
    assert.ok(
      m.timeline.every((t: Step) => t.at),
      `every step has its date: ${JSON.stringify(m.timeline)}`,
    );
    const { migrations } = await migrationsWhen((m) => m.some((x) => x.phase === 'rolled_back'));
    assert.deepEqual(
      migrations.map((x: { name: string; phase: string }) => `${x.name}:${x.phase}`),
      ['02_email:completed', '03_nick:rolled_back'],
    );
    assert.ok(migrations[1].latency.duringP99Ms > 0, 'a rolled-back migration keeps its latency report');
    assert.ok(
      migrations[1].latency.beforeP99Ms > 0,
      "the first test's statements fall in the minute before it",
    );
  });

  test('read-only, loopback names only, and no secret in any answer', async () => {
    const raw = (method: string, path: string, host?: string) =>
      new Promise<number>((resolve, reject) => {
        const port = sg.sg.http!.address.port;
        request({ host: '127.0.0.1', port, path, method, headers: host ? { host } : {} }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
          .on('error', reject)
          .end();
      });
    assert.equal(await raw('POST', '/api/status'), 405);
    assert.equal(await raw('GET', '/api/status', 'attacker.example'), 421);
    assert.equal(await raw('GET', '/api/status', 'localhost'), 200);
    assert.equal(await raw('GET', '/api/nothing'), 404);
    const page = await fetch(`${sg.httpUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<canvas id="chart"/);
    assert.doesNotMatch(html, /<script>/, 'no inline script');
    assert.equal((await fetch(`${sg.httpUrl}/dashboard`)).status, 200);
    assert.ok(bodies.length > 10);
    for (const body of bodies) {
      assert.ok(!body.includes(PASSWORD), 'no password');
      assert.ok(!body.includes('postgres://'), 'no connection URL');
      assert.ok(!body.includes('SELECT'), 'no statement text');
    }
  });
});
