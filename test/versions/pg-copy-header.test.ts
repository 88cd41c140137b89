/**
 * `COPY ... FROM STDIN (HEADER MATCH)` in the version's words: while a
 * migration renames a column and changes another's type (a shadow column),
 * a client of the new version copies in with a header of its own names.
 * Every case runs through the proxy and, untranslated, on a plain database
 * holding the new version's schema: the outcome (rows, or SQLSTATE, message
 * and context line) must be the same. The data comes in the pieces a
 * streaming client sends (one byte per CopyData at worst), and psql's
 * `\copy` is checked as the real client it is.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { from } from 'pg-copy-streams';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);

const OLD_SCHEMA = `
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, age int, note text);
INSERT INTO users VALUES (1, 'ada', 36, 'n1'), (2, 'bob', 40, NULL);`;

// As complete leaves it: the altered column last, where its shadow column was added.
const NEW_SCHEMA = `
CREATE TABLE users (id int PRIMARY KEY, full_name text NOT NULL, note text, age bigint);
INSERT INTO users VALUES (1, 'ada', 'n1', 36), (2, 'bob', NULL, 40);`;

const MIGRATION = `operations:
  - rename_column: { table: users, from: name, to: full_name }
  - alter_column: { table: users, column: age, type: bigint, up: age, down: "age::int" }
`;

interface Case {
  title: string;
  sql: string;
  data: string;
  /** Whether PostgreSQL takes it (on the plain schema): both outcomes must be covered. */
  accepted: boolean;
  /** Send the data one byte per CopyData message. */
  byteByByte?: boolean;
}

const CASES: Case[] = [
  {
    title: 'a column list and a matching CSV header',
    accepted: true,
    sql: 'COPY users (id, full_name, age) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,full_name,age\n3,cy,41\n4,di,42\n',
  },
  {
    title: 'the whole table: the header names every column of the version',
    accepted: true,
    sql: 'COPY users FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,full_name,note,age\n3,cy,x,41\n',
  },
  {
    title: 'quoted header fields, another delimiter, CRLF line ends',
    accepted: false,
    sql: "COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER 'match', DELIMITER ';')",
    data: '"id";"full_""name"\r\n3;cy\r\n',
  },
  {
    title: 'quoted header fields that match',
    accepted: true,
    sql: "COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER 'match', DELIMITER ';')",
    data: '"id";"full_name"\r\n3;"c;y"\r\n',
  },
  {
    title: 'text format, tab-separated',
    accepted: true,
    sql: 'COPY users (full_name, id) FROM STDIN (HEADER MATCH)',
    data: 'full_name\tid\ncy\t3\n',
  },
  {
    title: 'the header in one-byte CopyData messages',
    accepted: true,
    sql: 'COPY users (id, age, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,age,full_name\n3,50,cy\n',
    byteByByte: true,
  },
  {
    title: 'a physical name in the header is a mismatch',
    accepted: false,
    sql: 'COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,name\n3,cy\n',
  },
  {
    title: 'a mismatch found one byte at a time',
    accepted: false,
    sql: 'COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,fullname\n3,cy\n',
    byteByByte: true,
  },
  {
    title: 'too few fields',
    accepted: false,
    sql: 'COPY users (id, full_name, age) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,full_name\n3,cy\n',
  },
  {
    title: 'a null header field',
    accepted: false,
    sql: 'COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,\n3,cy\n',
  },
  {
    title: 'text format: the NULL string in the header',
    accepted: false,
    sql: 'COPY users (id, full_name) FROM STDIN (HEADER MATCH)',
    data: 'id\t\\N\n3\tcy\n',
  },
  {
    title: 'no data at all: the empty header line is checked',
    accepted: false,
    sql: 'COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: '',
  },
  {
    title: 'the header line is the only line and has no line end',
    accepted: true,
    sql: 'COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)',
    data: 'id,full_name',
  },
];

interface Outcome {
  error?: { code?: string; message: string; where?: string };
  rows?: unknown[];
}

async function copyIn(client: pg.Client, c: Case): Promise<Outcome> {
  const bytes = Buffer.from(c.data);
  const chunks = c.byteByByte ? [...bytes].map((b) => Buffer.from([b])) : bytes.length ? [bytes] : [];
  await client.query('BEGIN');
  try {
    await pipeline(Readable.from(chunks), client.query(from(c.sql)));
    const { rows } = await client.query('SELECT id, full_name, age, note FROM users ORDER BY id');
    // bigint comes as text from both sides: the same values compare equal.
    return { rows };
  } catch (err) {
    const e = err as { code?: string; message: string; where?: string };
    return { error: { code: e.code, message: e.message, where: e.where } };
  } finally {
    await client.query('ROLLBACK');
  }
}

describe('COPY FROM STDIN with HEADER MATCH in the version words', () => {
  let db: TestDatabase;
  let ref: TestDatabase;
  let sg: TestShiftgate;
  let proxied: pg.Client;
  let plain: pg.Client;
  const clients: pg.Client[] = [];

  async function connect(url: string, options?: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url, options } as pg.ClientConfig);
    await client.connect();
    clients.push(client);
    return client;
  }

  before(async () => {
    db = await createPgDatabase('copy_header');
    ref = await createPgDatabase('copy_header_ref');
    await (await connect(db.url)).query(OLD_SCHEMA);
    plain = await connect(ref.url);
    await plain.query(NEW_SCHEMA);
    sg = await startTestShiftgate(db.url);
    sg.writeMigration('m', MIGRATION);
    await sg.admin(db.url, "SHIFTGATE START 'm'");
    await sg.waitForPhase(db.url, 'active');
    proxied = await connect(sg.via(db.url), '-c shiftgate.version=m');
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await sg?.stop();
    for (const d of [db, ref]) await d?.drop();
  });

  for (const c of CASES) {
    test(c.title, async () => {
      const want = await copyIn(plain, c);
      assert.equal(want.error === undefined, c.accepted, JSON.stringify(want.error));
      const got = await copyIn(proxied, c);
      assert.deepEqual(got, want);
      // The session goes on after a failed COPY, and nothing of it stayed.
      const { rows } = await proxied.query('SELECT count(*)::int AS n FROM users');
      assert.equal(rows[0].n, 2);
    });
  }

  test('a server-side file with HEADER MATCH is refused, naming the way out', async () => {
    await assert.rejects(
      proxied.query("COPY users (id, full_name) FROM '/nonexistent.csv' (FORMAT csv, HEADER MATCH)"),
      (err: { code?: string; message: string }) =>
        err.code === '0A000' && /COPY FROM STDIN/.test(err.message),
    );
  });

  test('in the extended protocol, where the data could not be followed, it is refused', async () => {
    const sql = 'COPY users (id, full_name) FROM STDIN (FORMAT csv, HEADER MATCH)';
    await assert.rejects(
      proxied.query({ name: 'copy_header_match', text: sql }),
      (err: { code?: string; message: string }) => err.code === '0A000' && /simple Query/.test(err.message),
    );
    assert.equal((await proxied.query('SELECT 1 AS one')).rows[0].one, 1);
  });

  test('psql \\copy with HEADER MATCH and the version names', async () => {
    const env = { ...process.env, PGOPTIONS: '-c shiftgate.version=m' };
    const copy = '\\copy users (id, full_name) from stdin (format csv, header match)';
    const ok = run('psql', [sg.via(db.url), '-X', '-v', 'ON_ERROR_STOP=1', '-c', copy], { env });
    ok.child.stdin!.end('id,full_name\n7,psql-row\n');
    assert.match((await ok).stdout, /COPY 1/);
    const bad = run('psql', [sg.via(db.url), '-X', '-v', 'ON_ERROR_STOP=1', '-c', copy], { env });
    bad.child.stdin!.end('id,name\n8,psql-row\n');
    await assert.rejects(bad, (err: { stderr: string }) =>
      /column name mismatch in header line field 2: got "name", expected "full_name"/.test(err.stderr),
    );
    const { rows } = await proxied.query('SELECT full_name FROM users WHERE id IN (7, 8) ORDER BY id');
    assert.deepEqual(rows, [{ full_name: 'psql-row' }]);
    await proxied.query('DELETE FROM users WHERE id = 7');
  });
});
