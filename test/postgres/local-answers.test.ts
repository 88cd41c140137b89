/**
 * The proxy's own answers on PostgreSQL (admin result sets, refusals) are
 * its own protocol messages: errors carry the real SQLSTATE, message and
 * hint and no CONTEXT, results are text columns with the command's tag,
 * every answer arrives in order behind pipelined statements, the extended
 * protocol's rules hold (skip to Sync after an error, ReadyForQuery with
 * the server's status), and a refusal inside BEGIN fails the server's
 * transaction as a real error would.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import postgres from 'postgres';
import { encodeStartup } from '../../src/dialects/postgres/codec/startup-encoder.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';
import { type RawMessage, RawPgClient } from './raw-client.ts';

const run = promisify(execFile);

const BAD_COMMAND = 'SHIFTGATE FROBNICATE';
const RESERVED = "SELECT set_config('shiftgate.backfill', 'x', false)";

/** What a driver's error looks like: the fields of the server's ErrorResponse. */
type DriverError = { code?: string; message: string; hint?: string; where?: string; severity?: string };

function assertBadCommand(e: DriverError): true {
  assert.equal(e.code, '42601');
  assert.match(e.message, /^unrecognised Shiftgate command: SHIFTGATE FROBNICATE/);
  assert.match(e.hint ?? '', /^valid commands: /);
  assert.equal(e.where, undefined, 'no CONTEXT: the proxy answered, not a PL/pgSQL block');
  return true;
}

function assertReserved(e: DriverError): true {
  assert.equal(e.code, '42501');
  assert.match(e.message, /shiftgate\.backfill is Shiftgate's own setting/);
  assert.match(e.hint ?? '', /SET shiftgate\.version/);
  assert.equal(e.where, undefined);
  return true;
}

describe('local answers (PostgreSQL)', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let url: string;

  before(async () => {
    db = await createPgDatabase('local_answers');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE t (id int PRIMARY KEY)');
    await setup.end();
    sg = await startTestShiftgate(db.url);
    url = sg.via(db.url);
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  const raw = async (): Promise<RawPgClient> => {
    const c = new RawPgClient(sg.sg.proxy.address.port);
    await c.write(
      encodeStartup([
        ['user', new URL(db.url).username || 'postgres'],
        ['database', db.name],
      ]),
    );
    await c.ready(1);
    c.messages.splice(0);
    return c;
  };
  /** The messages after login as `name[:detail]`, for comparing whole flows. */
  const flow = (messages: RawMessage[]) =>
    messages.map((m) => {
      switch (m.name) {
        case 'readyForQuery':
          return `Z:${m.status}`;
        case 'error':
          return `E:${m.code}`;
        case 'commandComplete':
          return `C:${m.text}`;
        case 'dataRow':
          return `D:${JSON.stringify(m.fields)}`;
        default:
          return m.name;
      }
    });

  test('pg: errors carry code, message and hint and no CONTEXT, simple and extended', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await assert.rejects(client.query(BAD_COMMAND), assertBadCommand);
    await assert.rejects(client.query({ name: 'bad', text: BAD_COMMAND }), assertBadCommand);
    await assert.rejects(client.query(RESERVED), assertReserved);
    await assert.rejects(
      client.query("SELECT set_config('shiftgate.backfill', $1, false)", ['x']),
      assertReserved,
    );
    await assert.rejects(client.query('SELECT 1; SET shiftgate.version = DEFAULT'), (e: DriverError) => {
      assert.equal(e.code, '42501');
      assert.equal(e.where, undefined);
      return true;
    });
    // The session is still usable.
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
    await client.end();
  });

  test('postgres.js: errors carry code, message and hint and no CONTEXT', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await assert.rejects(sql.unsafe(BAD_COMMAND), assertBadCommand);
    await assert.rejects(sql.unsafe(BAD_COMMAND, [], { prepare: false }), assertBadCommand);
    await assert.rejects(sql`SELECT set_config('shiftgate.backfill', ${'x'}, false)`, assertReserved);
    const [row] = await sql`SELECT 2 AS two`;
    assert.equal(row!.two, 2);
    await sql.end();
  });

  test('psql: the error has its code and hint and no CONTEXT line', async () => {
    const result = await run('psql', [url, '-X', '-v', 'VERBOSITY=verbose', '-c', BAD_COMMAND]).then(
      () => assert.fail('psql succeeded'),
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(result, /ERROR: {2}42601: unrecognised Shiftgate command: SHIFTGATE FROBNICATE/);
    assert.match(result, /HINT: {2}valid commands: /);
    assert.doesNotMatch(result, /CONTEXT|PL\/pgSQL|inline_code_block/);
    // Inside a transaction block the refusal fails it, as a server error would.
    const { stdout, stderr } = await run('psql', [
      url,
      '-X',
      '-c',
      'BEGIN',
      '-c',
      BAD_COMMAND,
      '-c',
      'SELECT 1',
      '-c',
      'ROLLBACK',
    ]);
    assert.match(stderr, /ERROR: {2}unrecognised Shiftgate command/);
    assert.match(stderr, /ERROR: {2}current transaction is aborted/);
    assert.match(stdout, /ROLLBACK/);
  });

  test('admin results read through pg (simple and extended), postgres.js and psql', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const query of [
      'SHOW SHIFTGATE SESSIONS',
      { text: 'SHOW SHIFTGATE SESSIONS', values: [] },
      { name: 'sessions', text: 'SHOW SHIFTGATE SESSIONS' },
    ]) {
      const result = await client.query(query);
      assert.equal(result.command, 'SHOW');
      assert.ok(result.rows.length >= 1, 'this session at least');
      assert.ok(
        result.fields.every((f) => f.dataTypeID === 25),
        'text columns',
      );
      assert.ok(result.fields.some((f) => f.name === 'user'));
    }
    const version = await client.query({ text: 'SHOW shiftgate.version', values: [] });
    assert.deepEqual(
      version.fields.map((f) => f.name),
      ['shiftgate.version'],
    );
    // A session that chose nothing is bound to the latest completed version: here the initial one.
    assert.deepEqual(version.rows, [{ 'shiftgate.version': '(initial)' }]);
    const status = await client.query('SHOW SHIFTGATE STATUS');
    assert.deepEqual(status.rows, []);
    assert.ok(status.fields.some((f) => f.name === 'phase'));
    // A named admin statement runs at every execution: a new session shows up in the next answer.
    const before = (await client.query({ name: 'sessions', text: 'SHOW SHIFTGATE SESSIONS' })).rows.length;
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    const afterOpen = (await client.query({ name: 'sessions', text: 'SHOW SHIFTGATE SESSIONS' })).rows.length;
    assert.equal(afterOpen, before + 1);
    await other.end();
    await client.end();

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    for (let i = 0; i < 3; i++) {
      const rows = await sql`SHOW SHIFTGATE SESSIONS`;
      assert.ok(rows.length >= 1);
      assert.equal(rows.command, 'SHOW');
    }
    const [v] = await sql.unsafe('SHOW shiftgate.version', [], { prepare: false });
    assert.deepEqual(Object.keys(v!), ['shiftgate.version']);
    await sql.end();

    const { stdout } = await run('psql', [url, '-X', '-At', '-F', '|', '-c', 'SHOW SHIFTGATE SESSIONS']);
    assert.ok(stdout.trim().split('\n').length >= 1);
    assert.ok(stdout.includes('|'), 'several columns');
    const { stdout: shown } = await run('psql', [url, '-X', '-c', 'SHOW shiftgate.version']);
    assert.match(shown, /shiftgate\.version/);
    assert.match(shown, /\(1 row\)/);
  });

  test('simple protocol: a pipeline of queries with an admin answer and a refusal in the middle, in order', async () => {
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.query('SELECT 1'),
        serialize.query(BAD_COMMAND),
        serialize.query('SHOW shiftgate.version'),
        serialize.query('SELECT 4'),
      ]),
    );
    await c.ready(4);
    assert.deepEqual(flow(c.messages), [
      'rowDescription',
      'D:["1"]',
      'C:SELECT 1',
      'Z:I',
      'E:42601',
      'Z:I',
      'rowDescription',
      'D:["(initial)"]',
      'C:SHOW',
      'Z:I',
      'rowDescription',
      'D:["4"]',
      'C:SELECT 1',
      'Z:I',
    ]);
    const error = c.messages.find((m) => m.name === 'error')!;
    assert.equal(error.where, undefined);
    assert.match(error.hint ?? '', /valid commands/);
    c.destroy();
  });

  test('extended protocol: Parse/Bind/Describe/Execute of an admin command between two statements', async () => {
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.parse({ text: 'SELECT 1' }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.parse({ name: 'v', text: 'SHOW shiftgate.version' }),
        serialize.describe({ type: 'S', name: 'v' }),
        serialize.bind({ portal: 'p', statement: 'v' }),
        serialize.describe({ type: 'P', name: 'p' }),
        serialize.execute({ portal: 'p' }),
        serialize.parse({ text: 'SELECT 2' }),
        serialize.bind({}),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    await c.ready(1);
    assert.deepEqual(flow(c.messages), [
      'parseComplete',
      'bindComplete',
      'D:["1"]',
      'C:SELECT 1',
      'parseComplete',
      'parameterDescription',
      'rowDescription',
      'bindComplete',
      'rowDescription',
      'D:["(initial)"]',
      'C:SHOW',
      'parseComplete',
      'bindComplete',
      'rowDescription',
      'D:["2"]',
      'C:SELECT 1',
      'Z:I',
    ]);
    const described = c.messages.filter((m) => m.name === 'rowDescription')[0] as unknown as {
      fields: { name: string; dataTypeID: number }[];
    };
    assert.deepEqual(
      described.fields.map((f) => [f.name, f.dataTypeID]),
      [['shiftgate.version', 25]],
    );
    c.destroy();
  });

  test('extended protocol: Execute with a row limit suspends the portal, the next Execute goes on', async () => {
    const extra = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    for (const e of extra) await e.connect();
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.parse({ name: 's', text: 'SHOW SHIFTGATE SESSIONS' }),
        serialize.bind({ portal: 'p', statement: 's' }),
        serialize.execute({ portal: 'p', rows: 1 }),
        serialize.execute({ portal: 'p', rows: 1 }),
        serialize.execute({ portal: 'p', rows: 0 }),
        serialize.execute({ portal: 'p', rows: 0 }),
        serialize.sync(),
      ]),
    );
    await c.ready(1);
    const names = c.names();
    assert.deepEqual(names.slice(0, 6), [
      'parseComplete',
      'bindComplete',
      'dataRow',
      'portalSuspended',
      'dataRow',
      'portalSuspended',
    ]);
    // The third Execute returns the rest (this session and the two others at least), the fourth none.
    assert.ok(names.slice(6, -3).length >= 1 && names.slice(6, -3).every((n) => n === 'dataRow'), `${names}`);
    assert.deepEqual(flow(c.messages).slice(-3), ['C:SHOW', 'C:SHOW', 'Z:I']);
    const ids = c.messages.filter((m) => m.name === 'dataRow').map((m) => (m.fields as string[])[0]);
    assert.equal(new Set(ids).size, ids.length, 'each session once');
    c.destroy();
    for (const e of extra) await e.end();
  });

  test('extended protocol: a refusal mid-batch skips to Sync and rolls back the batch, as a server error would', async () => {
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.parse({ text: 'INSERT INTO t VALUES (1)' }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.parse({ name: 'bad', text: BAD_COMMAND }),
        serialize.bind({ statement: 'bad' }),
        serialize.execute({}),
        serialize.parse({ text: 'INSERT INTO t VALUES (2)' }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.sync(),
        serialize.query('SELECT count(*) FROM t'),
      ]),
    );
    await c.ready(2);
    assert.deepEqual(flow(c.messages), [
      'parseComplete',
      'bindComplete',
      'C:INSERT 0 1',
      'E:42601',
      'Z:I',
      'rowDescription',
      'D:["0"]',
      'C:SELECT 1',
      'Z:I',
    ]);
    assert.equal(c.messages.find((m) => m.name === 'error')!.where, undefined);
    // The refused statement was never prepared: binding it fails as for any statement that failed to parse.
    c.messages.splice(0);
    await c.write(
      Buffer.concat([serialize.bind({ statement: 'bad' }), serialize.execute({}), serialize.sync()]),
    );
    await c.ready(1);
    assert.deepEqual(flow(c.messages), ['E:26000', 'Z:I']);
    assert.match(c.messages[0]!.message ?? '', /prepared statement "bad" does not exist/);
    c.destroy();
  });

  test("the client's own Close keeps its place among the answers; portals end with their transaction", async () => {
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.parse({ name: 'v', text: 'SHOW shiftgate.version' }),
        serialize.bind({ portal: 'p', statement: 'v' }),
        serialize.close({ type: 'S', name: 'no_such_statement' }),
        serialize.execute({ portal: 'p' }),
        serialize.close({ type: 'P', name: 'p' }),
        serialize.bind({ portal: 'q', statement: 'v' }),
        serialize.sync(),
        // The transaction ended with that Sync: portal q is gone on the server, and so here.
        serialize.execute({ portal: 'q' }),
        serialize.sync(),
      ]),
    );
    await c.ready(2);
    assert.deepEqual(flow(c.messages), [
      'parseComplete',
      'bindComplete',
      'closeComplete',
      'D:["(initial)"]',
      'C:SHOW',
      'closeComplete',
      'bindComplete',
      'Z:I',
      'E:34000',
      'Z:I',
    ]);
    // Inside a transaction block the portal outlives its batch, pipelined or not.
    c.messages.splice(0);
    await c.write(
      Buffer.concat([
        serialize.query('BEGIN'),
        serialize.bind({ portal: 'r', statement: 'v' }),
        serialize.sync(),
        serialize.execute({ portal: 'r' }),
        serialize.sync(),
        serialize.query('COMMIT'),
      ]),
    );
    await c.ready(4);
    assert.deepEqual(flow(c.messages), [
      'C:BEGIN',
      'Z:T',
      'bindComplete',
      'Z:T',
      'D:["(initial)"]',
      'C:SHOW',
      'Z:T',
      'C:COMMIT',
      'Z:I',
    ]);
    c.destroy();
  });

  test('a refusal in a transaction that already failed gets 25P02, as the statement itself would', async () => {
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.query('BEGIN'),
        serialize.query('SELECT 1/0'),
        serialize.query(BAD_COMMAND),
        serialize.parse({ text: BAD_COMMAND }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.sync(),
        serialize.query('ROLLBACK'),
      ]),
    );
    await c.ready(5);
    assert.deepEqual(flow(c.messages), [
      'C:BEGIN',
      'Z:T',
      'E:22012',
      'Z:E',
      'E:25P02',
      'Z:E',
      'E:25P02',
      'Z:E',
      'C:ROLLBACK',
      'Z:I',
    ]);
    c.destroy();
  });

  test('a refusal inside BEGIN fails the transaction: 25P02 until ROLLBACK (raw, pg, postgres.js)', async () => {
    const c = await raw();
    await c.write(
      Buffer.concat([
        serialize.query('BEGIN'),
        serialize.query('INSERT INTO t VALUES (10)'),
        serialize.query(BAD_COMMAND),
        serialize.query('SELECT 1'),
        serialize.query('SHOW shiftgate.version'),
        serialize.query('ROLLBACK'),
        serialize.query('SELECT count(*) FROM t'),
      ]),
    );
    await c.ready(7);
    assert.deepEqual(flow(c.messages), [
      'C:BEGIN',
      'Z:T',
      'C:INSERT 0 1',
      'Z:T',
      'E:42601',
      'Z:E',
      'E:25P02',
      'Z:E',
      // An admin command too gets 25P02 there, as a SHOW would.
      'E:25P02',
      'Z:E',
      'C:ROLLBACK',
      'Z:I',
      'rowDescription',
      'D:["0"]',
      'C:SELECT 1',
      'Z:I',
    ]);
    c.destroy();

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const refused of [BAD_COMMAND, { name: 'bad', text: BAD_COMMAND }]) {
      await client.query('BEGIN');
      await client.query('INSERT INTO t VALUES (11)');
      await assert.rejects(client.query(refused), assertBadCommand);
      await assert.rejects(client.query('SELECT 1'), { code: '25P02' });
      await client.query('ROLLBACK');
      assert.equal((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 0);
    }
    // RESET shiftgate.version inside a transaction block is refused (25001) and fails it too.
    await client.query('BEGIN');
    await assert.rejects(client.query('RESET shiftgate.version'), (e: DriverError) => {
      assert.equal(e.code, '25001');
      assert.equal(e.where, undefined);
      return true;
    });
    await assert.rejects(client.query('SELECT 1'), { code: '25P02' });
    await client.query('ROLLBACK');
    await client.end();

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const reserved = await sql.reserve();
    await reserved`BEGIN`;
    await reserved`INSERT INTO t VALUES (12)`;
    await assert.rejects(reserved.unsafe(BAD_COMMAND), assertBadCommand);
    await assert.rejects(reserved`SELECT 1`, { code: '25P02' });
    await reserved`ROLLBACK`;
    reserved.release();
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM t`) as unknown as [{ n: number }];
    assert.equal(n, 0);
    await sql.end();
  });

  test('postgres.js pipelining: the refused query in the middle gets its error, the others their rows, in order', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const settled = await Promise.allSettled([
      sql`SELECT 1 AS n`,
      sql`SHOW SHIFTGATE STATUS`,
      sql.unsafe(BAD_COMMAND),
      sql`SELECT 3 AS n`,
      sql.unsafe('SHOW shiftgate.version'),
      sql`SELECT 5 AS n`,
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    const value = (i: number) => (settled[i] as PromiseFulfilledResult<Record<string, unknown>[]>).value;
    assert.equal(value(0)[0]!.n, 1);
    assert.deepEqual([...value(1)], []);
    assertBadCommand((settled[2] as PromiseRejectedResult).reason as DriverError);
    assert.equal(value(3)[0]!.n, 3);
    assert.deepEqual(Object.keys(value(4)[0]!), ['shiftgate.version']);
    assert.equal(value(5)[0]!.n, 5);
    await sql.end();
  });

  test('multi-statement queries: an admin command or a shiftgate setting among others is refused whole', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    // An admin command is only recognised as a query of its own; leading it, the whole text is refused.
    await assert.rejects(
      client.query('SHOW SHIFTGATE STATUS; INSERT INTO t VALUES (20)'),
      (e: DriverError) => {
        assert.equal(e.code, '42601');
        assert.match(e.message, /unrecognised Shiftgate command/);
        assert.equal(e.where, undefined);
        return true;
      },
    );
    // Behind another statement it is the server's to parse, and it fails as SQL: nothing runs.
    await assert.rejects(client.query('INSERT INTO t VALUES (21); SHOW SHIFTGATE STATUS'), { code: '42601' });
    await assert.rejects(client.query(`INSERT INTO t VALUES (22); ${RESERVED}`), assertReserved);
    assert.equal((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 0);
    await client.end();
  });

  test('a user not in admin.users gets 42501 with its hint, no CONTEXT, through every protocol', async () => {
    const other = await startTestShiftgate(db.url, { 'admin.users': 'somebody_else' });
    try {
      const client = new pg.Client({ connectionString: other.via(db.url) });
      await client.connect();
      for (const q of ['SHIFTGATE PAUSE', { name: 'pause', text: 'SHIFTGATE PAUSE' }]) {
        await assert.rejects(client.query(q), (e: DriverError) => {
          assert.equal(e.code, '42501');
          assert.match(e.message, /permission denied for SHIFTGATE PAUSE/);
          assert.match(e.hint ?? '', /admin\.users/);
          assert.equal(e.where, undefined);
          return true;
        });
      }
      await client.end();
      assert.equal(other.sg.control?.throttle.isPaused, false);
    } finally {
      await other.stop();
    }
  });

  test("the server's bytes arriving one at a time: answers still replace their stand-ins in place", async () => {
    const target = new URL(db.url);
    const relay: Server = createServer((client) => {
      const server = connect(Number(target.port || 5432), '127.0.0.1');
      client.setNoDelay(true);
      client.pipe(server);
      let writing = Promise.resolve();
      server.on('data', (chunk: Buffer) => {
        server.pause();
        writing = writing.then(async () => {
          for (const byte of chunk) {
            client.write(Buffer.from([byte]));
            await new Promise((r) => setImmediate(r));
          }
          server.resume();
        });
      });
      const end = () => {
        client.destroy();
        server.destroy();
      };
      client.on('error', end).on('close', end);
      server.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const upstream = new URL(db.url);
    upstream.hostname = '127.0.0.1';
    upstream.port = String((relay.address() as { port: number }).port);
    const slow = await startTestShiftgate(upstream.toString());
    try {
      const c = new RawPgClient(slow.sg.proxy.address.port);
      await c.write(
        encodeStartup([
          ['user', new URL(db.url).username || 'postgres'],
          ['database', db.name],
        ]),
      );
      await c.ready(1, 15_000);
      c.messages.splice(0);
      await c.write(
        Buffer.concat([
          serialize.query('SELECT 1'),
          serialize.query(BAD_COMMAND),
          serialize.query('SHOW shiftgate.version'),
          serialize.parse({ name: 'v', text: 'SHOW shiftgate.version' }),
          serialize.bind({ portal: 'p', statement: 'v' }),
          serialize.close({ type: 'S', name: 'nothing' }),
          serialize.execute({ portal: 'p' }),
          serialize.parse({ text: BAD_COMMAND }),
          serialize.sync(),
          serialize.query('BEGIN'),
          serialize.query(BAD_COMMAND),
          serialize.query('ROLLBACK'),
        ]),
      );
      await c.ready(7, 15_000);
      assert.deepEqual(flow(c.messages), [
        'rowDescription',
        'D:["1"]',
        'C:SELECT 1',
        'Z:I',
        'E:42601',
        'Z:I',
        'rowDescription',
        'D:["(initial)"]',
        'C:SHOW',
        'Z:I',
        'parseComplete',
        'bindComplete',
        'closeComplete',
        'D:["(initial)"]',
        'C:SHOW',
        'E:42601',
        'Z:I',
        'C:BEGIN',
        'Z:T',
        'E:42601',
        'Z:E',
        'C:ROLLBACK',
        'Z:I',
      ]);
      assert.ok(c.messages.filter((m) => m.name === 'error').every((m) => m.where === undefined));
      c.destroy();
    } finally {
      await slow.stop();
      await new Promise((r) => relay.close(r));
    }
  });
});
