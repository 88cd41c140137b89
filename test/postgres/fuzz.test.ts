/**
 * Hostile input at volume, both directions of the PostgreSQL relay:
 *
 * - client -> proxy: sessions log in for real, then send valid frontend
 *   frames with mutated ones among them (bit flips, truncations, wrong and
 *   huge lengths, wrong type bytes, garbage, doubled headers) to the real
 *   server through a whole Shiftgate (router and admin console included);
 * - server -> client: a fake upstream logs the proxy in (trust), then
 *   answers every query with backend frames of which some are mutated.
 *
 * Each direction sends SHIFTGATE_FUZZ_FRAMES frames (10,000 by default; 100,000
 * with `npm run fuzz`), from a seeded PRNG: the seed is printed, and
 * SHIFTGATE_FUZZ_SEED=<seed> replays a run. Asserted: nothing the proxy
 * throws goes uncaught, memory stays bounded, every session the proxy
 * closes for bad bytes gets 08P01 first, every session ends, the mutations
 * did close sessions (a run that fuzzed nothing fails), and ordinary
 * clients on neighbouring sessions see no error throughout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { createPgDatabase, PG_URL, type TestDatabase } from '../helpers/databases.ts';
import {
  FUZZ_FRAMES,
  fuzzRng,
  mutate,
  neighbour,
  PG_LAYOUT,
  pool,
  type Rng,
  settledRssMb,
  sleep,
  watchProcess,
} from '../helpers/fuzz.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

/** What one fuzzed session ended as. */
type Outcome =
  | 'proxy-08P01' // the proxy refused the bytes: 08P01, then close
  | 'server-error-close' // the server itself ended the session with an ErrorResponse (its own 08P01, ...)
  | 'closed' // closed without an error where the protocol gives no chance (Terminate, a cancel request)
  | 'alive' // the mutated bytes still made sense: the probe at the end was answered
  | 'stalled'; // neither closed nor answered in time (a length that promises more bytes)

interface Tally {
  sessions: number;
  frames: number;
  mutated: number;
  outcomes: Record<Outcome, number>;
  fatalCodes: Map<string, number>;
}

const newTally = (): Tally => ({
  sessions: 0,
  frames: 0,
  mutated: 0,
  outcomes: { 'proxy-08P01': 0, 'server-error-close': 0, closed: 0, alive: 0, stalled: 0 },
  fatalCodes: new Map(),
});

interface ErrorSeen {
  severity: string;
  code: string;
  message: string;
}

/**
 * Reads backend messages the way a forgiving client would: whole frames in
 * order, ErrorResponse fields decoded; a frame length that cannot be right
 * stops reading (a real driver would drop the connection there).
 */
class BackendReader {
  private buffer: Buffer = Buffer.alloc(0);
  private broken = false;
  readonly errors: ErrorSeen[] = [];
  readyCount = 0;
  sawProbe = false;
  /** The raw bytes received, for messages the proxy appends after garbage. */
  private readonly raw: Buffer[] = [];

  push(chunk: Buffer): void {
    this.raw.push(chunk);
    if (this.broken) return;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 5) {
      const code = this.buffer[0]!;
      const length = this.buffer.readInt32BE(1);
      if (length < 4 || length > 64 * 1024 * 1024) {
        this.broken = true;
        return;
      }
      if (this.buffer.length < length + 1) return;
      const body = this.buffer.subarray(5, length + 1);
      this.buffer = this.buffer.subarray(length + 1);
      if (code === 0x5a) this.readyCount++;
      else if (code === 0x45) this.errors.push(decodeError(body));
      else if (code === 0x44 && body.includes(PROBE_VALUE)) this.sawProbe = true;
    }
  }

  /** The proxy's own 08P01 (it may follow bytes this reader gave up on). */
  proxyProtocolError(marker: string): boolean {
    return (
      this.errors.some((e) => e.code === '08P01' && e.message.includes(marker)) ||
      Buffer.concat(this.raw).includes(Buffer.from(marker))
    );
  }
}

const PROBE_VALUE = Buffer.from('shiftgate-fuzz-probe');
/** The hint of the proxy's own 08P01 (the server's "invalid frontend message type" is the server's). */
const PROXY_CLIENT_MARKER = 'are not PostgreSQL protocol 3.0';

function decodeError(body: Buffer): ErrorSeen {
  const fields = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    fields.set(type, body.toString('utf8', i + 1, end));
    i = end + 1;
  }
  return { severity: fields.get('S') ?? '', code: fields.get('C') ?? '', message: fields.get('M') ?? '' };
}

/** A raw connection to the proxy: bytes out, backend messages in, and whether it closed. */
function rawConnection(port: number): { socket: Socket; reader: BackendReader; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const reader = new BackendReader();
  socket.on('data', (d: Buffer) => reader.push(d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, reader, closed };
}

/** Waits until `done()` or the socket closes, at most `ms`; true when it closed. */
async function waitFor(conn: ReturnType<typeof rawConnection>, done: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  let closed = false;
  void conn.closed.then(() => {
    closed = true;
  });
  while (!closed && !done() && Date.now() < deadline) await sleep(5);
  return closed;
}

/** The fuzz neighbour as a node-postgres session. */
function pgNeighbour(url: string) {
  return neighbour(async (onError) => {
    const client = new pg.Client({ connectionString: url, application_name: 'neighbour' });
    client.on('error', (e) => onError(e.message));
    await client.connect();
    return {
      selectOne: async () => (await client.query('SELECT 1 AS one')).rows[0]?.one,
      end: () => client.end(),
    };
  });
}

function report(t: { diagnostic(m: string): void }, name: string, tally: Tally, rss: [number, number]) {
  const o = tally.outcomes;
  t.diagnostic(
    `${name}: ${tally.frames} frames (${tally.mutated} mutated) in ${tally.sessions} sessions; ` +
      `proxy 08P01 ${o['proxy-08P01']}, server error+close ${o['server-error-close']}, closed ${o.closed}, ` +
      `alive ${o.alive}, stalled ${o.stalled}; RSS ${rss[0].toFixed(1)} -> ${rss[1].toFixed(1)} MB`,
  );
  if (tally.fatalCodes.size > 0)
    t.diagnostic(
      `${name}: errors that ended sessions: ${JSON.stringify(Object.fromEntries(tally.fatalCodes))}`,
    );
}

/** Generous: the run must not keep what it was sent (10,000 frames are a few MB in all). */
const RSS_GROWTH_LIMIT_MB = 150;

describe('PostgreSQL wire fuzz', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let url: string;
  let proxyPort: number;
  let fuzzRole: string;
  let watch: ReturnType<typeof watchProcess>;
  let neighbourOnReal: ReturnType<typeof neighbour>;

  before(async () => {
    watch = watchProcess();
    db = await createPgDatabase('fuzz');
    // Fuzzed sessions log in as a role that is no superuser: whatever a mutated FunctionCall or
    // statement turns into, the shared server does not obey it beyond this role's rights.
    fuzzRole = `sg_fuzz_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${fuzzRole} LOGIN`);
    await admin.end();
    // A 1 MiB message cap, so that huge lengths meet it instead of waiting for 256 MB.
    sg = await startTestShiftgate(db.url, {
      'proxy.max_message_bytes': String(1024 * 1024),
      'admin.users': `postgres,${fuzzRole}`,
    });
    url = sg.via(db.url);
    proxyPort = sg.sg.proxy.address.port;
    neighbourOnReal = pgNeighbour(url);
  });

  after(async () => {
    const seen = await neighbourOnReal.stop();
    await sg.stop();
    await db.drop();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${fuzzRole}`);
    await admin.end();
    watch.stop();
    assert.deepEqual(seen.errors, [], 'the neighbouring session saw no error');
    assert.ok(seen.queries > 50, `the neighbouring session kept running (${seen.queries} queries)`);
    assert.deepEqual(watch.errors, [], 'nothing went uncaught');
  });

  test('client -> proxy: mutated frontend frames against the real server', async (t) => {
    const rng = fuzzRng(1);
    t.diagnostic(`seed ${rng.seed} (replay: SHIFTGATE_FUZZ_SEED=${rng.seed}), ${FUZZ_FRAMES} frames`);
    const user = fuzzRole;
    const tally = newTally();
    const errorsBefore = await protocolErrorCount(sg);
    settledRssMb();
    const rssBefore = settledRssMb();
    try {
      await pool(
        12,
        () => tally.frames < FUZZ_FRAMES,
        async () => {
          await clientSession(proxyPort, user, db.name, rng, tally);
        },
      );
    } catch (err) {
      t.diagnostic(`failed with seed ${rng.seed}`);
      throw err;
    }
    await untilIdle(sg, 1);
    const rssAfter = settledRssMb();
    report(t, 'client->proxy', tally, [rssBefore, rssAfter]);
    const counted = (await protocolErrorCount(sg)) - errorsBefore;
    const seedNote = `(seed ${rng.seed})`;
    assert.deepEqual(watch.errors, [], `nothing went uncaught ${seedNote}`);
    // Every 08P01 a client was told is counted once. The count may hold a few more: a session the
    // proxy ended because it could no longer follow the server's answers to its mutated frames
    // (seen about once per 10,000 frames) is told 08P01 too, but the fuzz client, already out of
    // step, sees a bare close or stalls. Nothing beyond those: no session is counted twice.
    const told = tally.outcomes['proxy-08P01'];
    assert.ok(
      counted >= told && counted <= told + tally.outcomes.closed + tally.outcomes.stalled,
      `protocol errors counted ${counted}: ${told} sessions told 08P01, ${tally.outcomes.closed} closed, ${tally.outcomes.stalled} stalled ${seedNote}`,
    );
    assert.ok(
      tally.outcomes['proxy-08P01'] >= tally.sessions / 10,
      `the mutations closed sessions: ${tally.outcomes['proxy-08P01']} of ${tally.sessions} ${seedNote}`,
    );
    assert.ok(tally.outcomes.alive > 0, `some sessions survived their mutations ${seedNote}`);
    assert.ok(rssAfter - rssBefore < RSS_GROWTH_LIMIT_MB, `RSS grew ${rssAfter - rssBefore} MB ${seedNote}`);
  });

  describe('server -> client, through a proxy in front of a fake upstream', () => {
    let fake: FakeUpstream;
    let proxy: TestPgProxy;
    let neighbourOnFake: ReturnType<typeof neighbour>;

    before(async () => {
      fake = await startFakeUpstream(fuzzRng(2));
      proxy = await startPgProxy(`postgres://postgres@127.0.0.1:${fake.port}/fake`);
      neighbourOnFake = pgNeighbour(proxy.via('postgres://postgres@127.0.0.1/fake'));
    });

    after(async () => {
      const seen = await neighbourOnFake.stop();
      await proxy.stop();
      await fake.close();
      assert.deepEqual(seen.errors, [], 'the neighbouring session on the fake upstream saw no error');
      assert.ok(seen.queries > 50, `the neighbouring session kept running (${seen.queries} queries)`);
    });

    test('mutated backend frames reach the proxy', async (t) => {
      const rng = fuzzRng(3);
      t.diagnostic(
        `seed ${fake.rng.seed} (replay: SHIFTGATE_FUZZ_SEED=${fake.rng.seed}), ${FUZZ_FRAMES} frames`,
      );
      const tally = fake.tally;
      settledRssMb();
      const rssBefore = settledRssMb();
      try {
        await pool(
          12,
          () => tally.frames < FUZZ_FRAMES,
          async () => {
            await serverFuzzSession(proxy.port, rng, tally);
          },
        );
      } catch (err) {
        t.diagnostic(`failed with seed ${fake.rng.seed}`);
        throw err;
      }
      await untilIdle({ sg: { proxy: proxy.proxy } }, 1);
      const rssAfter = settledRssMb();
      report(t, 'server->client', tally, [rssBefore, rssAfter]);
      const seedNote = `(seed ${fake.rng.seed})`;
      assert.deepEqual(watch.errors, [], `nothing went uncaught ${seedNote}`);
      assert.ok(
        tally.outcomes['proxy-08P01'] >= tally.sessions / 20,
        `the mutations closed sessions: ${tally.outcomes['proxy-08P01']} of ${tally.sessions} ${seedNote}`,
      );
      assert.ok(tally.outcomes.alive > 0, `some sessions survived their mutations ${seedNote}`);
      assert.ok(
        rssAfter - rssBefore < RSS_GROWTH_LIMIT_MB,
        `RSS grew ${rssAfter - rssBefore} MB ${seedNote}`,
      );
    });
  });
});

async function protocolErrorCount(sg: TestShiftgate): Promise<number> {
  const values = (await sg.sg.proxy.ctx.metrics.protocolErrors.get()).values;
  return values.find((v) => v.labels.dialect === 'postgres')?.value ?? 0;
}

/** Every fuzzed session has ended: only the `keep` neighbour sessions are left. */
async function untilIdle(sg: { sg: { proxy: TestPgProxy['proxy'] } }, keep: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (sg.sg.proxy.ctx.registry.size > keep) {
    if (Date.now() > deadline) {
      assert.fail(`${sg.sg.proxy.ctx.registry.size - keep} fuzzed sessions were never closed`);
    }
    await sleep(20);
  }
}

// --- client -> proxy -------------------------------------------------------------

/** Valid frontend traffic: whole requests, simple and extended, admin commands among them. */
function validRequest(rng: Rng): Buffer[] {
  switch (rng.int(9)) {
    case 0:
      return [serialize.query(`SELECT ${rng.int(1000)} AS n`)];
    case 1:
      return [serialize.query(`SELECT repeat('x', ${rng.int(2000)})`)];
    case 2:
      // STATUS reads the state store on one shared connection: mostly SESSIONS, answered from memory.
      return [serialize.query(rng.chance(0.1) ? 'SHOW SHIFTGATE STATUS' : 'SHOW SHIFTGATE SESSIONS')];
    case 3:
      return [serialize.query(rng.pick(['BEGIN', 'COMMIT', 'ROLLBACK', 'SELECT 1; SELECT 2']))];
    case 4:
      return [
        serialize.parse({ name: '', text: 'SELECT $1::int AS v', types: [23] }),
        serialize.bind({ values: [String(rng.int(100))] }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      ];
    case 5: {
      const name = `s${rng.int(4)}`;
      return [
        serialize.close({ type: 'S', name }),
        serialize.parse({ name, text: 'SELECT now()', types: [] }),
        serialize.bind({ statement: name }),
        serialize.execute({}),
        serialize.sync(),
      ];
    }
    case 6:
      return [serialize.query("SET shiftgate.version = 'no_such_version'")];
    case 7:
      return [serialize.flush(), serialize.query("SELECT 'a' || 'b'")];
    default:
      return [serialize.query('SHOW shiftgate.version')];
  }
}

async function clientSession(port: number, user: string, database: string, rng: Rng, tally: Tally) {
  tally.sessions++;
  const conn = rawConnection(port);
  await new Promise((r) => conn.socket.once('connect', r));
  const startup = serialize.startup({ user, database, application_name: 'fuzz' });
  const mutateStartup = rng.chance(0.05);
  if (mutateStartup) {
    conn.socket.write(mutate(startup, { ...PG_LAYOUT, lengthOffset: 0 }, rng).bytes);
    tally.mutated++;
  } else conn.socket.write(startup);
  tally.frames++;
  const loggedIn = () => conn.reader.readyCount > 0;
  // A mutated startup that promises more bytes is left waiting by proxy and server alike: not for long.
  let closed = await waitFor(conn, loggedIn, mutateStartup ? 500 : 3000);
  let sentTerminate = false;
  if (!closed && loggedIn()) {
    // Logins cost the server a backend each: sessions carry enough requests to make them worth it.
    const requests = 4 + rng.int(12);
    const parts: Buffer[] = [];
    for (let i = 0; i < requests; i++) {
      for (const frame of validRequest(rng)) {
        tally.frames++;
        if (rng.chance(0.08)) {
          const m = mutate(frame, PG_LAYOUT, rng);
          tally.mutated++;
          if (m.bytes.includes(0x58)) sentTerminate = true;
          parts.push(m.bytes);
        } else parts.push(frame);
      }
    }
    // Sent in a few writes, so frames also arrive split across chunks.
    const all = Buffer.concat(parts);
    let at = 0;
    while (at < all.length && !conn.socket.destroyed) {
      const n = 1 + rng.int(all.length - at);
      conn.socket.write(all.subarray(at, at + n));
      at += n;
      if (rng.chance(0.3)) await sleep(1);
    }
    // The probe: answered only when the session still follows the protocol.
    const probe = Buffer.concat([serialize.sync(), serialize.query(`SELECT '${PROBE_VALUE}'`)]);
    if (!conn.socket.destroyed) conn.socket.write(probe);
    closed = await waitFor(conn, () => conn.reader.sawProbe && conn.reader.readyCount > 1, 800);
  }
  if (!closed && !conn.reader.sawProbe && !mutateStartup) {
    // Give a late close a moment: the proxy may still be answering the last frames.
    closed = await waitFor(conn, () => false, 100);
  }
  const outcome = classify(conn.reader, closed, PROXY_CLIENT_MARKER);
  if (outcome === 'closed' && !sentTerminate && !mutateStartup) {
    // A close without a word is only right when the bytes said Terminate or were no startup at all.
    tally.fatalCodes.set('(none)', (tally.fatalCodes.get('(none)') ?? 0) + 1);
  }
  record(tally, conn.reader, outcome);
  conn.socket.destroy();
  await conn.closed;
}

function classify(reader: BackendReader, closed: boolean, proxyMarker: string): Outcome {
  if (reader.proxyProtocolError(proxyMarker)) return 'proxy-08P01';
  if (reader.sawProbe) return 'alive';
  if (!closed) return 'stalled';
  if (reader.errors.some((e) => e.severity === 'FATAL')) return 'server-error-close';
  return 'closed';
}

function record(tally: Tally, reader: BackendReader, outcome: Outcome): void {
  tally.outcomes[outcome]++;
  if (outcome === 'server-error-close' || outcome === 'proxy-08P01') {
    const fatal = reader.errors.find((e) => e.severity === 'FATAL');
    const key = fatal ? fatal.code : '08P01';
    tally.fatalCodes.set(key, (tally.fatalCodes.get(key) ?? 0) + 1);
  }
}

// --- server -> client ----------------------------------------------------------

interface FakeUpstream {
  port: number;
  rng: Rng;
  tally: Tally;
  close(): Promise<void>;
}

const backend = {
  frame(code: string, body: Buffer): Buffer {
    const head = Buffer.alloc(5);
    head[0] = code.charCodeAt(0);
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  },
  int32(...values: number[]): Buffer {
    const b = Buffer.alloc(4 * values.length);
    for (const [i, v] of values.entries()) b.writeInt32BE(v, 4 * i);
    return b;
  },
  cstr: (s: string) => Buffer.from(`${s}\0`),
  authOk(): Buffer {
    return backend.frame('R', backend.int32(0));
  },
  param: (k: string, v: string) => backend.frame('S', Buffer.concat([backend.cstr(k), backend.cstr(v)])),
  keyData: (pid: number) => backend.frame('K', backend.int32(pid, 12345)),
  ready: (status = 'I') => backend.frame('Z', Buffer.from(status)),
  rowDescription(name = 'n'): Buffer {
    const field = Buffer.concat([
      backend.cstr(name),
      backend.int32(0),
      Buffer.from([0, 0]),
      backend.int32(23),
    ]);
    const tail = Buffer.from([0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0]);
    return backend.frame('T', Buffer.concat([Buffer.from([0, 1]), field, tail]));
  },
  dataRow(value: string): Buffer {
    const v = Buffer.from(value);
    return backend.frame('D', Buffer.concat([Buffer.from([0, 1]), backend.int32(v.length), v]));
  },
  complete: (tag: string) => backend.frame('C', backend.cstr(tag)),
  notice: (text: string) =>
    backend.frame(
      'N',
      Buffer.concat([
        backend.cstr('SNOTICE'),
        backend.cstr('C00000'),
        backend.cstr(`M${text}`),
        Buffer.from([0]),
      ]),
    ),
  error: (text: string) =>
    backend.frame(
      'E',
      Buffer.concat([
        backend.cstr('SERROR'),
        backend.cstr('C42601'),
        backend.cstr(`M${text}`),
        Buffer.from([0]),
      ]),
    ),
};

/** The answer to one query: a result set, sometimes with a notice, a parameter change or an error. */
function answerFrames(rng: Rng): Buffer[] {
  if (rng.chance(0.1)) return [backend.error('fake syntax error'), backend.ready()];
  const rows = rng.int(6);
  const frames: Buffer[] = [backend.rowDescription()];
  for (let i = 0; i < rows; i++) frames.push(backend.dataRow(String(rng.int(1_000_000))));
  if (rng.chance(0.2)) frames.push(backend.notice('fake notice'));
  if (rng.chance(0.1)) frames.push(backend.param('application_name', 'x'));
  frames.push(backend.complete(`SELECT ${rows}`), backend.ready());
  return frames;
}

const CLEAN_ANSWER = Buffer.concat([
  backend.rowDescription('one'),
  backend.dataRow('1'),
  backend.complete('SELECT 1'),
  backend.ready(),
]);

/**
 * A TCP server that speaks just enough PostgreSQL: trust login, then every
 * Query (or Sync) answered with a result. Connections whose startup says
 * application_name=fuzz get mutated frames, the rest clean ones.
 */
async function startFakeUpstream(rng: Rng): Promise<FakeUpstream> {
  const tally = newTally();
  const sockets = new Set<Socket>();
  let pid = 1000;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let started = false;
    let fuzz = false;
    const send = (frames: Buffer[], mutateFrames: boolean) => {
      const out: Buffer[] = [];
      for (const f of frames) {
        if (mutateFrames) tally.frames++;
        if (mutateFrames && rng.chance(0.15)) {
          tally.mutated++;
          out.push(mutate(f, PG_LAYOUT, rng).bytes);
        } else out.push(f);
      }
      if (!socket.destroyed) socket.write(Buffer.concat(out));
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const body = buffer.subarray(8, length);
          buffer = buffer.subarray(length);
          if (code === 80877103) {
            socket.write('N');
            continue;
          }
          started = true;
          fuzz = body.includes(Buffer.from('application_name\0fuzz\0'));
          const login = [
            backend.authOk(),
            backend.param('server_version', '15.0'),
            backend.param('client_encoding', 'UTF8'),
            backend.keyData(pid++),
            backend.ready(),
          ];
          // One login in ten is fuzzed too: the proxy decodes these frames itself.
          send(login, fuzz && rng.chance(0.1));
          continue;
        }
        if (buffer.length < 5) return;
        const code = buffer[0]!;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        buffer = buffer.subarray(length + 1);
        if (code === 0x58) {
          socket.end();
          return;
        }
        if (code !== 0x51 && code !== 0x53) continue;
        if (fuzz) send(answerFrames(rng), true);
        else socket.write(CLEAN_ANSWER);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    rng,
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
  await new Promise((r) => conn.socket.once('connect', r));
  conn.socket.write(serialize.startup({ user: 'postgres', database: 'fake', application_name: 'fuzz' }));
  let closed = await waitFor(conn, () => conn.reader.readyCount > 0, 2000);
  let answered = 0;
  const queries = 1 + rng.int(10);
  while (!closed && answered < queries) {
    const before = conn.reader.readyCount;
    conn.socket.write(serialize.query('SELECT n FROM fake'));
    closed = await waitFor(conn, () => conn.reader.readyCount > before, 300);
    if (conn.reader.readyCount > before) answered++;
    else break;
  }
  if (!closed) closed = await waitFor(conn, () => false, 20);
  // Every answer arrived: the mutations (if any) were harmless to the protocol.
  if (answered === queries && !closed) conn.reader.sawProbe = true;
  const outcome = classify(conn.reader, closed, 'the upstream server sent an invalid message');
  record(tally, conn.reader, outcome);
  conn.socket.destroy();
  await conn.closed;
}
