/**
 * The translation table (cases.ts), checked three ways: the exact rewritten
 * text; the rewritten statement run against a real PostgreSQL holding the
 * physical schema, with the result columns the version expects; and its
 * answer (columns, types, rows or SQLSTATE) and the rows every table holds
 * afterwards, against the untranslated statement run on a plain database
 * that is the version's logical schema with the same data. The written rows
 * are also read back through every other version, under its own names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { loadPgParser, translateUncached } from '../../src/dialects/postgres/translate/index.ts';
import type { VersionMap } from '../../src/versions/index.ts';
import { CASES } from './cases.ts';
import { CATALOG_CASES } from './catalog-cases.ts';
import {
  introspect,
  MEANINGS,
  openTranslationDatabases,
  REFERENCE_DDL,
  type TranslationDatabases,
} from './fixture.ts';
import { NAME_LITERAL_CASES } from './name-literal-cases.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

/** What a statement gave: its result sets, or the SQLSTATE it failed with. */
type Outcome =
  | { results: { fields: [string, number][]; rows: unknown[][] }[] }
  | { error: string; message: string };

async function outcome(client: pg.Client, text: string, values?: unknown[]): Promise<Outcome> {
  try {
    // Rows as arrays: joins repeat names such as `id`, which objects would fold.
    const result = (await client.query({ text, values, rowMode: 'array' })) as
      | pg.QueryResult
      | pg.QueryResult[];
    return {
      results: (Array.isArray(result) ? result : [result]).map((r) => ({
        fields: (r.fields ?? []).map((f): [string, number] => [f.name, f.dataTypeID]),
        rows: r.rows ?? [],
      })),
    };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { error: e.code ?? 'none', message: e.message };
  }
}

const REGCLASS = 2205;
const TEXT = 25;

/** The plain schema's answer with regclass columns typed as the proxy sends them (Case.regclassAsText). */
function regclassAsText(o: Outcome, apply: boolean): Outcome {
  if (!apply || !('results' in o)) return o;
  return {
    results: o.results.map((r) => ({
      ...r,
      fields: r.fields.map(([name, type]): [string, number] => [name, type === REGCLASS ? TEXT : type]),
    })),
  };
}

/** Rows in an order of their own, for statements whose order SQL leaves open. */
function unordered(o: Outcome): Outcome {
  if (!('results' in o)) return { error: o.error, message: '' };
  return {
    results: o.results.map((r) => ({
      fields: r.fields,
      rows: r.rows.map((row) => [JSON.stringify(row)]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
    })),
  };
}

/**
 * Serial sequences back to the seed: nextval is not undone by ROLLBACK, and
 * the physical schema shares one sequence per table among all versions while
 * each reference has its own, so ids would drift apart from case to case.
 */
const RESET_SEQUENCES = `DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.relname AS tbl, a.attname AS col, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
       AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL
  LOOP
    EXECUTE format('SELECT setval(%L, coalesce((SELECT max(%I) FROM %I), 0) + 1, false)', r.seq, r.col, r.tbl);
  END LOOP;
END $$`;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A statement whose result order is fixed: it ends in an ORDER BY outside any parentheses. */
const ordered = (sql: string) => /\bORDER BY\b[^()]*(\([^()]*\)[^()]*)*$/i.test(sql.trim());

describe('PostgreSQL translation table', () => {
  let dbs: TranslationDatabases;
  let client: pg.Client;
  let map: VersionMap;
  let refs: Map<string, pg.Client>;

  before(async () => {
    await loadPgParser();
    dbs = await openTranslationDatabases('translate_cases', Object.keys(REFERENCE_DDL));
    ({ client, map, refs } = dbs);
  });

  after(() => dbs?.close());

  const select = (table: string, columns: string[]) =>
    `SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} ORDER BY id`;
  const rows = async (c: pg.Client, sql: string) => (await c.query({ text: sql, rowMode: 'array' })).rows;

  /** Every table of `version`, every column, in id order: as its reference holds it, and as the physical schema shows it through the version. */
  async function tables(version: string) {
    const ref = refs.get(version)!;
    const schema = map.version(version)!;
    const expected: Record<string, unknown[][]> = {};
    const actual: Record<string, unknown[][]> = {};
    for (const [table, columns] of Object.entries(MEANINGS[version]!)) {
      const sql = select(table, Object.keys(columns));
      expected[table] = await rows(ref, sql);
      actual[table] = await rows(client, translateUncached(schema, sql).sql);
    }
    return { expected, actual };
  }

  /**
   * The rows `writer` left, read through every other version under that
   * version's names (only the columns that mean what one of the writer's
   * columns means), against the writer's reference.
   */
  async function throughOthers(writer: string) {
    const ref = refs.get(writer)!;
    const byMeaning = new Map<string, { table: string; column: string }>();
    for (const [table, columns] of Object.entries(MEANINGS[writer]!)) {
      for (const [column, meaning] of Object.entries(columns)) byMeaning.set(meaning, { table, column });
    }
    for (const [other, otherTables] of Object.entries(MEANINGS)) {
      if (other === writer) continue;
      for (const [table, columns] of Object.entries(otherTables)) {
        const shared = Object.entries(columns).filter(([, meaning]) => byMeaning.has(meaning));
        if (shared.length === 0) continue;
        const there = shared.map(([, meaning]) => byMeaning.get(meaning)!);
        const seen = await rows(
          client,
          translateUncached(
            map.version(other)!,
            select(
              table,
              shared.map(([col]) => col),
            ),
          ).sql,
        );
        const want = await rows(
          ref,
          select(
            there[0]!.table,
            there.map((t) => t.column),
          ),
        );
        assert.deepEqual(seen, want, `${writer}'s ${there[0]!.table} read through ${other} as ${table}`);
      }
    }
  }

  test('the physical schema the other tests assume is what the server reports', async () => {
    assert.deepEqual(await introspect(client), FIXTURE_PHYSICAL);
  });

  test('every reference column has a meaning, and every version reads the seed rows as its reference holds them', async () => {
    for (const [version, ref] of refs) {
      const described = await introspect(ref);
      assert.deepEqual(
        Object.fromEntries(described.tables.map((t) => [t.name, t.columns.map((c) => c.name)])),
        Object.fromEntries(
          Object.entries(MEANINGS[version]!)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([t, cols]) => [t, Object.keys(cols)]),
        ),
        version,
      );
      const seen = await tables(version);
      assert.deepEqual(seen.actual, seen.expected, version);
    }
  });

  test('has at least 60 cases', () => {
    assert.ok(CASES.length >= 60, `${CASES.length} cases`);
  });

  for (const [i, c] of [...CASES, ...NAME_LITERAL_CASES, ...CATALOG_CASES].entries()) {
    test(`#${i} [${c.v}] ${c.sql.replaceAll('\n', ' ').slice(0, 90)}`, { todo: c.todo }, async () => {
      const schema = map.version(c.v);
      assert.ok(schema, `version ${c.v}`);
      const plan = translateUncached(schema, c.sql);
      if (c.out instanceof RegExp) {
        assert.match(plan.sql, c.out);
        assert.equal(plan.rewritten, true);
      } else {
        assert.equal(plan.sql, c.out ?? c.sql);
        assert.equal(plan.rewritten, c.out !== undefined && c.out !== c.sql);
      }
      if (c.cols && plan.statements.length > 0) assert.deepEqual(plan.statements[0]?.outputColumns, c.cols);
      // Unchanged text is byte for byte the original (not a reprint).
      if (!plan.rewritten) assert.equal(plan.sql, c.sql);
      if (c.run === false) return;
      const ref = refs.get(c.v)!;
      await client.query('BEGIN');
      await ref.query('BEGIN');
      try {
        await client.query(RESET_SEQUENCES);
        await ref.query(RESET_SEQUENCES);
        const got = await outcome(client, plan.sql, c.params);
        const want = regclassAsText(await outcome(ref, c.sql, c.params), c.regclassAsText === true);
        // Every case is a statement the version's own schema accepts; two equal errors would prove nothing.
        assert.ok(
          'results' in want,
          `the plain logical schema runs it: ${'message' in want ? want.message : ''}`,
        );
        if (c.cols) {
          assert.ok('results' in got, `ran: ${'message' in got ? got.message : ''}`);
          assert.deepEqual(
            got.results[0]?.fields.map(([name]) => name),
            c.cols,
          );
        }
        if (c.values !== false) {
          if (ordered(c.sql)) assert.deepEqual(got, want, 'the answer of the plain logical schema, in order');
          else assert.deepEqual(unordered(got), unordered(want), 'the answer of the plain logical schema');
        }
        // What the tables hold afterwards, through the writer's version (every column) and through the others.
        const own = await tables(c.v);
        assert.deepEqual(own.actual, own.expected, `tables through ${c.v}`);
        await throughOthers(c.v);
      } finally {
        await client.query('ROLLBACK');
        await ref.query('ROLLBACK');
        // PREPARE outlives the transaction.
        await client.query('DEALLOCATE ALL');
        await ref.query('DEALLOCATE ALL');
      }
    });
  }

  test('old and new versions read the same rows under their own names', async () => {
    const old = translateUncached(map.version('02_nick')!, 'SELECT name, age FROM users ORDER BY id');
    const neu = translateUncached(map.version('03_split')!, 'SELECT full_name, age FROM users ORDER BY id');
    const a = await client.query(old.sql);
    const b = await client.query(neu.sql);
    assert.deepEqual(
      a.rows.map((r) => [r.name, Number(r.age)]),
      b.rows.map((r) => [r.full_name, Number(r.age)]),
    );
    assert.equal(a.rows[2]?.name, 'Ünïcödé');
  });

  test('edits are at UTF-8 byte offsets of the original text', () => {
    const sql = "SELECT 'ßü✓🙂', full_name FROM users";
    const plan = translateUncached(map.version('03_split')!, sql);
    const at = Buffer.byteLength("SELECT 'ßü✓🙂', ", 'utf8');
    assert.equal(plan.edits[0]?.start, at);
    assert.equal(plan.edits[0]?.end, at + 'full_name'.length);
    assert.notEqual(at, "SELECT 'ßü✓🙂', ".length);
  });
});
