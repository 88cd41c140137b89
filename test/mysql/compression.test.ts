/**
 * The compressed protocol through Shiftgate against the real MariaDB:
 * mysql2 and the mariadb connector with `compress: true`, the mariadb
 * command-line client with `--compress`, and a raw compressed client for
 * frames no driver would send.
 *
 * The proxy compresses the client leg only: the upstream connection is
 * opened without CLIENT_COMPRESS, so the server's own `Compression` status
 * says OFF. That compression really happens between client and proxy is
 * shown by the bytes on the client leg (the proxy's byte counters, and a
 * raw client that reads compressed packets).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import * as mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { COMPRESSED_HEADER_LENGTH, CompressedLink } from '../../src/dialects/mysql/compression.ts';
import { type Packet, PacketFramer } from '../../src/dialects/mysql/framer.ts';
import {
  decodeErr,
  decodeHandshakeV10,
  encodePacket,
  encodeQuery,
} from '../../src/dialects/mysql/messages.ts';
import { Capability } from '../../src/dialects/mysql/protocol.ts';
import { selfSignedCertificate } from '../helpers/certificates.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { RAW_CLIENT_CAPABILITIES } from './raw-client.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A bare client of the compressed protocol: plain packets until the login
 * OK, compressed packets after it. Keeps every compressed packet it read.
 */
class CompressedRawClient {
  private readonly plain = new PacketFramer();
  private readonly framer = new PacketFramer();
  readonly link = new CompressedLink();
  private compressed = false;
  private readonly queue: Packet[] = [];
  readonly frameSeqs: number[] = [];
  /** The compressed sequence id of the compressed packet each packet ended in. */
  readonly frameOf = new WeakMap<Packet, number>();
  readonly closed: Promise<void>;
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (!this.compressed) {
        this.queue.push(...this.plain.push(chunk));
        return;
      }
      for (const f of this.link.read(chunk)) {
        this.frameSeqs.push(f.sequenceId);
        for (const p of this.framer.push(f.payload)) {
          this.frameOf.set(p, f.sequenceId);
          this.queue.push(p);
        }
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        resolve();
      }),
    );
  }

  static async connect(port: number, database: string): Promise<CompressedRawClient> {
    const client = new CompressedRawClient(connect(port, '127.0.0.1'));
    const greeting = decodeHandshakeV10((await client.read()).payload);
    assert.ok(greeting.capabilities & Capability.Compress, 'the proxy offers CLIENT_COMPRESS');
    const fixed = Buffer.alloc(32);
    fixed.writeUInt32LE((RAW_CLIENT_CAPABILITIES | Capability.Compress) >>> 0, 0);
    fixed.writeUInt32LE(16 * 1024 * 1024, 4);
    fixed[8] = 45;
    client.socket.write(
      encodePacket(
        1,
        Buffer.concat([
          fixed,
          Buffer.from('root\0'),
          Buffer.from([0]),
          Buffer.from(`${database}\0`),
          Buffer.from('mysql_native_password\0'),
        ]),
      ),
    );
    const ok = await client.read();
    assert.equal(ok.payload[0], 0x00, 'login OK (sent uncompressed)');
    client.compressed = true;
    return client;
  }

  /** Reads one whole response: an OK / ERR, or a classic result set up to its second EOF. */
  async readResponse(): Promise<Packet[]> {
    const first = await this.read();
    const out = [first];
    if (first.payload[0] === 0x00 || first.payload[0] === 0xff) return out;
    let eofs = 0;
    while (eofs < 2) {
      const p = await this.read();
      out.push(p);
      if (p.payload[0] === 0xfe && p.payload.length < 9) eofs++;
    }
    return out;
  }

  /** Sends one command in compressed packet 0, as a new command starts. */
  command(payload: Buffer): void {
    this.link.nextSequenceId = 0;
    this.socket.write(this.link.write(encodePacket(0, payload)));
  }

  async read(timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a packet');
      await sleep(10);
    }
    return this.queue.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('mysql compressed protocol through Shiftgate', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let port: number;

  before(async () => {
    db = await createMysqlDatabase('compress');
    const config = loadConfig({
      env: {},
      flags: { upstream: db.url, listen: '127.0.0.1:0', 'admin.users': 'root' },
    });
    sg = await startShiftgate(config, db.url, { http: false });
    port = sg.proxy.address.port;
    const direct = await mysql.createConnection(db.url);
    await direct.query('CREATE TABLE docs (id INT PRIMARY KEY, body LONGBLOB)');
    await direct.end();
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  const clientBytes = async () => {
    const m = sg.proxy.ctx.metrics;
    const value = async (c: typeof m.clientBytesSent) =>
      (await c.get()).values.find((v) => v.labels.dialect === 'mysql')?.value ?? 0;
    return { sent: await value(m.clientBytesSent), received: await value(m.clientBytesReceived) };
  };

  /** 5 MiB that compress well (as text, JSON and most blobs do) but are not one repeated byte. */
  const blob = Buffer.from(
    Array.from({ length: 5 * 1024 * 1024 }, (_, i) => 97 + ((i * 31 + (i >> 10)) % 26)),
  );

  it('mysql2 compress: true: queries, multi-statements, prepared statements, a 5 MiB blob both ways, admin commands', async () => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      database: db.name,
      compress: true,
      multipleStatements: true,
    });
    try {
      // The upstream leg is not compressed: the server says OFF (see the file header).
      const [status] = await conn.query("SHOW SESSION STATUS LIKE 'Compression'");
      assert.deepEqual(status, [{ Variable_name: 'Compression', Value: 'OFF' }]);

      const [multi] = (await conn.query(
        "SELECT 1 AS a; SELECT REPEAT('x', 3000) AS b; DO 1; SELECT 'three' AS c",
      )) as unknown as [unknown[]];
      assert.equal(multi.length, 4);
      assert.deepEqual(multi[0], [{ a: 1 }]);
      assert.equal((multi[1] as Array<{ b: string }>)[0]!.b, 'x'.repeat(3000));
      assert.deepEqual(multi[3], [{ c: 'three' }]);
      await assert.rejects(conn.query('SELECT 1; SELECT * FROM no_such_table'), { errno: 1146 });

      for (let i = 0; i < 3; i++) {
        const [rows] = await conn.execute('SELECT ? + 1 AS n, REPEAT(?, 100) AS r', [i, 'ab']);
        assert.deepEqual(rows, [{ n: i + 1, r: 'ab'.repeat(100) }]);
      }

      const before = await clientBytes();
      await conn.execute('INSERT INTO docs VALUES (?, ?)', [1, blob]);
      const [[row]] = (await conn.query('SELECT body FROM docs WHERE id = 1')) as unknown as [
        [{ body: Buffer }],
      ];
      assert.ok(Buffer.from(row.body).equals(blob), 'the blob comes back intact');
      const afterBlob = await clientBytes();
      // Uncompressed, each direction would carry over 5 MiB.
      assert.ok(
        afterBlob.received - before.received < 1024 * 1024,
        `client sent ${afterBlob.received - before.received} bytes`,
      );
      assert.ok(
        afterBlob.sent - before.sent < 1024 * 1024,
        `client received ${afterBlob.sent - before.sent} bytes`,
      );

      for (const via of ['query', 'execute'] as const) {
        const send = (sql: string) => (via === 'query' ? conn.query(sql) : conn.execute(sql));
        const [sessions] = (await send('SHOW SHIFTGATE SESSIONS')) as unknown as [Array<{ id: string }>];
        assert.ok(
          sessions.some((s) => Number(s.id) === conn.threadId),
          `${via}: SHOW SHIFTGATE SESSIONS lists this session`,
        );
        // The proxy's own answer and its own error, each in compressed packets.
        await send('SHOW SHIFTGATE STATUS');
        await assert.rejects(send('SHIFTGATE FROBNICATE'), { errno: 1064 });
      }
      await conn.ping();
      await conn.changeUser({ user: 'root', database: db.name });
      const [[again]] = (await conn.query('SELECT DATABASE() AS d')) as unknown as [[{ d: string }]];
      assert.equal(again.d, db.name);
    } finally {
      await conn.end();
    }
  });

  it('the same blob without compression costs the full size on the client leg', async () => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: db.name });
    try {
      const before = await clientBytes();
      const [[row]] = (await conn.query('SELECT body FROM docs WHERE id = 1')) as unknown as [
        [{ body: Buffer }],
      ];
      assert.ok(Buffer.from(row.body).equals(blob));
      assert.ok((await clientBytes()).sent - before.sent > blob.length);
    } finally {
      await conn.end();
    }
  });

  it('mariadb connector compress: true: pipelining, batch, prepared statements, multi-statements, blob, admin', async () => {
    const conn = await mariadb.createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      connectTimeout: 10_000,
      database: db.name,
      compress: true,
      multipleStatements: true,
      pipelining: true,
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => conn.query('SELECT ? AS i, REPEAT(?, 200) AS r', [i, 'z'])),
      );
      for (const [i, rows] of results.entries()) assert.deepEqual(rows, [{ i, r: 'z'.repeat(200) }]);
      const multi = await conn.query("SELECT 1 AS a; SELECT REPEAT('y', 2000) AS b");
      assert.equal(multi[1][0].b, 'y'.repeat(2000));
      const prepared = await conn.prepare('SELECT ? * 2 AS v');
      for (let i = 0; i < 3; i++) assert.equal(Number((await prepared.execute([i]))[0].v), i * 2);
      prepared.close();
      assert.deepEqual(await conn.execute('SELECT ? AS e', ['x']), [{ e: 'x' }]);
      await conn.batch('INSERT INTO docs VALUES (?, ?)', [
        [10, Buffer.from('ten')],
        [11, Buffer.from('eleven')],
      ]);
      const before = await clientBytes();
      await conn.query('INSERT INTO docs VALUES (?, ?)', [2, blob]);
      const [row] = await conn.query('SELECT body FROM docs WHERE id = 2');
      assert.ok(Buffer.from(row.body).equals(blob));
      const after = await clientBytes();
      assert.ok(after.sent - before.sent < 1024 * 1024 && after.received - before.received < 1024 * 1024);
      await conn.query('SHOW SHIFTGATE STATUS');
      await assert.rejects(conn.query('SHIFTGATE FROBNICATE'), { errno: 1064 });
      const sessions = await conn.execute('SHOW SHIFTGATE SESSIONS');
      assert.ok(sessions.some((s: { id: string }) => Number(s.id) === Number(conn.threadId)));
      await conn.reset();
      assert.deepEqual(await conn.query('SELECT 7 AS seven'), [{ seven: 7 }]);
    } finally {
      await conn.end();
    }
  });

  it('mariadb pool compress: true: concurrent sessions', async () => {
    const pool = mariadb.createPool({
      host: '127.0.0.1',
      port,
      user: 'root',
      connectTimeout: 10_000,
      database: db.name,
      compress: true,
      connectionLimit: 4,
    });
    try {
      const rows = await Promise.all(
        Array.from({ length: 40 }, (_, i) => pool.query('SELECT ? AS i, REPEAT(?, 500) AS r', [i, 'k'])),
      );
      for (const [i, r] of rows.entries()) assert.deepEqual(r, [{ i, r: 'k'.repeat(500) }]);
    } finally {
      await pool.end();
    }
  });

  it('KILL QUERY <proxy id> between compressed sessions stops the statement and keeps the connection', async () => {
    const victim = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', compress: true });
    const killer = await mariadb.createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      connectTimeout: 10_000,
      compress: true,
    });
    try {
      const started = Date.now();
      const running = victim.query('SELECT SLEEP(5) AS s').then(
        ([rows]) => `rows ${JSON.stringify(rows)}`,
        (err: { errno?: number }) => `error ${err.errno}`,
      );
      await sleep(300);
      await killer.query(`KILL QUERY ${victim.threadId}`);
      assert.match(await running, /^(error 1317|rows \[\{"s":1\}\])$/);
      assert.ok(Date.now() - started < 3000);
      const [[row]] = (await victim.query('SELECT 5 AS five')) as unknown as [[{ five: number }]];
      assert.equal(row.five, 5);
    } finally {
      await victim.end();
      await killer.end();
    }
  });

  it('the mariadb command-line client with --compress', async () => {
    const args = ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '--compress', '-N', '-B', db.name];
    const { stdout } = await run(
      'mariadb',
      [
        ...args,
        '-e',
        "SELECT 1; SELECT LENGTH(REPEAT('ab', 300000)); SELECT COUNT(*) FROM docs; SELECT body FROM docs WHERE id = 10",
      ],
      { timeout: 20_000 },
    );
    assert.deepEqual(stdout.trim().split('\n'), ['1', '600000', '4', 'ten']);
    const admin = await run('mariadb', [...args, '-e', 'SHOW SHIFTGATE SESSIONS'], { timeout: 20_000 });
    assert.ok(admin.stdout.trim().split('\n').length >= 1, 'SHOW SHIFTGATE SESSIONS answers rows');
    await assert.rejects(
      run('mariadb', [...args, '-e', 'SHIFTGATE FROBNICATE'], { timeout: 20_000 }),
      (err: Error & { stderr?: string }) => /ERROR 1064/.test(err.stderr ?? ''),
    );
    const big = await run('mariadb', [...args, '-e', 'SELECT body FROM docs WHERE id = 1'], {
      timeout: 20_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(big.stdout.trimEnd(), blob.toString('latin1'));
  });

  it('LOAD DATA LOCAL INFILE and a 20 MiB row (split packets) under compression: mysql2 and the mariadb client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-compress-'));
    const big = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 97 + ((i * 7 + (i >> 12)) % 26);
    const file = join(dir, 'big.tsv');
    writeFileSync(file, Buffer.concat([Buffer.from('1\t'), big, Buffer.from('\n')]));
    const load = `LOAD DATA LOCAL INFILE '${file}' INTO TABLE bigs FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' (id, body)`;
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      database: db.name,
      compress: true,
      infileStreamFactory: (path: string) => createReadStream(path),
    });
    try {
      await conn.query('CREATE TABLE bigs (id INT PRIMARY KEY, body LONGBLOB)');
      const [loaded] = await conn.query(load);
      assert.equal((loaded as mysql.ResultSetHeader).affectedRows, 1);
      const [[text]] = (await conn.query('SELECT body FROM bigs')) as unknown as [[{ body: Buffer }]];
      assert.ok(Buffer.from(text.body).equals(big), 'text protocol row intact');
      const [[binary]] = (await conn.execute('SELECT body, ? AS tail FROM bigs WHERE id = ?', [
        'tail',
        1,
      ])) as unknown as [[{ body: Buffer; tail: string }]];
      assert.ok(Buffer.from(binary.body).equals(big), 'binary protocol row intact');
      assert.equal(binary.tail, 'tail');
      // libmariadb checks every compressed sequence id, across the file upload and the split row.
      const cli = ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '--compress', '-N', '-B', db.name];
      await run('mariadb', [...cli, '--local-infile=1', '-e', `DELETE FROM bigs; ${load}`], {
        timeout: 60_000,
      });
      const { stdout } = await run(
        'mariadb',
        [...cli, '--max-allowed-packet=64M', '-e', 'SELECT body FROM bigs'],
        {
          timeout: 60_000,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      assert.ok(stdout.trimEnd() === big.toString('latin1'), 'the mariadb client reads the row intact');
    } finally {
      await conn.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a raw client reads compressed packets numbered from 1 after each command', async () => {
    const c = await CompressedRawClient.connect(port, db.name);
    try {
      for (let round = 0; round < 2; round++) {
        c.frameSeqs.length = 0;
        // Column count (1), definition (2), EOF (3), a row relayed in several socket chunks (4), EOF (5).
        c.command(encodeQuery("SELECT REPEAT('q', 300000)"));
        for (;;) {
          const p = await c.read();
          if (p.payload[0] === 0xfe && p.payload.length < 9 && p.sequenceId === 5) break;
        }
        assert.equal(c.frameSeqs[0], 1, 'the response starts at compressed sequence id 1');
        assert.deepEqual(
          c.frameSeqs,
          c.frameSeqs.map((_, i) => i + 1),
        );
      }
    } finally {
      c.close();
    }
  });

  it('pipelined commands, one answered by the proxy itself: each response is numbered from compressed id 1', async () => {
    const c = await CompressedRawClient.connect(port, db.name);
    try {
      const commands = [
        "SELECT REPEAT('a', 100000)",
        'SHOW SHIFTGATE SESSIONS',
        'SELECT 2',
        "SELECT REPEAT('b', 70000)",
      ];
      // Sent back to back, each in its own compressed packet 0, before any answer.
      const link = new CompressedLink();
      c.socket.write(
        Buffer.concat(
          commands.map((sql) => {
            link.nextSequenceId = 0;
            return link.write(encodePacket(0, encodeQuery(sql)));
          }),
        ),
      );
      for (const sql of commands) {
        const response = await c.readResponse();
        assert.equal(c.frameOf.get(response[0]!), 1, `${sql}: starts in compressed packet 1`);
        assert.notEqual(response[0]!.payload[0], 0xff, `${sql}: answered`);
      }
    } finally {
      c.close();
    }
  });

  it('compression inside client TLS terminated by the proxy: mysql2 and the mariadb client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-compress-tls-'));
    const tls = selfSignedCertificate(dir);
    const tlsProxy = await startMysqlProxy({
      upstream: db.url,
      flags: { 'tls.cert': tls.cert, 'tls.key': tls.key },
    });
    try {
      const conn = await mysql.createConnection({
        host: '127.0.0.1',
        port: tlsProxy.port,
        user: 'root',
        database: db.name,
        compress: true,
        ssl: { rejectUnauthorized: false },
      });
      const [[big]] = (await conn.query('SELECT REPEAT(?, 200000) AS r', ['x'])) as unknown as [
        [{ r: string }],
      ];
      assert.equal(big.r, 'x'.repeat(200000));
      await conn.end();
      const { stdout } = await run(
        'mariadb',
        [
          '-h',
          '127.0.0.1',
          '-P',
          String(tlsProxy.port),
          '-u',
          'root',
          '--ssl',
          '--skip-ssl-verify-server-cert',
        ].concat(['--compress', '-e', "status; SELECT LENGTH(REPEAT('ab', 100000))"]),
        { timeout: 20_000 },
      );
      assert.match(stdout, /SSL:\s+Cipher in use is/);
      assert.match(stdout, /Protocol:\s+Compressed/);
      assert.match(stdout, /200000/);
    } finally {
      await tlsProxy.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('malformed compressed packets', () => {
    let small: MysqlProxy;

    before(async () => {
      small = await startMysqlProxy({ upstream: db.url, flags: { 'proxy.max_message_bytes': '1048576' } });
    });

    after(async () => {
      await small.stop();
    });

    const cases: Array<[string, (link: CompressedLink) => Buffer]> = [
      [
        'bad zlib data',
        () => {
          const h = Buffer.from([13, 0, 0, 0, 100, 0, 0]);
          return Buffer.concat([h, Buffer.from('not zlib data')]);
        },
      ],
      [
        'inflated length that lies',
        () => {
          const body = deflateSync(encodePacket(0, encodeQuery('SELECT 1'.padEnd(200, ' '))));
          const h = Buffer.alloc(COMPRESSED_HEADER_LENGTH);
          h.writeUIntLE(body.length, 0, 3);
          h.writeUIntLE(50, 4, 3);
          return Buffer.concat([h, body]);
        },
      ],
      [
        'a declared length over the limit (decompression bomb)',
        () => {
          const body = deflateSync(Buffer.alloc(8 * 1024 * 1024));
          const h = Buffer.alloc(COMPRESSED_HEADER_LENGTH);
          h.writeUIntLE(body.length, 0, 3);
          h.writeUIntLE(8 * 1024 * 1024, 4, 3);
          return Buffer.concat([h, body]);
        },
      ],
      [
        'a compressed packet that hides a malformed command',
        (link) => link.write(encodePacket(3, Buffer.from([0x03, 0x31]))),
      ],
    ];

    for (const [name, bad] of cases) {
      it(`${name}: error 1835 and that session closes; others keep working`, async () => {
        const healthy = await mysql.createConnection({
          host: '127.0.0.1',
          port: small.port,
          user: 'root',
          compress: true,
        });
        const c = await CompressedRawClient.connect(small.port, db.name);
        try {
          c.socket.write(bad(new CompressedLink()));
          const err = await c.read();
          assert.equal(err.payload[0], 0xff);
          assert.equal(decodeErr(err.payload).code, 1835);
          await c.closed;
          const [[row]] = (await healthy.query('SELECT 8 AS eight')) as unknown as [[{ eight: number }]];
          assert.equal(row.eight, 8);
        } finally {
          c.close();
          await healthy.end();
        }
      });
    }
  });
});
