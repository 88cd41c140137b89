/**
 * Hostile input at volume, both directions of the MySQL relay:
 *
 * - client -> proxy: sessions log in to the real MariaDB (as an account
 *   with rights on its own database only, so no mutated byte can turn into
 *   a COM_SHUTDOWN or KILL that the server would obey), then send valid
 *   commands with mutated packets among them through a whole Shiftgate;
 * - server -> client: a fake upstream greets, accepts any login with OK,
 *   then answers every command with packets of which some are mutated
 *   (the greeting and login OK of some sessions too).
 *
 * Each direction sends SHIFTGATE_FUZZ_FRAMES packets (10,000 by default;
 * 100,000 with `npm run fuzz`) from a seeded PRNG: the seed is printed, and
 * SHIFTGATE_FUZZ_SEED=<seed> replays a run. Asserted as for PostgreSQL:
 * nothing uncaught, bounded memory, the proxy's own refusals carry error
 * 1835 (client bytes) or 2013 (server bytes) before the close and are
 * counted, every session ends, the mutations closed sessions, and ordinary
 * mysql2 clients on neighbouring sessions see no error.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { encodeColumnDefinition, encodeEof, encodeTextRow } from '../../src/dialects/mysql/local-answers.ts';
import { encodeErr, encodeHandshakeV10, encodeOk, encodePacket } from '../../src/dialects/mysql/messages.ts';
import { Capability } from '../../src/dialects/mysql/protocol.ts';
import type { RunningProxy } from '../../src/proxy/server.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';
import {
  FUZZ_FRAMES,
  fuzzRng,
  MYSQL_LAYOUT,
  mutate,
  neighbour,
  pool,
  type Rng,
  settledRssMb,
  sleep,
  watchProcess,
} from '../helpers/fuzz.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { RAW_CLIENT_CAPABILITIES } from './raw-client.ts';

type Outcome = 'proxy-error' | 'server-error-close' | 'closed' | 'alive' | 'stalled';

interface Tally {
  sessions: number;
  frames: number;
  mutated: number;
  outcomes: Record<Outcome, number>;
  errorCodes: Map<number, number>;
}

const newTally = (): Tally => ({
  sessions: 0,
  frames: 0,
  mutated: 0,
  outcomes: { 'proxy-error': 0, 'server-error-close': 0, closed: 0, alive: 0, stalled: 0 },
  errorCodes: new Map(),
});

const PROBE = 'shiftgate-fuzz-probe';
const CLIENT_MARKER = 'Shiftgate: malformed packet';
const SERVER_MARKER = 'Shiftgate could not follow its response';
/** Generous: a run must not keep what it was sent. */
const RSS_GROWTH_LIMIT_MB = 150;

/** Reads packets as a forgiving client would; a length that cannot be right stops reading. */
class PacketReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly raw: Buffer[] = [];
  readonly errors: { code: number; message: string }[] = [];
  packets = 0;

  push(chunk: Buffer): void {
    this.raw.push(chunk);
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUIntLE(0, 3);
      if (this.buffer.length < 4 + length) return;
      const payload = this.buffer.subarray(4, 4 + length);
      this.buffer = this.buffer.subarray(4 + length);
      this.packets++;
      if (payload[0] === 0xff && payload.length >= 3) {
        this.errors.push({ code: payload.readUInt16LE(1), message: payload.toString('utf8', 9) });
      }
    }
  }

  includes(text: string): boolean {
    return Buffer.concat(this.raw).includes(Buffer.from(text));
  }
}

function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const reader = new PacketReader();
  socket.on('data', (d: Buffer) => reader.push(d));
  socket.on('error', () => {});
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  return { socket, reader, closed, isClosed: () => isClosed };
}

type RawConnection = ReturnType<typeof rawConnection>;

/** Waits until `done()` or the socket closes, at most `ms`; true when it closed. */
async function waitFor(conn: RawConnection, done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!conn.isClosed() && !done() && Date.now() < deadline) await sleep(5);
  return conn.isClosed();
}

/** HandshakeResponse41 for a passwordless account (empty auth response). */
function handshakeResponse(user: string, database: string): Buffer {
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(RAW_CLIENT_CAPABILITIES, 0);
  fixed.writeUInt32LE(16 * 1024 * 1024, 4);
  fixed[8] = 45;
  return encodePacket(
    1,
    Buffer.concat([
      fixed,
      Buffer.from(`${user}\0`),
      Buffer.from([0]),
      Buffer.from(`${database}\0`),
      Buffer.from('mysql_native_password\0'),
    ]),
  );
}

/** The fuzz neighbour as a mysql2 session. */
function mysqlNeighbour(options: mysql.ConnectionOptions) {
  return neighbour(async (onError) => {
    const conn = await mysql.createConnection(options);
    conn.on('error', (e: Error) => onError(e.message));
    return {
      // The fake upstream answers in text, as a server would for a text column: read it as a number.
      selectOne: async () =>
        Number(((await conn.query('SELECT 1 AS one')) as unknown as [{ one: unknown }[]])[0][0]?.one),
      end: () => conn.end(),
    };
  });
}

function report(t: { diagnostic(m: string): void }, name: string, tally: Tally, rss: [number, number]) {
  const o = tally.outcomes;
  t.diagnostic(
    `${name}: ${tally.frames} packets (${tally.mutated} mutated) in ${tally.sessions} sessions; ` +
      `proxy error ${o['proxy-error']}, server error+close ${o['server-error-close']}, closed ${o.closed}, ` +
      `alive ${o.alive}, stalled ${o.stalled}; RSS ${rss[0].toFixed(1)} -> ${rss[1].toFixed(1)} MB`,
  );
  if (tally.errorCodes.size > 0)
    t.diagnostic(
      `${name}: errors that ended sessions: ${JSON.stringify(Object.fromEntries(tally.errorCodes))}`,
    );
}

function classify(conn: RawConnection, closed: boolean, alive: boolean, marker: string): Outcome {
  if (conn.reader.includes(marker)) return 'proxy-error';
  if (alive) return 'alive';
  if (!closed) return 'stalled';
  if (conn.reader.errors.length > 0) return 'server-error-close';
  return 'closed';
}

function record(tally: Tally, conn: RawConnection, outcome: Outcome): void {
  tally.outcomes[outcome]++;
  if (outcome === 'proxy-error' || outcome === 'server-error-close') {
    const last = conn.reader.errors.at(-1);
    const code = last?.code ?? -1;
    tally.errorCodes.set(code, (tally.errorCodes.get(code) ?? 0) + 1);
  }
}

async function untilIdle(proxy: RunningProxy, keep: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (proxy.ctx.registry.size > keep) {
    if (Date.now() > deadline)
      assert.fail(`${proxy.ctx.registry.size - keep} fuzzed sessions were never closed`);
    await sleep(20);
  }
}

describe('MySQL wire fuzz', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let admin: mysql.Connection;
  let fuzzUser: string;
  let watch: ReturnType<typeof watchProcess>;
  let neighbourOnReal: ReturnType<typeof neighbour>;

  before(async () => {
    watch = watchProcess();
    db = await createMysqlDatabase('fuzz');
    admin = await mysql.createConnection(MYSQL_URL);
    fuzzUser = `sg_fuzz_${randomBytes(3).toString('hex')}`;
    // Rights on the test database only: a mutated command byte cannot shut the shared server down.
    await admin.query(`CREATE USER '${fuzzUser}'@'%'`);
    await admin.query(`CREATE USER '${fuzzUser}'@'localhost'`);
    await admin.query(`GRANT ALL ON \`${db.name}\`.* TO '${fuzzUser}'@'%', '${fuzzUser}'@'localhost'`);
    sg = await startTestShiftgate(db.url, { 'proxy.max_message_bytes': String(1024 * 1024) });
    neighbourOnReal = mysqlNeighbour({
      host: '127.0.0.1',
      port: sg.sg.proxy.address.port,
      user: 'root',
      database: db.name,
    });
  });

  after(async () => {
    const seen = await neighbourOnReal.stop();
    await sg.stop();
    await admin.query(`DROP USER IF EXISTS '${fuzzUser}'@'%', '${fuzzUser}'@'localhost'`);
    await admin.end();
    await db.drop();
    watch.stop();
    assert.deepEqual(seen.errors, [], 'the neighbouring session saw no error');
    assert.ok(seen.queries > 50, `the neighbouring session kept running (${seen.queries} queries)`);
    assert.deepEqual(watch.errors, [], 'nothing went uncaught');
  });

  test('client -> proxy: mutated command packets against the real server', async (t) => {
    const rng = fuzzRng(11);
    t.diagnostic(`seed ${rng.seed} (replay: SHIFTGATE_FUZZ_SEED=${rng.seed}), ${FUZZ_FRAMES} packets`);
    const tally = newTally();
    const errorsBefore = await protocolErrorCount(sg.sg.proxy);
    settledRssMb();
    const rssBefore = settledRssMb();
    try {
      await pool(
        12,
        () => tally.frames < FUZZ_FRAMES,
        () => clientSession(sg.sg.proxy.address.port, fuzzUser, db.name, rng, tally),
      );
    } catch (err) {
      t.diagnostic(`failed with seed ${rng.seed}`);
      throw err;
    }
    await untilIdle(sg.sg.proxy, 1);
    const rssAfter = settledRssMb();
    report(t, 'client->proxy', tally, [rssBefore, rssAfter]);
    const seedNote = `(seed ${rng.seed})`;
    assert.deepEqual(watch.errors, [], `nothing went uncaught ${seedNote}`);
    // Every 1835 a client got is counted once. The count may hold a few more: a mutated command that
    // the proxy streams upstream unread (a large COM_STMT_EXECUTE, say) can draw an answer the proxy
    // cannot follow; it ends that session too (2013), and the fuzz client, already out of step, sees a
    // bare close or stalls. Nothing beyond those: no session is counted twice.
    const counted = (await protocolErrorCount(sg.sg.proxy)) - errorsBefore;
    const proxyErrors = tally.outcomes['proxy-error'];
    assert.ok(
      counted >= proxyErrors && counted <= proxyErrors + tally.outcomes.closed + tally.outcomes.stalled,
      `protocol errors counted ${counted}: ${proxyErrors} sessions got 1835, ${tally.outcomes.closed} closed, ${tally.outcomes.stalled} stalled ${seedNote}`,
    );
    assert.ok(
      tally.outcomes['proxy-error'] >= tally.sessions / 10,
      `the mutations closed sessions: ${tally.outcomes['proxy-error']} of ${tally.sessions} ${seedNote}`,
    );
    assert.ok(tally.outcomes.alive > 0, `some sessions survived their mutations ${seedNote}`);
    assert.ok(rssAfter - rssBefore < RSS_GROWTH_LIMIT_MB, `RSS grew ${rssAfter - rssBefore} MB ${seedNote}`);
  });

  describe('server -> client, through a proxy in front of a fake upstream', () => {
    let fake: FakeUpstream;
    let proxy: MysqlProxy;
    let neighbourOnFake: ReturnType<typeof neighbour>;

    before(async () => {
      fake = await startFakeUpstream(fuzzRng(12));
      proxy = await startMysqlProxy({ upstream: `mysql://root@127.0.0.1:${fake.port}/` });
      neighbourOnFake = mysqlNeighbour({ host: '127.0.0.1', port: proxy.port, user: 'root' });
    });

    after(async () => {
      const seen = await neighbourOnFake.stop();
      await proxy.stop();
      await fake.close();
      assert.deepEqual(seen.errors, [], 'the neighbouring session on the fake upstream saw no error');
      assert.ok(seen.queries > 50, `the neighbouring session kept running (${seen.queries} queries)`);
    });

    test('mutated server packets reach the proxy', async (t) => {
      const rng = fuzzRng(13);
      t.diagnostic(`seed ${rng.seed} (replay: SHIFTGATE_FUZZ_SEED=${rng.seed}), ${FUZZ_FRAMES} packets`);
      const tally = fake.tally;
      settledRssMb();
      const rssBefore = settledRssMb();
      try {
        await pool(
          12,
          () => tally.frames < FUZZ_FRAMES,
          () => serverFuzzSession(proxy.port, rng, tally),
        );
      } catch (err) {
        t.diagnostic(`failed with seed ${rng.seed}`);
        throw err;
      }
      await untilIdle(proxy.proxy, 1);
      const rssAfter = settledRssMb();
      report(t, 'server->client', tally, [rssBefore, rssAfter]);
      const seedNote = `(seed ${rng.seed})`;
      assert.deepEqual(watch.errors, [], `nothing went uncaught ${seedNote}`);
      assert.ok(
        tally.outcomes['proxy-error'] >= tally.sessions / 50,
        `the mutations closed sessions: ${tally.outcomes['proxy-error']} of ${tally.sessions} ${seedNote}`,
      );
      assert.ok(tally.outcomes.alive > 0, `some sessions survived their mutations ${seedNote}`);
      assert.ok(
        rssAfter - rssBefore < RSS_GROWTH_LIMIT_MB,
        `RSS grew ${rssAfter - rssBefore} MB ${seedNote}`,
      );
    });
  });
});

async function protocolErrorCount(proxy: RunningProxy): Promise<number> {
  const values = (await proxy.ctx.metrics.protocolErrors.get()).values;
  return values.find((v) => v.labels.dialect === 'mysql')?.value ?? 0;
}

// --- client -> proxy -------------------------------------------------------------

const query = (sql: string) => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);

/** One valid command payload (sent at sequence id 0). */
function validCommand(rng: Rng, database: string): Buffer {
  switch (rng.int(10)) {
    case 0:
      return query(`SELECT ${rng.int(1000)} AS n`);
    case 1:
      return query(`SELECT REPEAT('x', ${rng.int(3000)}) AS r`);
    case 2:
      return query('SHOW SHIFTGATE SESSIONS');
    case 3:
      return query(rng.pick(['BEGIN', 'COMMIT', 'ROLLBACK', 'SELECT 1; SELECT 2']));
    case 4:
      return Buffer.from([0x0e]); // COM_PING
    case 5:
      return Buffer.concat([Buffer.from([0x02]), Buffer.from(database)]); // COM_INIT_DB
    case 6:
      return query("SET shiftgate.version = 'no_such_version'");
    case 7:
      return Buffer.concat([Buffer.from([0x16]), Buffer.from('SELECT ? + 1')]); // COM_STMT_PREPARE
    case 8:
      return Buffer.from([0x09]); // COM_STATISTICS
    default:
      return query('SHOW shiftgate.version');
  }
}

async function clientSession(port: number, user: string, database: string, rng: Rng, tally: Tally) {
  tally.sessions++;
  const conn = rawConnection(port);
  let closed = await waitFor(conn, () => conn.reader.packets > 0, 3000);
  let alive = false;
  if (!closed) {
    tally.frames++;
    conn.socket.write(handshakeResponse(user, database));
    closed = await waitFor(conn, () => conn.reader.packets > 1, 3000);
  }
  const loggedIn = !closed && conn.reader.errors.length === 0 && conn.reader.packets > 1;
  if (loggedIn) {
    const parts: Buffer[] = [];
    for (let i = 2 + rng.int(8); i > 0; i--) {
      const packet = encodePacket(0, validCommand(rng, database));
      tally.frames++;
      if (rng.chance(0.12)) {
        tally.mutated++;
        parts.push(mutate(packet, MYSQL_LAYOUT, rng).bytes);
      } else parts.push(packet);
    }
    const all = Buffer.concat(parts);
    let at = 0;
    while (at < all.length && !conn.socket.destroyed) {
      const n = 1 + rng.int(all.length - at);
      conn.socket.write(all.subarray(at, at + n));
      at += n;
      if (rng.chance(0.3)) await sleep(1);
    }
    if (!conn.socket.destroyed) conn.socket.write(encodePacket(0, query(`SELECT '${PROBE}'`)));
    closed = await waitFor(conn, () => conn.reader.includes(PROBE), 800);
    alive = conn.reader.includes(PROBE);
    if (!closed && !alive) closed = await waitFor(conn, () => false, 100);
  }
  record(tally, conn, classify(conn, closed, alive, CLIENT_MARKER));
  conn.socket.destroy();
  await conn.closed;
}

// --- server -> client ----------------------------------------------------------

interface FakeUpstream {
  port: number;
  tally: Tally;
  close(): Promise<void>;
}

const FAKE_CAPABILITIES =
  (Capability.LongPassword |
    Capability.LongFlag |
    Capability.ConnectWithDb |
    Capability.Protocol41 |
    Capability.Transactions |
    Capability.SecureConnection |
    Capability.MultiStatements |
    Capability.MultiResults |
    Capability.PluginAuth) >>>
  0;

const STATUS_AUTOCOMMIT = 0x0002;

/** A result set of one column, from sequence id 1, as packets. */
function resultPackets(name: string, rows: string[]): Buffer[] {
  let seq = 1;
  const out = [
    encodePacket(seq++, Buffer.from([1])),
    encodePacket(seq++, encodeColumnDefinition(name, 20, false)),
    encodePacket(seq++, encodeEof(STATUS_AUTOCOMMIT)),
  ];
  for (const r of rows) out.push(encodePacket(seq++, encodeTextRow([r])));
  out.push(encodePacket(seq++, encodeEof(STATUS_AUTOCOMMIT)));
  return out;
}

function answerPackets(rng: Rng, command: number): Buffer[] {
  if (command !== 0x03) {
    return [encodePacket(1, encodeOk({ statusFlags: STATUS_AUTOCOMMIT }))];
  }
  switch (rng.int(6)) {
    case 0:
      return [encodePacket(1, encodeErr(1064, '42000', 'fake syntax error'))];
    case 1:
      return [encodePacket(1, encodeOk({ statusFlags: STATUS_AUTOCOMMIT, affectedRows: rng.int(100) }))];
    default: {
      const rows: string[] = [];
      for (let i = rng.int(6); i > 0; i--) rows.push(String(rng.int(1_000_000)));
      return resultPackets('n', rows);
    }
  }
}

/**
 * A TCP server that speaks just enough MySQL: a greeting, OK to any login,
 * then an answer to every command. Logins as user "fuzz" get mutated
 * packets (their greeting and OK too, one in five), others clean ones.
 */
async function startFakeUpstream(rng: Rng): Promise<FakeUpstream> {
  const tally = newTally();
  const sockets = new Set<Socket>();
  let connectionId = 100;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer: Buffer = Buffer.alloc(0);
    let loggedIn = false;
    let fuzz = false;
    let fuzzLogin = false;
    const greeting = encodePacket(
      0,
      encodeHandshakeV10({
        protocolVersion: 10,
        serverVersion: '10.11.0-fake',
        connectionId: connectionId++,
        authPluginData: randomBytes(20),
        capabilities: FAKE_CAPABILITIES,
        mariadbCapabilities: 0,
        characterSet: 45,
        statusFlags: STATUS_AUTOCOMMIT,
        authPluginName: 'mysql_native_password',
      }),
    );
    const send = (packets: Buffer[], mutateThem: boolean) => {
      const out: Buffer[] = [];
      for (const p of packets) {
        if (mutateThem) tally.frames++;
        if (mutateThem && rng.chance(0.15)) {
          tally.mutated++;
          out.push(mutate(p, MYSQL_LAYOUT, rng).bytes);
        } else out.push(p);
      }
      if (!socket.destroyed) socket.write(Buffer.concat(out));
    };
    // Whether the greeting is fuzzed is decided before the login says who it is: one in twenty.
    const fuzzGreeting = rng.chance(0.05);
    send([greeting], fuzzGreeting);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 4) {
        const length = buffer.readUIntLE(0, 3);
        if (buffer.length < 4 + length) return;
        const payload = buffer.subarray(4, 4 + length);
        buffer = buffer.subarray(4 + length);
        if (!loggedIn) {
          loggedIn = true;
          const userEnd = payload.indexOf(0, 32);
          fuzz = payload.toString('utf8', 32, userEnd < 0 ? 32 : userEnd) === 'fuzz';
          fuzzLogin = fuzz && rng.chance(0.2);
          send([encodePacket(2, encodeOk({ statusFlags: STATUS_AUTOCOMMIT }))], fuzzLogin);
          continue;
        }
        const command = payload[0] ?? -1;
        if (command === 0x01) {
          socket.end();
          return;
        }
        if (fuzz) send(answerPackets(rng, command), true);
        else if (command === 0x03) socket.write(Buffer.concat(resultPackets('one', ['1'])));
        else socket.write(encodePacket(1, encodeOk({ statusFlags: STATUS_AUTOCOMMIT })));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    tally,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function serverFuzzSession(port: number, rng: Rng, tally: Tally): Promise<void> {
  tally.sessions++;
  const conn = rawConnection(port);
  let closed = await waitFor(conn, () => conn.reader.packets > 0, 1000);
  if (!closed) {
    conn.socket.write(handshakeResponse('fuzz', ''));
    closed = await waitFor(conn, () => conn.reader.packets > 1, 500);
  }
  let answered = 0;
  const commands = 1 + rng.int(10);
  while (!closed && conn.reader.packets > 1 && answered < commands) {
    const before = conn.reader.packets;
    conn.socket.write(encodePacket(0, query('SELECT n FROM fake')));
    // An answer is complete when its last packet arrived; the fake sends each answer in one write.
    closed = await waitFor(conn, () => conn.reader.packets > before, 300);
    if (conn.reader.packets > before) answered++;
    else break;
    await sleep(1);
  }
  if (!closed) closed = await waitFor(conn, () => false, 20);
  const alive = !closed && answered === commands;
  record(tally, conn, classify(conn, closed, alive, SERVER_MARKER));
  conn.socket.destroy();
  await conn.closed;
}
