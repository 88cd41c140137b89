/**
 * Shiftgate's admin console and version binding on MySQL, through the
 * whole runtime (`startShiftgate` with a mysql:// upstream) against the
 * real MariaDB: mysql2 (query and execute), the mariadb connector
 * (CLIENT_DEPRECATE_EOF, extended metadata, pipelined prepare + execute),
 * the mariadb command-line client, and raw packets for transaction flags,
 * pipelining and commands sent behind the handshake.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Packet } from '../../src/dialects/mysql/framer.ts';
import {
  decodeEof,
  decodeErr,
  decodeOk,
  encodePacket,
  encodeQuery,
} from '../../src/dialects/mysql/messages.ts';
import { ServerStatus } from '../../src/dialects/mysql/protocol.ts';
import { PayloadReader } from '../../src/dialects/mysql/reader.ts';
import { INITIAL_VERSION, VersionMap, VersionSchema } from '../../src/versions/index.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import { isEofOrErr, RawMysqlClient } from './raw-client.ts';

const run = promisify(execFile);

const SESSION_COLUMNS = [
  'id',
  'user',
  'database',
  'client_address',
  'application_name',
  'version',
  'connected_at',
  'statements',
  'p99_ms',
  'admin_only',
  'proxy',
];

/** Every admin command of DESIGN.md section 1. */
const ADMIN_COMMANDS = [
  'SHOW SHIFTGATE STATUS',
  'SHOW SHIFTGATE MIGRATIONS',
  'SHOW SHIFTGATE SESSIONS',
  "SHIFTGATE START 'add_email'",
  'SHIFTGATE PAUSE',
  'SHIFTGATE RESUME',
  'SHIFTGATE SET max_batch = 500',
  'SHIFTGATE COMPLETE',
  'SHIFTGATE COMPLETE FORCE',
  'SHIFTGATE ROLLBACK',
];
const MIGRATION_COMMANDS = ADMIN_COMMANDS.filter((c) => c !== 'SHOW SHIFTGATE SESSIONS');

type SessionRow = Record<(typeof SESSION_COLUMNS)[number], string | null>;

async function startRuntime(upstream: string): Promise<Shiftgate> {
  const config = loadConfig({
    env: {},
    flags: { upstream, listen: '127.0.0.1:0', 'admin.users': 'root' },
  });
  return startShiftgate(config, upstream, { http: false });
}

/** The same text through the text protocol (COM_QUERY) or the binary one (COM_STMT_PREPARE + EXECUTE). */
function send(conn: mysql.Connection, via: 'query' | 'execute', sql: string) {
  return via === 'query' ? conn.query(sql) : conn.execute(sql);
}

function queryPacket(sql: string): Buffer {
  return encodePacket(0, encodeQuery(sql));
}

/** Reads a classic (no CLIENT_DEPRECATE_EOF) text result set: column names, rows, the final EOF's status. */
async function readResultSet(client: RawMysqlClient): Promise<{
  columns: string[];
  rows: (string | null)[][];
  status: number;
  packets: Packet[];
}> {
  const head = await client.read();
  if (head.payload[0] === 0xff) throw new Error(decodeErr(head.payload).message);
  const count = new PayloadReader(head.payload, 'count').lenencInt();
  const defs = await client.readUntil(isEofOrErr);
  const columns = defs.slice(0, count).map((p) => {
    const r = new PayloadReader(p.payload, 'column');
    for (let i = 0; i < 4; i++) r.lenencBytes();
    return r.lenencBytes().toString('utf8');
  });
  const rowPackets = await client.readUntil(isEofOrErr);
  const end = rowPackets.at(-1)!;
  const rows = rowPackets.slice(0, -1).map((p) => {
    const r = new PayloadReader(p.payload, 'row');
    return columns.map(() => {
      if (p.payload[r.offset] === 0xfb) {
        r.skip(1);
        return null;
      }
      return r.lenencBytes().toString('utf8');
    });
  });
  return {
    columns,
    rows,
    status: decodeEof(end.payload).statusFlags,
    packets: [head, ...defs, ...rowPackets],
  };
}

describe('Shiftgate admin console on mysql', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let port: number;
  const plainUser = `sg_plain_${randomBytes(3).toString('hex')}`;
  const plainPassword = 'Plain-pass-7';

  before(async () => {
    db = await createMysqlDatabase('admin');
    sg = await startRuntime(db.url);
    port = sg.proxy.address.port;
    const direct = await mysql.createConnection(MYSQL_URL);
    await direct.query(`CREATE USER '${plainUser}'@'%' IDENTIFIED BY '${plainPassword}'`);
    await direct.query(`GRANT SELECT ON \`${db.name}\`.* TO '${plainUser}'@'%'`);
    await direct.end();
  });

  after(async () => {
    await sg.stop();
    const direct = await mysql.createConnection(MYSQL_URL);
    await direct.query(`DROP USER IF EXISTS '${plainUser}'@'%'`);
    await direct.end();
    await db.drop();
  });

  const connect = (options: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: db.name, ...options });

  it('SHOW SHIFTGATE SESSIONS through mysql2 query and execute: columns, one row per session', async () => {
    const admin = await connect();
    const app = await connect({ connectAttributes: { program_name: 'billing' } });
    try {
      await app.query('SELECT 1');
      for (const via of ['query', 'execute', 'execute'] as const) {
        const [rows, fields] = (await send(admin, via, 'SHOW SHIFTGATE SESSIONS')) as unknown as [
          SessionRow[],
          mysql.FieldPacket[],
        ];
        assert.deepEqual(
          fields.map((f) => f.name),
          SESSION_COLUMNS,
          via,
        );
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        assert.equal(rows.length, sg.proxy.ctx.registry.size, `${via}: a row per live session`);
        const a = byId.get(admin.threadId!);
        const b = byId.get(app.threadId!);
        assert.ok(a && b, `${via}: both sessions listed`);
        assert.equal(a.user, 'root');
        assert.equal(a.database, db.name);
        assert.equal(a.version, INITIAL_VERSION, 'no migration has run: the schema before any migration');
        assert.match(a.client_address!, /^127\.0\.0\.1:\d+$/);
        assert.ok(!Number.isNaN(Date.parse(a.connected_at!)));
        // Admin commands are answered by the proxy: not client statements, not timed.
        assert.equal(a.admin_only, 'true');
        assert.equal(a.statements, '0');
        assert.equal(a.p99_ms, null);
        assert.equal(b.application_name, 'billing');
        assert.equal(b.admin_only, 'false');
        assert.equal(b.statements, '1');
        assert.notEqual(b.p99_ms, null);
      }
      // The admin session is still an ordinary connection.
      const [[one]] = (await admin.query('SELECT 1 AS one')) as unknown as [[{ one: number }]];
      assert.equal(one.one, 1);
    } finally {
      await admin.end();
      await app.end();
    }
  });

  it('SET shiftgate.version to an unknown version: 1231 with the reason; the session stays usable', async () => {
    const conn = await connect();
    try {
      for (const via of ['query', 'execute'] as const) {
        await assert.rejects(send(conn, via, "SET shiftgate.version = 'nope'"), (err: mysql.QueryError) => {
          assert.equal(err.errno, 1231);
          assert.equal(err.sqlState, '22023');
          assert.match(err.message, /unknown schema version "nope".*known versions: \(initial\)/);
          return true;
        });
        const [[row]] = (await send(conn, via, 'SELECT 41 + 1 AS answer')) as unknown as [
          [{ answer: number }],
        ];
        assert.equal(row.answer, 42);
      }
      // Back to the default binding: the server's OK to the SET of @shiftgate_version it turns into.
      const [ok] = (await conn.query('SET shiftgate.version = DEFAULT')) as unknown as [
        mysql.ResultSetHeader,
      ];
      assert.equal(ok.affectedRows, 0);
      const [reset] = (await conn.execute('RESET shiftgate.version')) as unknown as [mysql.ResultSetHeader];
      assert.equal(reset.affectedRows, 0);
    } finally {
      await conn.end();
    }
  });

  it('a malformed Shiftgate command gets 1064 listing the valid commands', async () => {
    const conn = await connect();
    try {
      for (const via of ['query', 'execute'] as const) {
        await assert.rejects(send(conn, via, 'SHIFTGATE FROBNICATE'), (err: mysql.QueryError) => {
          assert.equal(err.errno, 1064);
          assert.equal(err.sqlState, '42601');
          assert.match(err.message, /unrecognised Shiftgate command: SHIFTGATE FROBNICATE/);
          for (const c of [
            'SHOW SHIFTGATE STATUS',
            "SHIFTGATE START '<migration name>'",
            'SHIFTGATE ROLLBACK',
          ])
            assert.ok(err.message.includes(c), `lists ${c}`);
          return true;
        });
      }
      await assert.rejects(conn.query('SHOW SHIFTGATE NOTHING'), { errno: 1064 });
      const [[row]] = (await conn.query('SELECT 2 AS two')) as unknown as [[{ two: number }]];
      assert.equal(row.two, 2);
    } finally {
      await conn.end();
    }
  });

  it('a user not in admin.users gets 1227 for every command', async () => {
    const conn = await connect({ user: plainUser, password: plainPassword });
    try {
      for (const command of ADMIN_COMMANDS) {
        for (const via of ['query', 'execute'] as const) {
          await assert.rejects(send(conn, via, command), (err: mysql.QueryError) => {
            assert.equal(err.errno, 1227, `${via} ${command}`);
            assert.equal(err.sqlState, '42501');
            assert.match(err.message, new RegExp(`user "${plainUser}" is not a Shiftgate admin`));
            assert.match(err.message, /admin\.users/);
            return true;
          });
        }
      }
      const [[row]] = (await conn.query('SELECT CURRENT_USER() AS u')) as unknown as [[{ u: string }]];
      assert.equal(row.u, `${plainUser}@%`);
    } finally {
      await conn.end();
    }
  });

  it('migration commands on MySQL reach the migration engine (no longer "not supported")', async () => {
    const conn = await connect();
    try {
      for (const command of MIGRATION_COMMANDS) {
        for (const via of ['query', 'execute'] as const) {
          // Nothing is in flight and no file exists: the engine's own answers, errors included.
          await send(conn, via, command).catch((err: mysql.QueryError) => {
            assert.doesNotMatch(err.message, /not supported/, `${via} ${command}`);
          });
        }
      }
    } finally {
      await conn.end();
    }
  });

  it('refuses a Shiftgate command inside a multi-statement text (1235), passes everything else', async () => {
    const conn = await connect({ multipleStatements: true });
    try {
      for (const sql of [
        'SELECT 1; SHOW SHIFTGATE SESSIONS',
        'SHOW SHIFTGATE SESSIONS; SELECT 1',
        "SELECT 1; SET shiftgate.version = 'x'",
        'SELECT 1; /* why */ SHIFTGATE PAUSE;',
      ]) {
        await assert.rejects(conn.query(sql), (err: mysql.QueryError) => {
          assert.equal(err.errno, 1235, sql);
          assert.equal(err.sqlState, '0A000');
          assert.match(err.message, /cannot be part of a multi-statement text/);
          assert.match(err.message, /as a statement of its own/);
          return true;
        });
      }
      const [multi] = (await conn.query("SELECT 'shiftgate;' AS a; SELECT 2 AS b")) as unknown as [unknown[]];
      assert.deepEqual(multi, [[{ a: 'shiftgate;' }], [{ b: 2 }]]);
      const [rows] = (await conn.query('SHOW SHIFTGATE SESSIONS; -- one statement')) as unknown as [
        unknown[],
      ];
      assert.ok(rows.length >= 1);
    } finally {
      await conn.end();
    }
  });

  it('an unknown shiftgate_version connection attribute is refused at connect with 1231', async () => {
    await assert.rejects(
      connect({ connectAttributes: { shiftgate_version: 'nope' } }),
      (err: mysql.QueryError) => {
        assert.equal(err.errno, 1231);
        assert.match(err.message, /unknown schema version "nope"/);
        return true;
      },
    );
    // A wrong password is still the server's verdict, before any word about versions.
    await assert.rejects(
      connect({ user: plainUser, password: 'wrong', connectAttributes: { shiftgate_version: 'nope' } }),
      { errno: 1045 },
    );
  });

  it('raw packets: transaction flags kept, pipelined commands answered in order, a command behind the handshake', async () => {
    const client = await RawMysqlClient.connect(
      port,
      'root',
      db.name,
      queryPacket('SHOW SHIFTGATE SESSIONS'),
    );
    try {
      const early = await readResultSet(client);
      assert.deepEqual(early.columns, SESSION_COLUMNS);
      assert.deepEqual(
        early.packets.map((p) => p.sequenceId),
        early.packets.map((_, i) => i + 1),
      );

      client.send(0, encodeQuery('BEGIN'));
      assert.ok(decodeOk((await client.read()).payload).statusFlags & ServerStatus.InTrans);
      client.send(0, encodeQuery('SHOW SHIFTGATE SESSIONS'));
      const inTx = await readResultSet(client);
      assert.ok(inTx.status & ServerStatus.InTrans, 'the answer keeps SERVER_STATUS_IN_TRANS');
      client.send(0, encodeQuery('ROLLBACK'));
      await client.read();
      client.send(0, encodeQuery('SHOW SHIFTGATE SESSIONS'));
      const after = await readResultSet(client);
      assert.equal(after.status & ServerStatus.InTrans, 0);
      assert.ok(after.status & ServerStatus.Autocommit);

      // Three commands in one write: the slow one's response comes first, then the proxy's, then the last.
      client.sendRaw(
        Buffer.concat([
          queryPacket('SELECT SLEEP(0.3) AS slow'),
          queryPacket('SHOW SHIFTGATE SESSIONS'),
          queryPacket('SHIFTGATE FROBNICATE'),
          queryPacket('SELECT 3 AS three'),
        ]),
      );
      const first = await readResultSet(client);
      assert.deepEqual(first.columns, ['slow']);
      const second = await readResultSet(client);
      assert.deepEqual(second.columns, SESSION_COLUMNS);
      const third = await client.read();
      assert.equal(third.sequenceId, 1);
      assert.equal(decodeErr(third.payload).code, 1064);
      const fourth = await readResultSet(client);
      assert.deepEqual(fourth.rows, [['3']]);
    } finally {
      client.close();
    }
  });

  it('the mariadb connector: CLIENT_DEPRECATE_EOF, extended metadata, pipelined prepare + execute', async () => {
    const conn = await mariadb.createConnection({ host: '127.0.0.1', port, user: 'root', database: db.name });
    try {
      const rows = (await conn.query('SHOW SHIFTGATE SESSIONS')) as SessionRow[];
      assert.deepEqual(Object.keys(rows[0]!), SESSION_COLUMNS);
      const mine = rows.find((r) => Number(r.id) === conn.threadId);
      assert.equal(mine?.user, 'root');
      assert.equal(mine?.admin_only, 'true');
      for (let i = 0; i < 2; i++) {
        const executed = (await conn.execute('SHOW SHIFTGATE SESSIONS')) as SessionRow[];
        assert.deepEqual(Object.keys(executed[0]!), SESSION_COLUMNS);
        assert.equal(executed.find((r) => Number(r.id) === conn.threadId)?.database, db.name);
      }
      await assert.rejects(conn.query('SHIFTGATE FROBNICATE'), { errno: 1064, sqlState: '42601' });
      const status = (await conn.execute('SHOW SHIFTGATE STATUS')) as unknown[];
      assert.ok(Array.isArray(status));
      const [[n]] = [(await conn.execute('SELECT ? + 1 AS n', [1])) as { n: number }[]];
      assert.equal(Number(n!.n), 2);
    } finally {
      await conn.end();
    }
  });

  it('the mariadb command-line client reads the answers and the errors', async () => {
    const cli = (user: string, sql: string, extra: string[] = []) =>
      run('mariadb', [
        '--protocol=TCP',
        '-h',
        '127.0.0.1',
        '-P',
        String(port),
        '-u',
        user,
        ...extra,
        db.name,
        '-B',
        '-e',
        sql,
      ]);
    const { stdout } = await cli('root', 'SHOW SHIFTGATE SESSIONS');
    const [header, ...lines] = stdout.trimEnd().split('\n');
    assert.deepEqual(header!.split('\t'), SESSION_COLUMNS);
    const mine = lines
      .map((l) => l.split('\t'))
      .find((cells) => cells[4] === 'mariadb' || cells[4] === 'mysql');
    assert.ok(mine, `the CLI's own session is listed:\n${stdout}`);
    assert.equal(mine[1], 'root');
    assert.equal(mine[2], db.name);
    assert.equal(mine[5], INITIAL_VERSION);

    await assert.rejects(cli('root', 'SHIFTGATE FROBNICATE'), (err: { stderr: string }) => {
      assert.match(err.stderr, /ERROR 1064 \(42601\).*unrecognised Shiftgate command/);
      return true;
    });
    await assert.rejects(
      cli(plainUser, 'SHIFTGATE PAUSE', [`-p${plainPassword}`]),
      (err: { stderr: string }) => {
        assert.match(err.stderr, /ERROR 1227 \(42501\)/);
        return true;
      },
    );
    // A script on stdin with --force goes on after an error, in the same session.
    const script = run('mariadb', [
      '--protocol=TCP',
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      'root',
      '--force',
      '-B',
      '-N',
      db.name,
    ]);
    script.child.stdin!.end(
      "SET shiftgate.version = 'nope';\nSELECT CONCAT('still ', 'here');\nSHOW SHIFTGATE SESSIONS;\n",
    );
    const { stdout: out, stderr } = await script.catch((err: { stdout: string; stderr: string }) => err);
    assert.match(stderr, /ERROR 1231 \(22023\) at line 1: unknown schema version "nope"/);
    const [first, ...sessions] = out.trimEnd().split('\n');
    assert.equal(first, 'still here');
    assert.ok(sessions.length >= 1);
  });
});

describe('Shiftgate version binding on mysql', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let port: number;

  before(async () => {
    db = await createMysqlDatabase('binding');
    sg = await startRuntime(db.url);
    port = sg.proxy.address.port;
    // NOTE: there is no MySQL migration engine yet; the map a follower would install is given directly.
    sg.router.setVersionMap(
      new VersionMap(
        [
          new VersionSchema(INITIAL_VERSION, db.name, [], []),
          new VersionSchema('add_email', db.name, [], []),
        ],
        'add_email',
        INITIAL_VERSION,
      ),
    );
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  const connect = (options: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: db.name, ...options });

  async function versionOf(admin: mysql.Connection, id: number): Promise<string | null | undefined> {
    const [rows] = (await admin.query('SHOW SHIFTGATE SESSIONS')) as unknown as [SessionRow[]];
    return rows.find((r) => Number(r.id) === id)?.version;
  }

  it('binds by connection attribute, by SET, and by default; refuses unknown versions', async () => {
    const admin = await connect();
    const bound = await connect({ connectAttributes: { shiftgate_version: 'add_email' } });
    const plain = await connect();
    try {
      assert.equal(await versionOf(admin, bound.threadId!), 'add_email');
      assert.equal(await versionOf(admin, plain.threadId!), INITIAL_VERSION, 'the latest completed version');

      await plain.query("SET shiftgate.version = 'add_email'");
      assert.equal(await versionOf(admin, plain.threadId!), 'add_email');
      await plain.execute('SET shiftgate.version = DEFAULT');
      assert.equal(await versionOf(admin, plain.threadId!), INITIAL_VERSION);

      await assert.rejects(plain.query("SET shiftgate.version = 'nope'"), (err: mysql.QueryError) => {
        assert.equal(err.errno, 1231);
        assert.match(
          err.message,
          /unknown schema version "nope" \(it was never started, or it was rolled back\)/,
        );
        assert.match(err.message, /known versions: \(initial\), add_email/);
        return true;
      });
      assert.equal(await versionOf(admin, plain.threadId!), INITIAL_VERSION, 'a refused SET changes nothing');
      await assert.rejects(connect({ connectAttributes: { shiftgate_version: 'nope' } }), { errno: 1231 });
    } finally {
      await admin.end();
      await bound.end();
      await plain.end();
    }
  });
});
