/**
 * COPY in the version's words: the header line of `COPY t TO ... HEADER`
 * (whole table or a column list) names the version's columns, and the data
 * is what the version's own plain schema gives. Each statement runs
 * translated on the physical schema of fixture.ts and untranslated on the
 * version's reference database, through pg-copy-streams.
 */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { from, to } from 'pg-copy-streams';
import { loadPgParser, translateUncached } from '../../src/dialects/postgres/translate/index.ts';
import type { VersionMap } from '../../src/versions/index.ts';
import { V0, V2, V3 } from './cases.ts';
import { openTranslationDatabases, type TranslationDatabases } from './fixture.ts';

const COPY_OUT: { v: string; sql: string; out: string }[] = [
  {
    v: V3,
    sql: 'COPY users TO STDOUT (FORMAT csv, HEADER)',
    out: 'COPY (SELECT id, name AS full_name, email, "Nick Name", bio, _shiftgate_new_age AS age FROM users) TO STDOUT (FORMAT csv, HEADER)',
  },
  {
    v: V3,
    sql: 'COPY public.users (full_name, age, id) TO STDOUT WITH CSV HEADER',
    out: 'COPY (SELECT name AS full_name, _shiftgate_new_age AS age, id FROM public.users) TO STDOUT WITH CSV HEADER',
  },
  {
    v: V3,
    sql: "COPY users (email, id) TO STDOUT (FORMAT csv, HEADER true, DELIMITER ';')",
    out: "COPY users (email, id) TO STDOUT (FORMAT csv, HEADER true, DELIMITER ';')",
  },
  {
    v: V3,
    sql: 'COPY users TO STDOUT (FORMAT csv, HEADER false)',
    out: 'COPY users (id, name, email, "Nick Name", bio, _shiftgate_new_age) TO STDOUT (FORMAT csv, HEADER false)',
  },
  {
    v: V2,
    sql: 'COPY users TO STDOUT (FORMAT csv, HEADER 1)',
    out: 'COPY (SELECT id, name, email, age, legacy, "Nick Name" FROM users) TO STDOUT (FORMAT csv, HEADER 1)',
  },
  {
    v: V0,
    sql: 'COPY users (id, mail) TO STDOUT CSV HEADER',
    out: 'COPY (SELECT id, email AS mail FROM users) TO STDOUT CSV HEADER',
  },
  {
    v: V3,
    sql: 'COPY purchases TO STDOUT (FORMAT csv, HEADER)',
    out: 'COPY orders TO STDOUT (FORMAT csv, HEADER)',
  },
];

async function copyOut(client: pg.Client, sql: string): Promise<string> {
  const chunks: Buffer[] = [];
  await pipeline(
    client.query(to(sql)),
    new Writable({
      write(chunk, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  // Rows in a fixed order: the header first, then the rest sorted.
  const [head, ...rows] = Buffer.concat(chunks).toString().split('\n');
  return [head, ...rows.sort()].join('\n');
}

describe('COPY in the version words', () => {
  let dbs: TranslationDatabases;
  let client: pg.Client;
  let map: VersionMap;
  let refs: Map<string, pg.Client>;

  before(async () => {
    await loadPgParser();
    dbs = await openTranslationDatabases('translate_copy', [V0, V2, V3]);
    ({ client, map, refs } = dbs);
  });

  after(() => dbs?.close());

  for (const c of COPY_OUT) {
    test(`[${c.v}] ${c.sql}`, async () => {
      const plan = translateUncached(map.version(c.v)!, c.sql);
      assert.equal(plan.sql, c.out);
      assert.equal(await copyOut(client, plan.sql), await copyOut(refs.get(c.v)!, c.sql));
    });
  }

  test('COPY FROM with HEADER MATCH: the server skips the line, the proxy checks it against the version names', () => {
    const sql = "COPY users (full_name, age) FROM STDIN (FORMAT csv, HEADER MATCH, DELIMITER ';')";
    const plan = translateUncached(map.version(V3)!, sql);
    assert.equal(
      plan.sql,
      "COPY users (name, _shiftgate_new_age) FROM STDIN (FORMAT csv, HEADER true, DELIMITER ';')",
    );
    assert.deepEqual(plan.copyHeader, {
      table: 'users',
      columns: ['full_name', 'age'],
      format: 'csv',
      delimiter: ';',
      quote: '"',
      escape: '"',
      nullString: '',
    });
    // A version whose names are the physical ones lets the server check.
    const same = 'COPY users (id, email) FROM STDIN (HEADER MATCH)';
    assert.equal(translateUncached(map.version(V3)!, same).copyHeader, undefined);
    assert.equal(translateUncached(map.version(V3)!, same).sql, same);
  });

  test('COPY FROM with a header line in the version names: skipped, columns mapped by the list', async () => {
    const sql = 'COPY users (full_name, age) FROM STDIN (FORMAT csv, HEADER)';
    const plan = translateUncached(map.version(V3)!, sql);
    assert.equal(plan.sql, 'COPY users (name, _shiftgate_new_age) FROM STDIN (FORMAT csv, HEADER)');
    const data = 'full_name,age\nZed,40\nYves,41\n';
    for (const [target, text] of [
      [client, plan.sql],
      [refs.get(V3)!, sql],
    ] as const) {
      await target.query('BEGIN');
      await pipeline(Readable.from([data]), target.query(from(text)));
    }
    const read = 'SELECT full_name, age FROM users WHERE id > 3 ORDER BY full_name';
    const got = await client.query(translateUncached(map.version(V3)!, read).sql);
    const want = await refs.get(V3)!.query(read);
    assert.deepEqual(got.rows, want.rows);
    await client.query('ROLLBACK');
    await refs.get(V3)!.query('ROLLBACK');
  });
});
