/**
 * Real PostgreSQL drivers and tools through the proxy, against the real
 * server: what an application would do must work unchanged.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import postgres from 'postgres';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';

const run = promisify(execFile);

describe('PostgreSQL clients through the proxy', () => {
  let db: TestDatabase;
  let proxy: TestPgProxy;
  let url: string;

  before(async () => {
    db = await createPgDatabase('clients');
    proxy = await startPgProxy(db.url);
    url = proxy.via(db.url);
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  test('pg: simple and prepared queries, parameters, errors keep the session usable', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const simple = await client.query('SELECT 1 AS one, current_database() AS db');
    assert.deepEqual(simple.rows, [{ one: 1, db: db.name }]);
    const prepared = await client.query({
      name: 'add',
      text: 'SELECT $1::int + $2::int AS sum',
      values: [2, 3],
    });
    assert.equal(prepared.rows[0].sum, 5);
    const again = await client.query({
      name: 'add',
      text: 'SELECT $1::int + $2::int AS sum',
      values: [40, 2],
    });
    assert.equal(again.rows[0].sum, 42);
    await assert.rejects(client.query('SELECT * FROM no_such_table'), { code: '42P01' });
    const after = await client.query('SELECT 7 AS seven');
    assert.equal(after.rows[0].seven, 7);
    await client.end();
  });

  test('pg: a pool runs concurrent transactions on separate sessions', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    await pool.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await pool.query('INSERT INTO counters VALUES (1, 0)');
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          await c.query('UPDATE counters SET n = n + 1 WHERE id = 1');
          await c.query('COMMIT');
        } finally {
          c.release();
        }
      }),
    );
    const { rows } = await pool.query('SELECT n FROM counters');
    assert.equal(rows[0].n, 40);
    await pool.end();
  });

  test('postgres.js: pipelined queries in one session and a transaction', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sql`SELECT ${i}::int AS i`));
    assert.deepEqual(
      results.map((r) => r[0]!.i),
      Array.from({ length: 50 }, (_, i) => i),
    );
    await sql`CREATE TABLE pj (id serial PRIMARY KEY, v text)`;
    const inserted = await sql.begin(async (tx) => {
      await tx`INSERT INTO pj (v) VALUES ('a'), ('b')`;
      return tx`SELECT count(*)::int AS n FROM pj`;
    });
    assert.equal(inserted[0]!.n, 2);
    await sql.end();
  });

  test('psql -c through the proxy', async () => {
    const { stdout } = await run('psql', [url, '-Atc', "SELECT 'through' || ' proxy'"]);
    assert.equal(stdout.trim(), 'through proxy');
  });

  test('cancel of a running pg_sleep reaches the right backend (postgres.js cancel)', async () => {
    const sql = postgres(url, { max: 1 });
    const bystander = new pg.Client({ connectionString: url });
    await bystander.connect();
    const bystanderSleep = bystander.query('SELECT pg_sleep(1) AS slept');
    const started = Date.now();
    const sleeping = sql`SELECT pg_sleep(20)`.execute();
    await new Promise((r) => setTimeout(r, 300));
    sleeping.cancel();
    await assert.rejects(sleeping, { code: '57014' });
    assert.ok(Date.now() - started < 10000, 'the cancel stopped the statement early');
    const slept = await bystanderSleep;
    assert.equal(slept.rowCount, 1, 'the other session was not cancelled');
    await sql.end();
    await bystander.end();
  });

  test('a forged cancel key cancels nothing; the real key does', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const key = client as unknown as { processID: number; secretKey: number };
    const sendCancel = (processId: number, secretKey: number) =>
      new Promise<void>((resolve) => {
        const socket = connect(proxy.port, '127.0.0.1', () =>
          socket.end(serialize.cancel(processId, secretKey)),
        );
        socket.on('close', () => resolve());
      });
    const sleeping = client.query('SELECT pg_sleep(1.5) AS slept');
    await sendCancel(key.processID, key.secretKey ^ 1);
    await sendCancel(key.processID + 1, key.secretKey);
    const result = await sleeping;
    assert.equal(result.rowCount, 1, 'the statement ran to the end');
    // Taken as soon as it comes: the cancel may land before sendCancel's socket has closed.
    const second = client.query('SELECT pg_sleep(20)').then(
      () => assert.fail('the cancelled statement cannot succeed'),
      (e: { code?: string }) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    await sendCancel(key.processID, key.secretKey);
    assert.equal((await second).code, '57014');
    await client.end();
  });

  test('COPY FROM STDIN and COPY TO STDOUT round trip', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE copied (id int, body text)');
    const lines = Array.from({ length: 5000 }, (_, i) => `${i}\trow ${i} ${'x'.repeat(i % 50)}\n`);
    const { from, to } = await import('pg-copy-streams');
    await pipeline(Readable.from(lines), client.query(from('COPY copied FROM STDIN')));
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(to('COPY (SELECT * FROM copied ORDER BY id) TO STDOUT')),
      new Writable({
        write(chunk, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
    );
    assert.equal(Buffer.concat(chunks).toString(), lines.join(''));
    await client.end();
  });

  test('LISTEN / NOTIFY across two sessions', async () => {
    const listener = new pg.Client({ connectionString: url });
    const notifier = new pg.Client({ connectionString: url });
    await listener.connect();
    await notifier.connect();
    await listener.query('LISTEN shiftgate_test');
    const received = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
    await notifier.query("NOTIFY shiftgate_test, 'hello through the proxy'");
    const note = await received;
    assert.equal(note.channel, 'shiftgate_test');
    assert.equal(note.payload, 'hello through the proxy');
    await listener.end();
    await notifier.end();
  });

  test('NoticeResponse reaches the client', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const notice = new Promise<{ message?: string }>((resolve) => client.once('notice', resolve));
    await client.query("DO $$ BEGIN RAISE NOTICE 'noticed %', 42; END $$");
    assert.equal((await notice).message, 'noticed 42');
    await client.end();
  });

  test('a 10 MB row goes both ways intact', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE big (id int, body text)');
    const body = 'abcdefghij'.repeat(1024 * 1024);
    await client.query('INSERT INTO big VALUES (1, $1)', [body]);
    const { rows } = await client.query('SELECT body, md5(body) AS digest FROM big');
    assert.equal(rows[0].body.length, body.length);
    assert.equal(rows[0].body, body);
    const { rows: direct } = await client.query('SELECT md5($1) AS digest', [body]);
    assert.equal(rows[0].digest, direct[0].digest);
    await client.end();
  });

  test('latency of every statement is recorded per session and proxy-wide', async () => {
    const before = proxy.proxy.ctx.latency.window().count;
    const client = new pg.Client({ connectionString: url, application_name: 'latency-probe' });
    await client.connect();
    for (let i = 0; i < 10; i++) await client.query('SELECT pg_sleep(0.01)');
    const session = proxy.proxy.ctx.registry.list().find((s) => s.info.applicationName === 'latency-probe');
    assert.ok(session, 'the session is in the registry');
    assert.equal(session.info.statements, 10);
    const p50 = session.info.latency.quantileUs(0.5)!;
    assert.ok(p50 >= 10000 && p50 < 1000000, `p50 ${p50} us reflects the 10 ms sleep`);
    assert.equal(proxy.proxy.ctx.latency.window().count - before, 10);
    await client.end();
  });
});
