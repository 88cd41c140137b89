/**
 * An application's worth of statements per version, per operation kind:
 * for rename_column, add_column (NOT NULL, with up), alter_column (type
 * change), rename_table and drop_column, every statement of a corpus of
 * 120 reads and 16 writes (written once, with the version's names filled
 * in) runs through the proxy in a session of the old version and in one of
 * the new version, in simple and in extended protocol, and its answer
 * (column names and types, rows, or SQLSTATE) is compared with the same
 * statement on a plain database holding that version's schema and the same
 * rows. Writes run in a transaction that is rolled back on both sides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

/** The names one version uses; `note` is null where the version has no such column. */
interface Names {
  T: string;
  name: string;
  qty: string;
  note: string | null;
  /** add_column: the new NOT NULL column. */
  status: string | null;
}

interface Kind {
  kind: string;
  migration: string;
  old: Names;
  new: Names;
  /** DDL that turns the base schema (with its rows) into the new version's plain reference. */
  newReference: string;
}

const BASE: Names = { T: 'items', name: 'name', qty: 'qty', note: 'note', status: null };

const SCHEMA = `
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL, price numeric(10,2), note text);
INSERT INTO items SELECT g, 'item-' || g, g % 9, (g * 1.25)::numeric(10,2), CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END
  FROM generate_series(1, 24) g;
CREATE TABLE tags (id int PRIMARY KEY, item_id int NOT NULL, label text NOT NULL);
INSERT INTO tags SELECT g, (g * 5) % 24 + 1, 'tag-' || g FROM generate_series(1, 15) g;`;

const UP = "CASE WHEN qty > 5 THEN 'big' ELSE 'small' END";

const KINDS: Kind[] = [
  {
    kind: 'rename_column',
    migration: 'operations:\n  - rename_column: { table: items, from: name, to: title }\n',
    old: BASE,
    new: { ...BASE, name: 'title' },
    newReference: 'ALTER TABLE items RENAME COLUMN name TO title',
  },
  {
    kind: 'add_column',
    migration: `operations:\n  - add_column:\n      table: items\n      column: { name: status, type: text, nullable: false }\n      up: "${UP}"\n`,
    old: BASE,
    new: { ...BASE, status: 'status' },
    newReference: `ALTER TABLE items ADD COLUMN status text; UPDATE items SET status = ${UP}; ALTER TABLE items ALTER COLUMN status SET NOT NULL`,
  },
  {
    kind: 'alter_column',
    migration:
      'operations:\n  - alter_column: { table: items, column: qty, type: bigint, up: qty, down: "least(qty, 2147483647)::int" }\n',
    old: BASE,
    new: BASE,
    // As complete leaves it: the shadow column renamed into place, last in the table.
    newReference:
      'ALTER TABLE items ADD COLUMN qty_new bigint; UPDATE items SET qty_new = qty; ALTER TABLE items DROP COLUMN qty; ' +
      'ALTER TABLE items RENAME COLUMN qty_new TO qty; ALTER TABLE items ALTER COLUMN qty SET NOT NULL',
  },
  {
    kind: 'rename_table',
    migration: 'operations:\n  - rename_table: { from: items, to: products }\n',
    old: BASE,
    new: { ...BASE, T: 'products' },
    newReference: 'ALTER TABLE items RENAME TO products',
  },
  {
    kind: 'drop_column',
    migration: `operations:\n  - drop_column: { table: items, column: note, down: "'n' || id" }\n`,
    old: BASE,
    new: { ...BASE, note: null },
    newReference: 'ALTER TABLE items DROP COLUMN note',
  },
];

/** Read templates: `{T}`, `{name}`, `{qty}`, `{note}`, `{status}` are the version's names, `{n}` a number. */
const READS = [
  'SELECT * FROM {T} WHERE id <= {n} ORDER BY id',
  'SELECT {name}, {qty} FROM {T} WHERE {qty} > {n} % 5 ORDER BY id',
  'SELECT t.{name} FROM {T} t WHERE t.id < {n} ORDER BY t.id DESC',
  'SELECT {name} AS n, count(*) FROM {T} WHERE id > {n} GROUP BY {name} ORDER BY 1',
  'SELECT count(*), sum({qty}), avg(price)::numeric(10,2) FROM {T} WHERE id <> {n}',
  'SELECT DISTINCT ON ({qty}) {qty}, {name} FROM {T} WHERE id >= {n} ORDER BY {qty}, id',
  "SELECT id FROM {T} WHERE {name} LIKE 'item-{n}%' ORDER BY id",
  'SELECT {name} FROM {T} WHERE id IN (SELECT item_id FROM tags WHERE id > {n}) ORDER BY 1',
  'SELECT i.{name}, g.label FROM {T} i JOIN tags g ON g.item_id = i.id WHERE g.id <= {n} ORDER BY g.id',
  'SELECT i.{name}, g.label FROM {T} i LEFT JOIN tags g ON g.item_id = i.id WHERE i.id <= {n} ORDER BY i.id, g.id',
  'WITH big AS (SELECT * FROM {T} WHERE {qty} >= {n} % 6) SELECT {name} FROM big ORDER BY id',
  'SELECT {name}, row_number() OVER (ORDER BY {qty} DESC, id) FROM {T} WHERE id <= {n} + 5 ORDER BY 2',
  'SELECT {name} FROM {T} ORDER BY {qty} DESC, id LIMIT 5 OFFSET {n} % 4',
  "SELECT CASE WHEN {qty} > {n} % 7 THEN {name} ELSE 'small' END AS c FROM {T} ORDER BY id",
  "SELECT coalesce({note}, '-') FROM {T} WHERE id <= {n} ORDER BY id",
  "SELECT EXISTS (SELECT 1 FROM {T} WHERE {name} = 'item-{n}')",
  'SELECT x.{name} FROM (SELECT * FROM {T} WHERE id > {n}) x ORDER BY x.id',
  "SELECT {name} FROM {T} WHERE {name} IS DISTINCT FROM 'item-{n}' ORDER BY id LIMIT 3",
  'SELECT upper({name}) AS {name} FROM {T} WHERE id <= {n} ORDER BY {name} DESC LIMIT 4',
  'SELECT {qty}, count(*) FROM {T} WHERE id <= {n} + 8 GROUP BY {qty} HAVING count(*) > 1 ORDER BY {qty}',
  'SELECT {name} FROM {T} WHERE id < {n} UNION SELECT label FROM tags ORDER BY 1',
  'SELECT max(price) FILTER (WHERE {qty} > {n} % 4) FROM {T}',
  'SELECT i.id, l.c FROM {T} i, LATERAL (SELECT count(*) AS c FROM tags g WHERE g.item_id = i.id) l WHERE i.id <= {n} ORDER BY i.id',
  'SELECT {T}.{name} FROM {T} ORDER BY {T}.id LIMIT {n}',
  "SELECT string_agg({name}, ',' ORDER BY id) FROM {T} WHERE id % {n} = 0",
  'SELECT json_agg(x ORDER BY x.id)::text FROM (SELECT id, {name}, {qty} FROM {T} WHERE id < {n}) x',
  "SELECT id FROM {T} WHERE ({name}, {qty}) = ('item-{n}', {n} % 9)",
  'SELECT {name} FROM {T} WHERE price BETWEEN 1 AND {n} ORDER BY id',
  'SELECT count(DISTINCT {qty}) FROM {T} WHERE id > {n}',
  'SELECT {status}, count(*) FROM {T} WHERE id <= {n} GROUP BY 1 ORDER BY 1',
];

const WRITES = [
  "INSERT INTO {T} (id, {name}, {qty}, price) VALUES (100 + {n}, 'new-{n}', {n}, 9.5) RETURNING *",
  'UPDATE {T} SET {qty} = {qty} + 1 WHERE id = {n} RETURNING *',
  'DELETE FROM {T} WHERE id = {n} RETURNING {name}, {qty}',
  "INSERT INTO {T} AS t (id, {name}, {qty}) VALUES ({n}, 'again-{n}', 1) ON CONFLICT (id) DO UPDATE SET {name} = EXCLUDED.{name} RETURNING t.id, t.{name}",
];

const NUMBERS = [3, 7, 12, 20];

/** The corpus for one version: templates naming a column the version lacks are left out. */
function corpus(names: Names, templates: string[]): string[] {
  const out: string[] = [];
  for (const template of templates) {
    if ((template.includes('{note}') && !names.note) || (template.includes('{status}') && !names.status))
      continue;
    for (const n of NUMBERS) {
      out.push(
        template.replace(/\{(T|name|qty|note|status|n)\}/g, (_, key: string) =>
          key === 'n' ? String(n) : (names[key as keyof Names] as string),
        ),
      );
    }
  }
  return out;
}

type Outcome = { fields: string[]; rows: unknown[][] } | { error: string };

async function outcome(client: pg.Client, sql: string, extended: boolean): Promise<Outcome> {
  try {
    const r = await client.query({
      text: sql,
      rowMode: 'array',
      ...(extended ? { queryMode: 'extended' } : {}),
    });
    return { fields: r.fields.map((f) => `${f.name}:${f.dataTypeID}`), rows: r.rows };
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

async function connect(url: string, options?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...(options ? { options } : {}) } as pg.ClientConfig);
  await client.connect();
  return client;
}

for (const k of KINDS) {
  describe(`statement corpus through the proxy: ${k.kind}`, () => {
    let physical: TestDatabase;
    const references: Record<'old' | 'new', TestDatabase | null> = { old: null, new: null };
    let sg: TestShiftgate;

    before(async () => {
      physical = await createPgDatabase('corpus');
      references.old = await createPgDatabase('corpus_old');
      references.new = await createPgDatabase('corpus_new');
      for (const [db, ddl] of [
        [physical, SCHEMA],
        [references.old, SCHEMA],
        [references.new, `${SCHEMA}; ${k.newReference}`],
      ] as const) {
        const c = await connect(db.url);
        await c.query(ddl);
        await c.end();
      }
      sg = await startTestShiftgate(physical.url);
      sg.writeMigration(`corpus_${k.kind}`, k.migration);
      await sg.admin(physical.url, `SHIFTGATE START 'corpus_${k.kind}'`);
      await sg.waitForPhase(physical.url, 'active');
    });

    after(async () => {
      await sg?.stop();
      for (const db of [physical, references.old, references.new]) await db?.drop();
    });

    for (const side of ['old', 'new'] as const) {
      test(`${side} version: every statement answers as on the plain ${side} schema, simple and extended`, async () => {
        const names = k[side];
        const reads = corpus(names, READS);
        const writes = corpus(names, WRITES);
        assert.ok(reads.length + writes.length >= 100, `${reads.length + writes.length} statements`);
        const proxied = await connect(
          sg.via(physical.url),
          side === 'new' ? `-c shiftgate.version=corpus_${k.kind}` : undefined,
        );
        const reference = await connect(references[side]!.url);
        const mismatches: string[] = [];
        let compared = 0;
        try {
          for (const extended of [false, true]) {
            for (const sql of reads) {
              const [got, want] = [
                await outcome(proxied, sql, extended),
                await outcome(reference, sql, extended),
              ];
              compared++;
              if (JSON.stringify(got) !== JSON.stringify(want)) {
                mismatches.push(
                  `${extended ? 'extended' : 'simple'}: ${sql}\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`,
                );
              }
            }
            for (const sql of writes) {
              await proxied.query('BEGIN');
              await reference.query('BEGIN');
              const [got, want] = [
                await outcome(proxied, sql, extended),
                await outcome(reference, sql, extended),
              ];
              await proxied.query('ROLLBACK');
              await reference.query('ROLLBACK');
              compared++;
              if (JSON.stringify(got) !== JSON.stringify(want)) {
                mismatches.push(
                  `${extended ? 'extended' : 'simple'}: ${sql}\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`,
                );
              }
            }
          }
        } finally {
          await proxied.end();
          await reference.end();
        }
        assert.ok(compared >= 200, `${compared} statement runs compared`);
        assert.deepEqual(
          mismatches,
          [],
          `${mismatches.length} of ${compared} differ:\n${mismatches.join('\n')}`,
        );
      });
    }
  });
}
