import type { FuncCall, Node, RangeVar, TypeCast } from 'libpg-query';
import type { VersionSchema } from '../../../versions/version-schema.ts';
import { quoteIdent } from './ident.ts';
import { nameParts, nextToken, parenList, Tok } from './lexer.ts';

/**
 * The catalog as a session's version sees it. ORMs read the catalog at boot
 * (information_schema.columns, pg_attribute by regclass, ...) and build
 * their models from it, so a migrating table must show there under the
 * version's names: its visible columns under their logical names (the
 * type of the physical column behind each, which is the version's type:
 * a shadow column has the new type), no shadow or hidden columns, renamed
 * tables under the version's name, tables the version does not have
 * absent.
 *
 * A reference to a known catalog relation is replaced, where it stands, by
 * a derived table with the catalog's own columns in its own order: the
 * untouched rows as they are, plus the rows of migrating tables with the
 * name columns overridden (jsonb_populate_record over the row, so the
 * column list follows whatever server version answers). Conditions of the
 * outer query still reach the catalog's indexes through the UNION ALL.
 *
 * Column numbers (attnum, ordinal_position) stay physical: pg_attrdef,
 * pg_index, pg_constraint, pg_description and col_description() all key
 * on them, and renumbering only some would join columns to the wrong
 * defaults and keys. A shadow column therefore sorts where it physically
 * is (last), not where the version lists it.
 */

/** Words of the fast path: a statement with one of them may read a catalog this module rewrites. */
export const CATALOG_WORDS = [
  'information_schema',
  'pg_attribute',
  'pg_class',
  'pg_tables',
  'pg_trigger',
  'pg_indexes',
  'pg_get_indexdef',
  'pg_get_constraintdef',
];

// The sync triggers are the proxy's machinery, not part of any version's schema.
const NOT_SYNC_TRIGGER = (column: string) =>
  `pg_catalog.left(${column}::pg_catalog.text, 11) <> '_shiftgate_'`;

type Shape =
  | { kind: 'attribute' }
  | { kind: 'class' }
  | { kind: 'trigger' }
  | { kind: 'indexes' }
  | { kind: 'table'; schemaCol: string; tableCol: string; notNullNames?: boolean; where?: string }
  | { kind: 'column'; schemaCol: string; tableCol: string; columnCol: string };

const TABLE = { kind: 'table', schemaCol: 'table_schema', tableCol: 'table_name' } as const;
const COLUMN = {
  kind: 'column',
  schemaCol: 'table_schema',
  tableCol: 'table_name',
  columnCol: 'column_name',
} as const;

const PG_CATALOG: Record<string, Shape> = {
  pg_attribute: { kind: 'attribute' },
  pg_class: { kind: 'class' },
  pg_tables: { kind: 'table', schemaCol: 'schemaname', tableCol: 'tablename' },
  pg_trigger: { kind: 'trigger' },
  pg_indexes: { kind: 'indexes' },
};

const INFORMATION_SCHEMA: Record<string, Shape> = {
  tables: TABLE,
  table_constraints: { ...TABLE, notNullNames: true },
  columns: COLUMN,
  key_column_usage: COLUMN,
  constraint_column_usage: COLUMN,
  column_privileges: COLUMN,
  column_udt_usage: COLUMN,
  table_privileges: TABLE,
  views: TABLE,
  triggers: {
    kind: 'table',
    schemaCol: 'event_object_schema',
    tableCol: 'event_object_table',
    where: NOT_SYNC_TRIGGER('t.trigger_name'),
  },
};

/** How the version differs from the physical schema, in physical names. */
interface Difference {
  schema: string;
  /** Physical tables whose catalog rows change or vanish. */
  touched: string[];
  /** Physical tables the version sees under another name: [physical, logical]. */
  renamed: [string, string][];
  /** Physical tables the version does not have. */
  hidden: string[];
  /** Physical tables the version sees, with columns that differ: still there, rows rewritten. */
  rewritten: string[];
  /** Visible columns of those tables: [physical table, physical column, logical table, logical column]. */
  columns: [string, string, string, string][];
  /** Physical columns the version does not see: [physical table, physical column]. */
  hiddenColumns: [string, string][];
}

const differences = new WeakMap<VersionSchema, Difference | null>();
const views = new WeakMap<VersionSchema, Map<string, string>>();

function difference(v: VersionSchema): Difference | null {
  let d = differences.get(v);
  if (d !== undefined) return d;
  const seen = new Set<string>();
  const renamed: [string, string][] = [];
  const rewritten: string[] = [];
  const columns: [string, string, string, string][] = [];
  const hiddenColumns: [string, string][] = [];
  for (const t of v.tables) {
    if (t.physical === null) continue;
    seen.add(t.physical);
    if (!t.rewrites) continue;
    if (t.physical !== t.name) renamed.push([t.physical, t.name]);
    rewritten.push(t.physical);
    for (const c of t.columns)
      if (c.physical !== null) columns.push([t.physical, c.physical, t.name, c.name]);
    for (const h of t.hidden) hiddenColumns.push([t.physical, h.physical]);
  }
  const hidden = v.migratingNames.filter((n) => v.isHiddenTable(n) && !seen.has(n));
  const touched = [...new Set([...rewritten, ...hidden])];
  d =
    touched.length === 0
      ? null
      : { schema: v.schema, touched, renamed, hidden, rewritten, columns, hiddenColumns };
  differences.set(v, d);
  return d;
}

/**
 * The derived table that stands for the catalog relation `rv` names, for
 * version `v`; null when `rv` names no catalog this module knows or the
 * version's catalog is the physical one.
 */
export function catalogView(v: VersionSchema, rv: RangeVar): string | null {
  if (rv.catalogname) return null;
  const name = rv.relname ?? '';
  const schema = rv.schemaname;
  let shape: Shape | undefined;
  if (schema === undefined || schema === 'pg_catalog')
    shape = Object.hasOwn(PG_CATALOG, name) ? PG_CATALOG[name] : undefined;
  else if (schema === 'information_schema')
    shape = Object.hasOwn(INFORMATION_SCHEMA, name) ? INFORMATION_SCHEMA[name] : undefined;
  if (!shape) return null;
  const d = difference(v);
  if (!d) return null;
  let cache = views.get(v);
  if (!cache) {
    cache = new Map();
    views.set(v, cache);
  }
  const key = `${schema ?? 'pg_catalog'}.${name}`;
  let sql = cache.get(key);
  if (sql === undefined) {
    sql = build(d, shape, `${schema ?? 'pg_catalog'}.${name}`);
    cache.set(key, sql);
  }
  return sql;
}

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const list = (names: readonly string[]) => names.map(lit).join(', ');
const values = (rows: readonly (readonly string[])[]) =>
  rows.map((r) => `(${r.map(lit).join(', ')})`).join(', ');

function build(d: Difference, shape: Shape, relation: string): string {
  switch (shape.kind) {
    case 'attribute':
      return attributeView(d);
    case 'class':
      return classView(d);
    case 'indexes':
      return indexesView(d);
    case 'trigger':
      return `SELECT t.* FROM pg_catalog.pg_trigger t WHERE ${NOT_SYNC_TRIGGER('t.tgname')}`;
    case 'table':
      return tableView(d, shape, relation);
    case 'column':
      return columnView(d, shape, relation);
  }
}

/** Oids of physical tables of the version's schema (a subquery; no NULLs, so NOT IN is safe). */
function oids(d: Difference, tables: readonly string[]): string {
  if (tables.length === 0) return 'SELECT NULL::pg_catalog.oid WHERE false';
  return `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${lit(d.schema)} AND c.relname IN (${list(tables)})`;
}

const regclassText = (d: Difference, table: string) => `${quoteIdent(d.schema)}.${quoteIdent(table)}`;

function attributeView(d: Difference): string {
  const cols = d.columns.map(([t, c, , l]) => [regclassText(d, t), c, l]);
  if (cols.length === 0)
    return `SELECT a.* FROM pg_catalog.pg_attribute a WHERE a.attrelid NOT IN (${oids(d, d.touched)})`;
  return [
    `SELECT a.* FROM pg_catalog.pg_attribute a WHERE a.attrelid NOT IN (${oids(d, d.touched)})`,
    `SELECT x.* FROM pg_catalog.pg_attribute a JOIN (VALUES ${values(cols)}) m(tab, col, name) ON a.attrelid = pg_catalog.to_regclass(m.tab) AND a.attname = m.col CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(a, pg_catalog.jsonb_build_object('attname', m.name)) x`,
    // System columns and dropped-column placeholders stay as they are.
    `SELECT a.* FROM pg_catalog.pg_attribute a WHERE a.attrelid IN (${oids(d, d.rewritten)}) AND (a.attnum <= 0 OR a.attisdropped)`,
  ].join(' UNION ALL ');
}

function classView(d: Difference): string {
  const gone = d.hidden.length === 0 ? [] : [oids(d, d.hidden)];
  if (d.hidden.length > 0) {
    const h = `(${oids(d, d.hidden)})`;
    // What belongs to a table the version does not have: its indexes, its sequences, its TOAST table.
    gone.push(
      `SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid IN ${h}`,
      `SELECT dep.objid FROM pg_catalog.pg_depend dep WHERE dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.deptype IN ('a', 'i') AND dep.refobjid IN ${h}`,
      `SELECT t.reltoastrelid FROM pg_catalog.pg_class t WHERE t.oid IN ${h}`,
    );
  }
  gone.push(
    oids(
      d,
      d.renamed.map(([p]) => p),
    ),
  );
  const arms = [`SELECT c.* FROM pg_catalog.pg_class c WHERE c.oid NOT IN (${gone.join(' UNION ALL ')})`];
  if (d.renamed.length > 0) {
    const rows = d.renamed.map(([p, l]) => [regclassText(d, p), l]);
    arms.push(
      `SELECT x.* FROM pg_catalog.pg_class c JOIN (VALUES ${values(rows)}) m(tab, name) ON c.oid = pg_catalog.to_regclass(m.tab) CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(c, pg_catalog.jsonb_build_object('relname', m.name)) x`,
    );
  }
  return arms.join(' UNION ALL ');
}

/** NOT NULL pseudo-constraints that information_schema names `<schema oid>_<table oid>_<attnum>_not_null`. */
function hiddenNotNull(d: Difference): string {
  const rows = d.hiddenColumns.map(([t, c]) => [regclassText(d, t), c]);
  return `SELECT c.relnamespace::pg_catalog.text || '_' || c.oid::pg_catalog.text || '_' || a.attnum::pg_catalog.text || '_not_null' FROM (VALUES ${values(rows)}) h(tab, col) JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(h.tab) JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = h.col`;
}

/** pg_indexes: the table under the version's name, the definition in its names, no index on a hidden column. */
function indexesView(d: Difference): string {
  const kept = `SELECT t.* FROM pg_catalog.pg_indexes t WHERE NOT (t.schemaname = ${lit(d.schema)} AND t.tablename IN (${list(d.touched)}))`;
  const tables = d.columns.map(([p, , l]) => `${p}\u0000${l}`);
  const rows = [...new Set(tables)].map((k) => k.split('\u0000'));
  if (rows.length === 0) return kept;
  const rel = `pg_catalog.to_regclass(pg_catalog.quote_ident(t.schemaname) || '.' || pg_catalog.quote_ident(t.tablename))`;
  const def = mapDefinition(d, 't.indexdef', rel, null);
  return `${kept} UNION ALL SELECT x.* FROM pg_catalog.pg_indexes t JOIN (VALUES ${values(rows)}) m(tab, name) ON t.schemaname = ${lit(d.schema)} AND t.tablename = m.tab CROSS JOIN LATERAL (SELECT ${def} AS def) _sg_d CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(t, pg_catalog.jsonb_build_object('tablename', m.name, 'indexdef', _sg_d.def)) x WHERE _sg_d.def IS NOT NULL`;
}

function tableView(
  d: Difference,
  shape: { schemaCol: string; tableCol: string; notNullNames?: boolean; where?: string },
  relation: string,
): string {
  const s = `t.${quoteIdent(shape.schemaCol)}`;
  const tc = `t.${quoteIdent(shape.tableCol)}`;
  const gone = [...d.hidden, ...d.renamed.map(([p]) => p)];
  let filter =
    shape.notNullNames && d.hiddenColumns.length > 0
      ? ` AND t.constraint_name::pg_catalog.text NOT IN (${hiddenNotNull(d)})`
      : '';
  if (shape.where) filter += ` AND ${shape.where}`;
  const arms = [
    `SELECT t.* FROM ${relation} t WHERE NOT (${s} = ${lit(d.schema)} AND ${tc} IN (${gone.length > 0 ? list(gone) : 'NULL'}))${filter}`,
  ];
  if (d.renamed.length > 0) {
    arms.push(
      `SELECT x.* FROM ${relation} t JOIN (VALUES ${values(d.renamed)}) m(tab, name) ON ${s} = ${lit(d.schema)} AND ${tc} = m.tab CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(t, pg_catalog.jsonb_build_object(${lit(shape.tableCol)}, m.name)) x WHERE true${filter}`,
    );
  }
  return arms.join(' UNION ALL ');
}

function columnView(
  d: Difference,
  shape: { schemaCol: string; tableCol: string; columnCol: string },
  relation: string,
): string {
  const s = `t.${quoteIdent(shape.schemaCol)}`;
  const tc = `t.${quoteIdent(shape.tableCol)}`;
  const cc = `t.${quoteIdent(shape.columnCol)}`;
  const kept = `SELECT t.* FROM ${relation} t WHERE NOT (${s} = ${lit(d.schema)} AND ${tc} IN (${list(d.touched)}))`;
  if (d.columns.length === 0) return kept;
  return [
    kept,
    `SELECT x.* FROM ${relation} t JOIN (VALUES ${values(d.columns)}) m(tab, col, ltab, lcol) ON ${s} = ${lit(d.schema)} AND ${tc} = m.tab AND ${cc} = m.col CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(t, pg_catalog.jsonb_build_object(${lit(shape.tableCol)}, m.ltab, ${lit(shape.columnCol)}, m.lcol)) x`,
  ].join(' UNION ALL ');
}

// ---- definitions rendered as text ------------------------------------------------------------

/** What the rewriter lends: the statement bytes and insertions at byte offsets. */
export interface DefinitionHost {
  readonly version: VersionSchema;
  readonly bytes: Uint8Array;
  insert(at: number, text: string): void;
  fail(kind: 'unsupported', object: string, reason: string, at: number): never;
}

/** Functions that print an object's definition with column and table names; how to find its tables. */
const DEFINITIONS: Record<string, { catalog: string; key: string; rel: string; frel: string | null }> = {
  pg_get_indexdef: { catalog: 'pg_catalog.pg_index', key: 'indexrelid', rel: 'indrelid', frel: null },
  pg_get_constraintdef: {
    catalog: 'pg_catalog.pg_constraint',
    key: 'oid',
    rel: 'conrelid',
    frel: 'confrelid',
  },
};

// Tokens of a deparsed definition: quoted identifiers, string constants, words, and the rest.
const TOKEN = `"(?:[^"]|"")*"|'(?:[^']|'')*'|[[:alpha:]_][[:alnum:]_$]*|[^"'[:alpha:]_]+`;

/**
 * `pg_get_indexdef(oid, ...)` and `pg_get_constraintdef(oid, ...)` print
 * physical names. For an object on a migrating table, the printed text is
 * re-tokenized in SQL and every identifier that is a physical column of
 * the object's table (or, after REFERENCES, of the referenced table) or a
 * renamed table is replaced by the version's name; an object on a column
 * the version does not see prints as NULL. The call itself stays where it
 * is, evaluated in a FROM-less subquery so that its arguments bind as
 * before; only text around it is inserted.
 */
export function definitionCall(host: DefinitionHost, call: FuncCall): void {
  const names = call.funcname ?? [];
  const last = names.at(-1);
  const fname = last && 'String' in last ? (last.String.sval ?? '') : '';
  if (!Object.hasOwn(DEFINITIONS, fname)) return;
  const first = names.length === 2 ? names[0] : undefined;
  if (names.length > 2 || (first && (!('String' in first) || first.String.sval !== 'pg_catalog'))) return;
  const d = difference(host.version);
  if (!d || !call.args?.length) return;
  const spec = DEFINITIONS[fname]!;
  const at = call.location ?? -1;
  const parts = at >= 0 ? nameParts(host.bytes, at, names.length) : null;
  const list = parts ? parenList(host.bytes, parts.at(-1)!.end) : null;
  const arg = list ? firstArgument(host.bytes, list) : null;
  if (!list || !arg) host.fail('unsupported', fname, 'cannot locate the call in the statement text', at);
  const a0 = Buffer.from(host.bytes.subarray(arg.start, arg.end)).toString('utf8');
  const mapped = mapDefinition(d, '_sg_s.def', `_sg_k.${spec.rel}`, spec.frel ? `_sg_k.${spec.frel}` : null);
  // Named after the function, so that the result column keeps the name the bare call gives it.
  host.insert(at, `(SELECT ${mapped} AS ${fname} FROM (SELECT `);
  host.insert(
    list.end,
    ` AS def, (${a0})::pg_catalog.oid AS o) _sg_s LEFT JOIN ${spec.catalog} _sg_k ON _sg_k.${spec.key} = _sg_s.o)`,
  );
}

function firstArgument(
  b: Uint8Array,
  list: { items: { start: number }[]; end: number },
): { start: number; end: number } | null {
  const start = list.items[0]?.start;
  if (start === undefined) return null;
  let depth = 0;
  let end = start;
  for (let t = nextToken(b, start); t.kind !== Tok.Eof && t.start < list.end; t = nextToken(b, t.end)) {
    if (t.kind === Tok.Punct) {
      const c = b[t.start];
      if (c === 0x28 || c === 0x5b) depth++;
      else if (c === 0x29 || c === 0x5d) {
        if (depth === 0) return { start, end };
        depth--;
      } else if (c === 0x2c && depth === 0) return { start, end };
    }
    end = t.end;
  }
  return null;
}

function mapDefinition(d: Difference, def: string, rel: string, frel: string | null): string {
  const rows: string[] = [];
  for (const [t, c, , l] of d.columns) rows.push(`(${lit(regclassText(d, t))}, ${lit(c)}, ${lit(l)}, false)`);
  for (const [t, c] of d.hiddenColumns) rows.push(`(${lit(regclassText(d, t))}, ${lit(c)}, NULL, true)`);
  const touched = `(${oids(d, d.touched)})`;
  const owner = frel ? `CASE WHEN _sg_m.after THEN ${frel} ELSE ${rel} END` : rel;
  const ident = `CASE WHEN pg_catalog.left(_sg_y.tok, 1) = '"' THEN pg_catalog.replace(pg_catalog.substr(_sg_y.tok, 2, pg_catalog.length(_sg_y.tok) - 2), '""', '"') WHEN _sg_y.tok ~ '^[[:alpha:]_]' THEN _sg_y.tok END`;
  const tokens = `SELECT _sg_y.tok, _sg_x.n, ${ident} AS id, pg_catalog.bool_or(_sg_y.tok = 'REFERENCES') OVER (ORDER BY _sg_x.n) AS after FROM pg_catalog.regexp_matches(${def}, ${lit(TOKEN)}, 'g') WITH ORDINALITY _sg_x(m, n), LATERAL (SELECT _sg_x.m[1] AS tok) _sg_y`;
  const column = `LEFT JOIN LATERAL (SELECT _sg_v.l, _sg_v.hidden FROM (VALUES ${rows.join(', ')}) _sg_v(tab, p, l, hidden) WHERE pg_catalog.to_regclass(_sg_v.tab) = ${owner} AND _sg_v.p = _sg_m.id LIMIT 1) _sg_c ON true`;
  const table =
    d.renamed.length > 0 ? ` LEFT JOIN (VALUES ${values(d.renamed)}) _sg_r(p, l) ON _sg_r.p = _sg_m.id` : '';
  const tab = d.renamed.length > 0 ? '_sg_r.l' : 'NULL::pg_catalog.text';
  const mapped = `SELECT _sg_m.n, _sg_m.tok, _sg_c.l AS col, _sg_c.hidden, ${tab} AS tab FROM (${tokens}) _sg_m ${column}${table}`;
  const renamed = `pg_catalog.string_agg(COALESCE(pg_catalog.quote_ident(COALESCE(_sg_z.col, _sg_z.tab)), _sg_z.tok), '' ORDER BY _sg_z.n)`;
  return `CASE WHEN ${def} IS NULL OR NOT (${rel} IN ${touched}${frel ? ` OR ${frel} IN ${touched}` : ''}) THEN ${def} ELSE (SELECT CASE WHEN pg_catalog.bool_or(_sg_z.hidden) THEN NULL ELSE ${renamed} END FROM (${mapped}) _sg_z) END`;
}

// ---- OIDs printed as names ----------------------------------------------------------------------

const TEXT_TYPES = new Set(['text', 'varchar', 'name']);

function typeNameOf(names: Node[] | undefined): string | undefined {
  const last = names?.at(-1);
  return last && 'String' in last ? last.String.sval : undefined;
}

/**
 * A result column `col::regclass::text` or `col::regclass` prints a table's
 * physical name; for a renamed table the version's name is printed instead
 * (Rails' foreign_keys reads `to_table` so, psql's `\d` its "Referenced by"
 * list), as text. Only where the value is output, not
 * where it is compared or passed on: there the OID, or the physical name,
 * is what the server needs.
 */
export function regclassOutput(host: DefinitionHost, val: Node | undefined, name: string): void {
  if (!val || !('TypeCast' in val)) return;
  // Only where the name is taken as text: a regclass value keeps its type, and its output
  // function can only print what the catalog holds.
  const outer = typeNameOf(val.TypeCast.typeName?.names);
  const inner = val.TypeCast.arg;
  let cast: TypeCast;
  if (outer === 'regclass') {
    // A bare regclass output column would print the physical name: it becomes the text of the
    // version's name (psql and drivers show both alike; a regclass that names nothing cannot exist).
    cast = val.TypeCast;
  } else {
    if (outer === undefined || !TEXT_TYPES.has(outer) || !inner || !('TypeCast' in inner)) return;
    cast = inner.TypeCast;
    if (typeNameOf(cast.typeName?.names) !== 'regclass') return;
  }
  const arg = cast.arg;
  if (!arg || !('ColumnRef' in arg)) return;
  const d = difference(host.version);
  if (!d || d.renamed.length === 0) return;
  const b = host.bytes;
  const fields = arg.ColumnRef.fields?.length ?? 0;
  const col = nameParts(b, arg.ColumnRef.location ?? -1, fields);
  const typeAt = cast.typeName?.location ?? -1;
  const type = typeAt >= 0 ? nameParts(b, typeAt, cast.typeName?.names?.length ?? 0) : null;
  if (!col || !type) return;
  // Only the `col::regclass` spelling: CAST(col AS regclass) would need its parentheses moved.
  const between = Buffer.from(b.subarray(col.at(-1)!.end, type[0]!.start)).toString('utf8');
  if (between.trim() !== '::') return;
  const rows = d.renamed.map(([p, l]) => [regclassText(d, p), l]);
  const logical = `CASE WHEN pg_catalog.strpos(_sg_o.r::pg_catalog.text, '.') > 0 THEN pg_catalog.quote_ident(${lit(d.schema)}) || '.' ELSE '' END || pg_catalog.quote_ident(_sg_n.l)`;
  host.insert(
    col[0]!.start,
    `(SELECT COALESCE(${logical}, _sg_o.r::pg_catalog.text) AS ${quoteIdent(name)} FROM (SELECT `,
  );
  host.insert(
    type.at(-1)!.end,
    ` AS r) _sg_o LEFT JOIN (VALUES ${values(rows)}) _sg_n(p, l) ON _sg_o.r = pg_catalog.to_regclass(_sg_n.p))`,
  );
}
