/**
 * The MySQL relay applies every kind of StatementRouter decision, checked
 * with a scripted router (directives in comments say what to decide):
 * forward, rewrite (COM_QUERY and COM_STMT_PREPARE, a statement of 16 MB
 * and more seen whole), result, error, bind-version, decisions that take
 * time while later pipelined commands wait their turn, and a refusal at
 * connect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { decodeErr, decodeOk, encodePacket, encodeQuery } from '../../src/dialects/mysql/messages.ts';
import { PayloadReader } from '../../src/dialects/mysql/reader.ts';
import { clientError } from '../../src/proxy/client-error.ts';
import type { SessionInfo } from '../../src/proxy/session.ts';
import type { Route, StatementRouter } from '../../src/proxy/statement-router.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { isEofOrErr, RawMysqlClient } from './raw-client.ts';

const MARK = Buffer.from('/*sg:');
const DIRECTIVE = /\/\*sg:([a-z-]+)(?: ([^*]*))?\*\//;

/** Decides by the `/*sg:<kind> <argument>*\/` comment in the statement; `slow-` decisions take 150 ms. */
class ScriptedRouter implements StatementRouter {
  readonly generation = 0;
  readonly seen: string[] = [];

  mayRoute(bytes: Buffer, start: number, end: number): boolean {
    return bytes.subarray(start, end).includes(MARK);
  }

  route(session: SessionInfo, sql: string): Route | Promise<Route> {
    this.seen.push(sql.length > 200 ? `${sql.slice(0, 100)}...(${sql.length})` : sql);
    const m = DIRECTIVE.exec(sql);
    const kind = m?.[1] ?? 'forward';
    const arg = m?.[2]?.trim() ?? '';
    const slow = kind.startsWith('slow-');
    const decide = (): Route => {
      switch (kind.replace(/^slow-/, '')) {
        case 'rewrite':
          session.ranClientStatements = true;
          return { kind: 'rewrite', sql: arg };
        case 'result':
          return {
            kind: 'result',
            result: { columns: ['label', 'nothing'], rows: [[arg, null]], tag: 'SHOW' },
          };
        case 'error':
          return { kind: 'error', error: clientError('notSupported', `refused: ${arg}`, 'try another way') };
        case 'bind':
          session.boundVersion = arg;
          return { kind: 'bind-version', version: arg };
        default:
          session.ranClientStatements = true;
          return { kind: 'forward' };
      }
    };
    return slow ? new Promise((resolve) => setTimeout(() => resolve(decide()), 150)) : decide();
  }

  localResultColumns(): string[] | null {
    return null;
  }

  bindAtConnect(session: SessionInfo, requested: string | null): void {
    if (requested === 'bad') throw clientError('invalidParameter', 'unknown schema version "bad"');
    session.boundVersion = requested ?? 'default';
  }
}

/** Reads one text result set's rows (classic EOF framing); throws the ERR's message. */
async function readRows(client: RawMysqlClient): Promise<(string | null)[][]> {
  const head = await client.read();
  if (head.payload[0] === 0xff) throw new Error(`ERR ${decodeErr(head.payload).code}`);
  if (head.payload[0] === 0x00) return [];
  const count = new PayloadReader(head.payload, 'count').lenencInt();
  await client.readUntil(isEofOrErr);
  const rows = await client.readUntil(isEofOrErr);
  return rows.slice(0, -1).map((p) => {
    const r = new PayloadReader(p.payload, 'row');
    return Array.from({ length: count }, () => {
      if (p.payload[r.offset] === 0xfb) {
        r.skip(1);
        return null;
      }
      return r.lenencBytes().toString('utf8');
    });
  });
}

describe('mysql relay applies StatementRouter decisions', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;
  const router = new ScriptedRouter();

  before(async () => {
    db = await createMysqlDatabase('routing');
    proxy = await startMysqlProxy({ upstream: db.url, router });
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  const connect = (options: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({
      host: proxy.host,
      port: proxy.port,
      user: 'root',
      database: db.name,
      ...options,
    });

  it('forward, rewrite, result, error and bind-version through mysql2 query and execute', async () => {
    const conn = await connect();
    try {
      const [[fwd]] = (await conn.query("SELECT 'as sent' AS v /*sg:forward*/")) as unknown as [
        [{ v: string }],
      ];
      assert.equal(fwd.v, 'as sent');
      const [[rw]] = (await conn.query('SELECT 1 AS n /*sg:rewrite SELECT 7 AS n*/')) as unknown as [
        [{ n: number }],
      ];
      assert.equal(rw.n, 7);
      // COM_STMT_PREPARE is rewritten too; the statement id the server hands out keeps working.
      for (let i = 0; i < 2; i++) {
        const [[ex]] = (await conn.execute('SELECT ? AS n /*sg:rewrite SELECT ? + 100 AS n*/', [
          i,
        ])) as unknown as [[{ n: number }]];
        assert.equal(Number(ex.n), 100 + i);
      }
      const [rows, fields] = (await conn.query('SELECT 0 /*sg:result hello*/')) as unknown as [
        { label: string; nothing: null }[],
        mysql.FieldPacket[],
      ];
      assert.deepEqual(
        fields.map((f) => f.name),
        ['label', 'nothing'],
      );
      assert.deepEqual(rows, [{ label: 'hello', nothing: null }]);
      await assert.rejects(conn.query('SELECT 0 /*sg:error no way*/'), (err: mysql.QueryError) => {
        assert.equal(err.errno, 1235);
        assert.equal(err.sqlState, '0A000');
        assert.equal(err.message, 'refused: no way (hint: try another way)');
        return true;
      });
      const [ok] = (await conn.query('SET x = 1 /*sg:bind v7*/')) as unknown as [mysql.ResultSetHeader];
      assert.equal(ok.affectedRows, 0);
      const session = proxy.proxy.ctx.registry.byCancelKey(String(conn.threadId))!;
      assert.equal(session.info.boundVersion, 'v7');
      // Only commands that went upstream are timed and counted: 2 queries, 1 prepare, 2 executions,
      // and the binding, which sets @shiftgate_version on the server for the sync triggers.
      assert.equal(session.info.statements, 6);
      const [[bound]] = (await conn.query('SELECT @shiftgate_version AS v')) as unknown as [[{ v: string }]];
      assert.equal(bound.v, 'v7');
    } finally {
      await conn.end();
    }
  });

  it('decisions that take time hold later pipelined commands back, in order', async () => {
    const client = await RawMysqlClient.connect(proxy.port, 'root', db.name);
    try {
      const q = (sql: string) => encodePacket(0, encodeQuery(sql));
      client.sendRaw(
        Buffer.concat([
          q('SELECT 1 /*sg:slow-rewrite SELECT 10*/'),
          q('SELECT 20'),
          q('SELECT 0 /*sg:slow-result thirty*/'),
          q('SELECT 40'),
          q('SELECT 0 /*sg:slow-error fifty*/'),
          q('SELECT 0 /*sg:slow-bind v60*/'),
          q('SELECT 70'),
        ]),
      );
      assert.deepEqual(await readRows(client), [['10']]);
      assert.deepEqual(await readRows(client), [['20']]);
      assert.deepEqual(await readRows(client), [['thirty', null]]);
      assert.deepEqual(await readRows(client), [['40']]);
      await assert.rejects(readRows(client), /ERR 1235/);
      const ok = await client.read();
      assert.equal(ok.sequenceId, 1);
      assert.equal(decodeOk(ok.payload).affectedRows, 0n);
      assert.deepEqual(await readRows(client), [['70']]);
    } finally {
      client.close();
    }
  });

  it('a statement of 16 MB and more is routed whole and rewritten', async () => {
    const conn = await connect();
    try {
      const filler = 'x'.repeat(17 * 1024 * 1024);
      const [[row]] = (await conn.query(
        `SELECT LENGTH('${filler}') AS n /*sg:rewrite SELECT 8 AS n*/`,
      )) as unknown as [[{ n: number }]];
      assert.equal(row.n, 8);
      assert.match(router.seen.at(-1)!, /\(17825\d{3}\)$/);
      const [[again]] = (await conn.query('SELECT 9 AS n')) as unknown as [[{ n: number }]];
      assert.equal(again.n, 9);
    } finally {
      await conn.end();
    }
  });

  it('binds at connect from the shiftgate_version attribute; a refusal comes after the login, as an ERR', async () => {
    const conn = await connect({ connectAttributes: { shiftgate_version: 'v3' } });
    try {
      const session = proxy.proxy.ctx.registry.byCancelKey(String(conn.threadId))!;
      assert.equal(session.info.boundVersion, 'v3');
    } finally {
      await conn.end();
    }
    await assert.rejects(
      connect({ connectAttributes: { shiftgate_version: 'bad' } }),
      (err: mysql.QueryError) => {
        assert.equal(err.errno, 1231);
        assert.equal(err.sqlState, '22023');
        assert.match(err.message, /unknown schema version "bad"/);
        return true;
      },
    );
  });
});
