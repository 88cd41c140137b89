import type { FuncCall, Node, RangeVar, TypeCast } from 'libpg-query';
import type { TranslationErrorKind } from '../../../versions/translation-error.ts';
import type { LogicalTable, VersionSchema } from '../../../versions/version-schema.ts';
import { quoteIdent } from './ident.ts';
import { nameParts, nextToken, parenList, Tok } from './lexer.ts';

/**
 * Table and column names written inside string constants that the server
 * resolves as names: `'users'::regclass`, `to_regclass('users')`,
 * `pg_get_serial_sequence('users', 'id')`, `has_column_privilege('users',
 * 'email', 'SELECT')` and the like. The server would look them up in the
 * physical schema, so a constant that names a table or column of the
 * version is rewritten to the physical name (the whole constant is
 * replaced, never reprinted elsewhere). A name given as a parameter cannot
 * be seen at translation time and is refused.
 */

/** What the rewriter lends this module: its name resolution and its edit list. */
export interface NameLiteralHost {
  readonly version: VersionSchema;
  readonly bytes: Uint8Array;
  /** The version's table a reference names, as a FROM item would resolve it; refuses hidden ones. */
  table(rv: RangeVar): LogicalTable | undefined;
  /** The physical name of `t` as the statement must write it (qualified where the search_path would find another table). */
  physical(t: LogicalTable, qualified: boolean): string;
  edit(start: number, end: number, text: string): void;
  insert(at: number, text: string): void;
  fail(kind: TranslationErrorKind, object: string, reason: string, at: number): never;
}

/** Which arguments of a function name a table or a column, by argument count. */
interface NameArgs {
  /** Argument count -> index of the table argument. */
  table: Record<number, number>;
  /** Argument count -> index of the column argument (a name taken literally, no case folding). */
  column?: Record<number, number>;
  /** True when the function answers NULL for a table that does not exist instead of failing. */
  soft?: boolean;
}

const FIRST: Record<number, number> = { 1: 0, 2: 0, 3: 0 };

// Functions whose table argument is a regclass (an untyped constant is read as a name)
// or a text that the server splits into a qualified name.
const FUNCTIONS: Record<string, NameArgs> = {
  to_regclass: { table: { 1: 0 }, soft: true },
  pg_get_serial_sequence: { table: { 2: 0 }, column: { 2: 1 } },
  pg_relation_size: { table: FIRST },
  pg_total_relation_size: { table: FIRST },
  pg_table_size: { table: FIRST },
  pg_indexes_size: { table: FIRST },
  pg_relation_filenode: { table: FIRST },
  pg_relation_filepath: { table: FIRST },
  pg_relation_is_updatable: { table: FIRST },
  pg_column_is_updatable: { table: FIRST },
  pg_get_replica_identity_index: { table: FIRST },
  pg_partition_tree: { table: FIRST },
  pg_partition_root: { table: FIRST },
  pg_partition_ancestors: { table: FIRST },
  has_table_privilege: { table: { 2: 0, 3: 1 } },
  has_any_column_privilege: { table: { 2: 0, 3: 1 } },
  has_column_privilege: { table: { 3: 0, 4: 1 }, column: { 3: 1, 4: 2 } },
};

const TEXT_TYPES = new Set(['text', 'varchar', 'name', 'bpchar', 'unknown']);

/**
 * Words that a statement whose constants name tables contains; such a
 * statement must not reuse the plan of one that differs only in its
 * constants, since the constants decide the rewrite.
 */
const HINT =
  /regclass|privilege|relation_|table_size|indexes_size|serial_sequence|updatable|replica_identity|partition_/i;

export function constantsMayNameTables(sql: string): boolean {
  return HINT.test(sql);
}

/** Words of the fast path: statements with them are parsed even when they name no migrating table. */
export const NAME_LITERAL_WORDS = [
  'regclass',
  'privilege',
  'relation_',
  'table_size',
  'indexes_size',
  'serial_sequence',
  'updatable',
  'replica_identity',
  'partition_',
];

function typeName(names: Node[] | undefined): string | undefined {
  const last = names?.at(-1);
  return last && 'String' in last ? last.String.sval : undefined;
}

/** `'x'`, `'x'::text`, ... : the constant behind text casts, or the node itself. */
function unwrapText(node: Node | undefined): Node | undefined {
  let n = node;
  while (n && 'TypeCast' in n && TEXT_TYPES.has(typeName(n.TypeCast.typeName?.names) ?? ''))
    n = n.TypeCast.arg;
  return n;
}

/** `x::regclass`, `CAST(x AS pg_catalog.regclass)`, `regclass 'x'`. */
export function nameLiteralCast(host: NameLiteralHost, cast: TypeCast): void {
  if (typeName(cast.typeName?.names) !== 'regclass') return;
  const arg = unwrapText(cast.arg);
  if (isValue(arg)) tableArg(host, arg, false);
  else castExpression(host, cast);
}

const isValue = (n: Node | undefined) => n === undefined || 'A_Const' in n || 'ParamRef' in n;

export function nameLiteralCall(host: NameLiteralHost, call: FuncCall): void {
  const fname = typeName(call.funcname);
  if (fname === undefined) return;
  const args = call.args ?? [];
  if (fname === 'regclass' && args.length === 1 && call.funcname?.length === 1) {
    tableArg(host, unwrapText(args[0]), false);
    return;
  }
  const spec = Object.hasOwn(FUNCTIONS, fname) ? FUNCTIONS[fname] : undefined;
  const at = spec?.table[args.length];
  if (!spec || at === undefined) return;
  const arg = unwrapText(args[at]);
  if (!isValue(arg)) {
    // pg_get_serial_sequence and to_regclass take the name as text whatever the expression.
    if (fname === 'pg_get_serial_sequence' || fname === 'to_regclass') argumentExpression(host, call, at);
    return;
  }
  const table = tableArg(host, arg, spec.soft === true);
  const col = spec.column?.[args.length];
  if (col !== undefined && table) columnArg(host, table, unwrapText(args[col]));
}

/** A string constant: its value and the byte span of its token; null for anything else. */
function constant(
  host: NameLiteralHost,
  node: Node | undefined,
): { value: string; start: number; end: number } | null {
  if (!node || !('A_Const' in node)) return null;
  const c = node.A_Const;
  if (!c.sval || c.location === undefined) return null;
  const tok = nextToken(host.bytes, c.location);
  if (tok.kind !== Tok.String || tok.start !== c.location) {
    host.fail(
      'unsupported',
      c.sval.sval ?? '',
      'cannot locate the constant in the statement text',
      c.location,
    );
  }
  // 'a' 'b' on two lines is one constant of two tokens.
  if (nextToken(host.bytes, tok.end).kind === Tok.String) {
    host.fail('unsupported', c.sval.sval ?? '', 'a name split over several string constants', c.location);
  }
  return { value: c.sval.sval ?? '', start: tok.start, end: tok.end };
}

function paramRef(node: Node | undefined): number | undefined {
  return node && 'ParamRef' in node ? (node.ParamRef.location ?? -1) : undefined;
}

/**
 * The table a constant names, rewritten to its physical name. Null when it
 * names nothing of the version (another schema, an OID, a system table),
 * which the server resolves as it always does.
 */
function tableArg(host: NameLiteralHost, node: Node | undefined, soft: boolean): LogicalTable | null {
  const param = paramRef(node);
  if (param !== undefined && !host.version.identity) {
    host.fail(
      'unsupported',
      `$${(node as { ParamRef: { number?: number } }).ParamRef.number ?? '?'}`,
      'a table name passed as a parameter cannot be mapped to this schema version: write the name into the statement text (a string constant)',
      param,
    );
  }
  const lit = constant(host, node);
  if (!lit) return null;
  const parts = splitQualifiedName(lit.value);
  if (!parts || parts.length > 3) return null;
  const relname = parts.at(-1)!;
  const rv: RangeVar = { relname, location: lit.start };
  if (parts.length >= 2) rv.schemaname = parts.at(-2)!;
  if (parts.length === 3) rv.catalogname = parts[0]!;
  if (
    soft &&
    host.version.isHiddenTable(relname) &&
    (rv.schemaname ?? host.version.schema) === host.version.schema
  ) {
    // to_regclass answers NULL for a table that does not exist, and this version has no such table.
    if (rv.catalogname === undefined) host.edit(lit.start, lit.end, 'NULL');
    return null;
  }
  const t = host.table(rv);
  if (!t) return null;
  if (t.physical !== null && t.physical !== t.name) {
    const schema = rv.schemaname !== undefined ? `${quoteIdent(rv.schemaname)}.` : '';
    const catalog = rv.catalogname !== undefined ? `${quoteIdent(rv.catalogname)}.` : '';
    host.edit(
      lit.start,
      lit.end,
      stringLiteral(host, `${catalog}${schema}${host.physical(t, rv.schemaname !== undefined)}`, lit.start),
    );
  }
  return t;
}

/** A column name constant (taken literally by the server), rewritten to the physical column. */
function columnArg(host: NameLiteralHost, t: LogicalTable, node: Node | undefined): void {
  const param = paramRef(node);
  if (param !== undefined && t.rewrites) {
    host.fail(
      'unsupported',
      t.name,
      'a column name passed as a parameter cannot be mapped to this schema version: write the name into the statement text (a string constant)',
      param,
    );
  }
  const lit = constant(host, node);
  if (!lit || !t.rewrites) return;
  const c = t.column(lit.value);
  if (!c) {
    if (t.physicalColumns.has(lit.value)) {
      host.fail('undefined_column', `${t.name}.${lit.value}`, 'the column does not exist', lit.start);
    }
    return;
  }
  if (c.physical === null) {
    host.fail(
      'unsupported',
      `${t.name}.${lit.value}`,
      'the column was dropped by a completed migration',
      lit.start,
    );
  }
  if (c.physical !== lit.value) host.edit(lit.start, lit.end, stringLiteral(host, c.physical, lit.start));
}

function stringLiteral(host: NameLiteralHost, text: string, at: number): string {
  // A backslash would read differently under standard_conforming_strings = off.
  if (text.includes('\\'))
    host.fail('unsupported', text, 'a physical name with a backslash in a string constant', at);
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A qualified name as the server's SplitIdentifierString reads a regclass
 * or a text name: dot-separated identifiers, each quoted (`""` for a
 * quote) or bare (lower-cased), whitespace around them allowed; truncated
 * to 63 bytes. Null when it is no such name (an OID, a syntax error): the
 * server then answers on its own.
 */
export function splitQualifiedName(text: string): string[] | null {
  if (/^[0-9]+$/.test(text)) return null;
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  const space = (c: string | undefined) =>
    c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
  while (space(text[i])) i++;
  if (i === n) return null;
  for (;;) {
    let part: string;
    if (text[i] === '"') {
      part = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return null;
        part += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          part += '"';
          i++;
        } else break;
      }
      if (part === '') return null;
    } else {
      const start = i;
      while (i < n && text[i] !== '.' && !space(text[i]) && text[i] !== '"') i++;
      if (i === start) return null;
      part = text.slice(start, i).replace(/[A-Z]+/g, (s) => s.toLowerCase());
    }
    out.push(truncate(part));
    while (space(text[i])) i++;
    if (i === n) break;
    if (text[i] !== '.') return null;
    i++;
    while (space(text[i])) i++;
  }
  return out;
}

function truncate(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= 63) return name;
  let end = 63;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

// ---- names computed at run time ------------------------------------------------------------

/**
 * A name built by the statement itself (`(table_schema || '.' || table_name)::regclass`,
 * `pg_get_serial_sequence(quote_ident(relname), ...)`) often comes from a catalog the
 * proxy shows under the version's names, so a renamed table arrives under its logical
 * name. The expression is wrapped, where it stands, in a lookup that turns the
 * version's name of a renamed table into the physical one and leaves every other
 * value (another table's name, an OID) as it was.
 */
function mapNameAt(host: NameLiteralHost, start: number, end: number, as: 'regclass' | 'text'): void {
  const rows: string[] = [];
  for (const t of host.version.tables) {
    if (t.physical !== null && t.physical !== t.name) {
      rows.push(`(${sqlString(host.version.schema)}, ${sqlString(t.name)}, ${sqlString(t.physical)})`);
    }
  }
  if (rows.length === 0) return;
  const physical = `CASE WHEN pg_catalog.cardinality(_sg_i.a) > 1 THEN pg_catalog.quote_ident(_sg_n.s) || '.' ELSE '' END || pg_catalog.quote_ident(_sg_n.p)`;
  // A regclass operand may be an OID (or its text): it keeps its own cast when no name matched.
  const value =
    as === 'text'
      ? `COALESCE(${physical}, _sg_e.v::pg_catalog.text)`
      : `CASE WHEN _sg_n.p IS NULL THEN _sg_e.v::pg_catalog.regclass ELSE (${physical})::pg_catalog.regclass END`;
  host.insert(start, `(SELECT ${value} FROM (SELECT `);
  host.insert(
    end,
    ` AS v) _sg_e LEFT JOIN LATERAL (SELECT CASE WHEN _sg_e.v::pg_catalog.text ~ ${sqlString(QUALIFIED_NAME)} THEN pg_catalog.parse_ident(_sg_e.v::pg_catalog.text) END AS a) _sg_i ON true LEFT JOIN (VALUES ${rows.join(', ')}) _sg_n(s, l, p) ON _sg_n.l = _sg_i.a[pg_catalog.cardinality(_sg_i.a)] AND COALESCE(_sg_i.a[pg_catalog.cardinality(_sg_i.a) - 1], _sg_n.s) = _sg_n.s)`,
  );
}

// What parse_ident accepts without an error; anything else (an OID as text, '-') is left to the server.
const IDENT = '("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)';
const QUALIFIED_NAME = `^\\s*${IDENT}(\\s*\\.\\s*${IDENT})*\\s*$`;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** `expr::regclass`: the expression's span is everything before the `::`. */
function castExpression(host: NameLiteralHost, cast: TypeCast): void {
  const b = host.bytes;
  const at = cast.location ?? -1;
  if (at < 0 || b[at] !== 0x3a || b[at + 1] !== 0x3a) return;
  let end = at;
  while (end > 0 && (b[end - 1] === 0x20 || (b[end - 1]! >= 0x09 && b[end - 1]! <= 0x0d))) end--;
  const arg = cast.arg;
  let start: number | null = null;
  if (b[end - 1] === 0x29 && !(arg && 'FuncCall' in arg)) start = openingParen(b, end - 1);
  else if (arg && ('ColumnRef' in arg || 'FuncCall' in arg)) {
    start = ('ColumnRef' in arg ? arg.ColumnRef.location : arg.FuncCall.location) ?? null;
  }
  if (start === null || start < 0 || start >= end) return;
  mapNameAt(host, start, end, 'regclass');
}

/** Argument `index` of a call, wrapped in place. */
function argumentExpression(host: NameLiteralHost, call: FuncCall, index: number): void {
  const b = host.bytes;
  const names = call.funcname?.length ?? 0;
  const parts = call.location !== undefined && call.location >= 0 ? nameParts(b, call.location, names) : null;
  const list = parts ? parenList(b, parts.at(-1)!.end) : null;
  const first = list?.items[index];
  if (!list || !first) return;
  let depth = 0;
  let end = first.start;
  for (let t = nextToken(b, first.start); t.kind !== Tok.Eof && t.start < list.end; t = nextToken(b, t.end)) {
    if (t.kind === Tok.Punct) {
      const c = b[t.start];
      if (c === 0x28 || c === 0x5b) depth++;
      else if (c === 0x29 || c === 0x5d) {
        if (depth === 0) break;
        depth--;
      } else if (c === 0x2c && depth === 0) break;
    }
    end = t.end;
  }
  if (end > first.start) mapNameAt(host, first.start, end, 'text');
}

/** Where the `(` that the `)` at `close` closes begins (a forward scan: strings may hold parentheses). */
function openingParen(b: Uint8Array, close: number): number | null {
  const open: number[] = [];
  for (let t = nextToken(b, 0); t.kind !== Tok.Eof && t.start <= close; t = nextToken(b, t.end)) {
    if (t.kind !== Tok.Punct) continue;
    if (b[t.start] === 0x28) open.push(t.start);
    else if (b[t.start] === 0x29) {
      const start = open.pop();
      if (t.start === close) return start ?? null;
    }
  }
  return null;
}
