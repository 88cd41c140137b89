/**
 * The MySQL translation table (mysql-cases.ts), checked three ways on a
 * real MariaDB: the exact rewritten text (or the refusal and the MySQL
 * error it maps to); the rewritten statement run against the physical
 * schema, with the result columns the version expects; and its answer
 * (column names and types, rows, affected rows) and the rows every table
 * holds afterwards, against the untranslated statement run on a plain
 * database that is the version's logical schema with the same data. The
 * written rows are also read back through every other version under its
 * own names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import {
  defaultMysqlContext,
  type MysqlSqlContext,
  mysqlErrorOf,
  translateMysqlUncached,
} from '../../src/dialects/mysql/translate/index.ts';
import { TranslationError, type VersionMap } from '../../src/versions/index.ts';
import { MEANINGS } from './fixture.ts';
import { MYSQL_CASES, type MysqlCase } from './mysql-cases.ts';
import { type MysqlTranslationDatabases, openMysqlTranslationDatabases } from './mysql-fixture.ts';

type Outcome =
  | { results: ({ fields: [string, number][]; rows: unknown[][] } | { affected: number; changed: number })[] }
  | { error: string; code: number; message: string };

function shape(result: unknown, fields: unknown) {
  if (Array.isArray(result)) {
    return {
      fields: ((fields ?? []) as mysql.FieldPacket[]).map((f): [string, number] => [
        f.name,
        f.columnType ?? -1,
      ]),
      rows: result as unknown[][],
    };
  }
  const h = result as mysql.ResultSetHeader;
  return { affected: h.affectedRows, changed: h.changedRows ?? 0 };
}

async function outcome(
  conn: mysql.Connection,
  sql: string,
  params: unknown[] | undefined,
  statements: number,
): Promise<Outcome> {
  try {
    if (params) {
      const [result, fields] = await conn.execute({ sql, values: params, rowsAsArray: true });
      return { results: [shape(result, fields)] };
    }
    const [result, fields] = await conn.query({ sql, rowsAsArray: true });
    if (statements > 1) {
      const all = result as unknown[];
      const f = fields as unknown as unknown[];
      return { results: all.map((r, i) => shape(r, f[i])) };
    }
    return { results: [shape(result, fields)] };
  } catch (err) {
    const e = err as { code?: string; errno?: number; message: string };
    return { error: e.code ?? 'none', code: e.errno ?? -1, message: e.message };
  }
}

/** Rows in an order of their own, for statements whose order SQL leaves open. */
function unordered(o: Outcome): Outcome {
  if (!('results' in o)) return { ...o, message: '' };
  return {
    results: o.results.map((r) =>
      'rows' in r
        ? {
            fields: r.fields,
            rows: r.rows
              .map((row) => [JSON.stringify(row)])
              .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
          }
        : r,
    ),
  };
}

const ordered = (sql: string) => /\bORDER BY\b[^()]*(\([^()]*\)[^()]*)*$/i.test(sql.trim());
const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;
const writes = (sql: string) => /\b(insert|replace|update|delete)\b/i.test(sql);

describe('MySQL translation table', () => {
  let dbs: MysqlTranslationDatabases;
  let conn: mysql.Connection;
  let map: VersionMap;

  before(async () => {
    dbs = await openMysqlTranslationDatabases('mytranslate');
    ({ conn, map } = dbs);
  });

  after(() => dbs?.close());

  const context = (c: Pick<MysqlCase, 'sqlMode'>): MysqlSqlContext => ({
    ...defaultMysqlContext(dbs.database),
    ansiQuotes: c.sqlMode === 'ANSI_QUOTES',
    backslashEscapes: c.sqlMode !== 'NO_BACKSLASH_ESCAPES',
  });
  const select = (table: string, columns: string[]) =>
    `SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} ORDER BY id`;
  const rows = async (c: mysql.Connection, sql: string) =>
    (await c.query({ sql, rowsAsArray: true }))[0] as unknown[][];
  const translated = (version: string, sql: string) =>
    translateMysqlUncached(map.version(version)!, sql, context({})).sql;

  /** Every table of `version`, every column, in id order: as its reference holds it, and through the version. */
  async function tables(version: string) {
    const ref = dbs.refs.get(version)!;
    const expected: Record<string, unknown[][]> = {};
    const actual: Record<string, unknown[][]> = {};
    for (const [table, columns] of Object.entries(MEANINGS[version]!)) {
      const sql = select(table, Object.keys(columns));
      expected[table] = await rows(ref, sql);
      actual[table] = await rows(conn, translated(version, sql));
    }
    return { expected, actual };
  }

  /** The rows `writer` left, read through every other version under its names, against the writer's reference. */
  async function throughOthers(writer: string) {
    const ref = dbs.refs.get(writer)!;
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
          conn,
          translated(
            other,
            select(
              table,
              shared.map(([col]) => col),
            ),
          ),
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

  /** AUTO_INCREMENT counters back to max + 1 (a rollback does not undo them); DDL, so outside the transaction. */
  async function resetCounters(c: mysql.Connection) {
    const [list] = await c.query<mysql.RowDataPacket[]>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    );
    for (const r of list) await c.query(`ALTER TABLE ${quote(String(r.t))} AUTO_INCREMENT = 1`);
  }

  test('every version reads the seed rows as its reference holds them', async () => {
    for (const version of Object.keys(MEANINGS)) {
      const seen = await tables(version);
      assert.deepEqual(seen.actual, seen.expected, version);
    }
  });

  test('has at least 80 cases, refusals among them', () => {
    assert.ok(MYSQL_CASES.length >= 80, `${MYSQL_CASES.length} cases`);
    assert.ok(MYSQL_CASES.filter((c) => c.refused).length >= 10);
  });

  for (const [i, c] of MYSQL_CASES.entries()) {
    test(`#${i} [${c.v}] ${c.sql.replaceAll('\n', ' ').slice(0, 90)}`, async () => {
      const schema = map.version(c.v);
      assert.ok(schema, `version ${c.v}`);
      const ref = dbs.refs.get(c.v)!;
      const physicalSql = c.sql.replaceAll('{db}', dbs.database);
      const refSql = c.sql.replaceAll('{db}', dbs.refDatabases.get(c.v)!);
      const mode = c.sqlMode;
      if (mode) {
        await conn.query(`SET SESSION sql_mode = CONCAT(@@sql_mode, ',${mode}')`);
        await ref.query(`SET SESSION sql_mode = CONCAT(@@sql_mode, ',${mode}')`);
      }
      try {
        if (c.refused) {
          let refusal: unknown;
          try {
            translateMysqlUncached(schema, physicalSql, context(c));
          } catch (e) {
            refusal = e;
          }
          assert.ok(refusal instanceof TranslationError, `refused (got ${String(refusal)})`);
          assert.equal(refusal.kind, c.refused, refusal.message);
          if (c.run === false) return;
          const answer = mysqlErrorOf(refusal);
          const want = await outcome(ref, refSql, c.params, 1);
          if (c.refused === 'unsupported' || c.refused === 'syntax_error') {
            // Refused only because of the migration: the version's own schema runs it.
            assert.ok(
              'results' in want,
              `the plain logical schema runs it: ${'message' in want ? want.message : ''}`,
            );
            assert.ok([1235, 1064].includes(answer.code));
          } else {
            // The server's own error for the same mistake.
            assert.ok('code' in want, 'the plain logical schema refuses it too');
            assert.equal(answer.code, want.code, want.message);
          }
          return;
        }
        const plan = translateMysqlUncached(schema, physicalSql, context(c));
        const expected = c.out?.replaceAll('{db}', dbs.database);
        assert.equal(plan.sql, expected ?? physicalSql);
        assert.equal(plan.rewritten, expected !== undefined && expected !== physicalSql);
        if (!plan.rewritten) assert.equal(plan.sql, physicalSql);
        if (c.cols && plan.statements.length > 0)
          assert.deepEqual(plan.statements.at(-1)?.outputColumns, c.cols);
        if (c.run === false) return;
        const statements = Math.max(1, plan.statements.length);
        await conn.query('BEGIN');
        await ref.query('BEGIN');
        try {
          const got = await outcome(conn, plan.sql, c.params, statements);
          const want = await outcome(ref, refSql, c.params, statements);
          assert.ok(
            'results' in want,
            `the plain logical schema runs it: ${'message' in want ? want.message : ''}`,
          );
          assert.ok('results' in got, `ran: ${'message' in got ? got.message : ''}`);
          if (c.cols) {
            const last = got.results.at(-1);
            assert.ok(last && 'fields' in last);
            assert.deepEqual(
              last.fields.map(([name]) => name),
              c.cols,
            );
          }
          if (ordered(c.sql)) assert.deepEqual(got, want, 'the answer of the plain logical schema, in order');
          else assert.deepEqual(unordered(got), unordered(want), 'the answer of the plain logical schema');
          if (mode) {
            await conn.query("SET SESSION sql_mode = REPLACE(@@sql_mode, 'ANSI_QUOTES', '')");
            await ref.query("SET SESSION sql_mode = REPLACE(@@sql_mode, 'ANSI_QUOTES', '')");
          }
          const own = await tables(c.v);
          assert.deepEqual(own.actual, own.expected, `tables through ${c.v}`);
          await throughOthers(c.v);
        } finally {
          await conn.query('ROLLBACK');
          await ref.query('ROLLBACK');
          if (writes(c.sql)) {
            await resetCounters(conn);
            await resetCounters(ref);
          }
        }
      } finally {
        if (mode) {
          await conn.query(
            `SET SESSION sql_mode = REPLACE(REPLACE(@@sql_mode, ',${mode}', ''), '${mode}', '')`,
          );
          await ref.query(
            `SET SESSION sql_mode = REPLACE(REPLACE(@@sql_mode, ',${mode}', ''), '${mode}', '')`,
          );
        }
      }
    });
  }

  test('edits are at UTF-8 byte offsets of the original text', () => {
    const sql = "SELECT 'ßü✓🙂', full_name FROM users";
    const plan = translateMysqlUncached(map.version('03_split')!, sql, context({}));
    const at = Buffer.byteLength("SELECT 'ßü✓🙂', ", 'utf8');
    assert.equal(plan.edits[0]?.start, at);
    assert.equal(plan.edits[0]?.end, at + 'full_name'.length);
    assert.notEqual(at, "SELECT 'ßü✓🙂', ".length);
  });

  test('a session in another database passes unqualified names through', () => {
    const plan = translateMysqlUncached(map.version('03_split')!, 'SELECT full_name FROM users', {
      ...context({}),
      database: 'elsewhere',
    });
    assert.equal(plan.rewritten, false);
  });

  test('lower_case_table_names 1 or 2 matches table names case-insensitively', () => {
    const ctx = { ...context({}), lowerCaseTableNames: 2 as const };
    const plan = translateMysqlUncached(map.version('03_split')!, 'SELECT Full_Name FROM USERS', ctx);
    assert.equal(plan.sql, 'SELECT `name` AS `Full_Name` FROM USERS');
    const exact = translateMysqlUncached(
      map.version('03_split')!,
      'SELECT Full_Name FROM USERS',
      context({}),
    );
    assert.equal(exact.rewritten, false);
  });
});
