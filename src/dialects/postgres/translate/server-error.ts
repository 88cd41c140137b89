import { boundedName } from '../../../migrations/names.ts';
import type { LogicalTable, VersionSchema } from '../../../versions/version-schema.ts';
import type { ErrorField } from '../codec/error-fields.ts';
import { PG_MAX_IDENTIFIER } from '../quote.ts';

/**
 * A server error put into the words of the session's schema version. The
 * server names physical objects: a renamed column by its old name, a
 * changed column by its shadow (`_shiftgate_new_age`), a NOT NULL that is
 * still a `NOT VALID` check by that check (`_shiftgate_nn_status`, 23514).
 * A client of the version must see what a database holding the version's
 * schema would say: 23502 naming its column, its table and column names.
 *
 * Only fields with a known meaning are changed: the table (`t`), column
 * (`c`) and constraint (`n`) fields, and the message and detail texts of
 * the errors that name those objects, matched by the server's own message
 * templates (English; under another `lc_messages` only the fields are
 * mapped). A `Failing row contains (...)` detail shows the physical row, in
 * physical order with columns the version does not have: it is left out.
 * Context lines from the proxy's sync triggers are left out as well.
 *
 * Returns null when nothing changes, so the server's bytes can go as they are.
 *
 * @example
 * mapServerError([['C', '23514'], ['M', 'new row for relation "users" violates check constraint "_shiftgate_nn_status"'], ...], schema)
 * // [['C', '23502'], ['M', 'null value in column "status" of relation "users" violates not-null constraint'], ...]
 */
export function mapServerError(fields: readonly ErrorField[], schema: VersionSchema): ErrorField[] | null {
  const ix = indexOf(schema);
  const get = (type: string) => fields.find(([t]) => t === type)?.[1];
  const table = ix.tables.get(get('t') ?? '');
  const constraint = get('n');
  const nn = constraint !== undefined ? ix.notNullChecks.get(constraint) : undefined;
  if (nn && get('C') === '23514') {
    const out: ErrorField[] = [];
    for (const [type, value] of fields) {
      if (type === 'C') out.push([type, '23502']);
      else if (type === 'M') {
        out.push([
          type,
          `null value in column "${nn.column}" of relation "${nn.table}" violates not-null constraint`,
        ]);
      } else if (type === 't') out.push([type, nn.table]);
      else if (type === 'n' || (type === 'D' && table?.rewrites)) continue;
      else if (type === 'W') pushWhere(out, value);
      else out.push([type, value]);
    }
    if (!fields.some(([t]) => t === 'c')) {
      const at = out.findIndex(([t]) => t === 't');
      out.splice(at < 0 ? out.length : at + 1, 0, ['c', nn.column]);
    }
    return out;
  }
  // A version that sees every table as it is has no other names to put back.
  if (schema.identity) return null;
  let changed = false;
  const out: ErrorField[] = [];
  for (const [type, value] of fields) {
    let next: string | null = value;
    switch (type) {
      case 't':
        next = table ? table.name : value;
        break;
      case 'c':
        next = columnName(ix, table, value);
        break;
      case 'n':
        next = constraintName(value);
        break;
      case 'M':
        next = message(ix, table, value);
        break;
      case 'D':
        next = detail(ix, table, message(ix, table, get('M') ?? ''), value);
        break;
      case 'H':
        next = hint(ix, value);
        break;
      case 'W':
        next = where(value);
        break;
    }
    if (next !== value) changed = true;
    if (next !== null) out.push([type, next]);
  }
  return changed ? out : null;
}

interface Index {
  /** Physical table name -> the version's table. */
  tables: Map<string, LogicalTable>;
  /** `_shiftgate_nn_<column>` -> the version's names for the column and its table. */
  notNullChecks: Map<string, { table: string; column: string }>;
  /**
   * Physical column name -> the one name the version gives it in every table that has it (null
   * when they differ), and whether some table hides it from the version.
   */
  anyTable: Map<string, { name: string | null; hidden: boolean }>;
}

const indexes = new WeakMap<VersionSchema, Index>();

function indexOf(schema: VersionSchema): Index {
  let ix = indexes.get(schema);
  if (ix) return ix;
  ix = { tables: new Map(), notNullChecks: new Map(), anyTable: new Map() };
  for (const t of schema.tables) {
    if (t.physical === null) continue;
    ix.tables.set(t.physical, t);
    // Every table counts for the one-name test: `name` of an untouched table must not become `full_name`.
    for (const physical of t.physicalColumns) {
      const name = t.rewrites ? logicalColumn(t, physical) : physical;
      // Also on tables the version sees as they are: an added NOT NULL column is still enforced by its check.
      ix.notNullChecks.set(boundedName(PG_MAX_IDENTIFIER, '_shiftgate_nn_', physical), {
        table: t.name,
        column: name,
      });
      const seen = ix.anyTable.get(physical);
      const hidden = !t.columns.some((c) => c.physical === physical);
      ix.anyTable.set(physical, {
        name: seen === undefined || seen.name === name ? name : null,
        hidden: hidden || seen?.hidden === true,
      });
    }
  }
  indexes.set(schema, ix);
  return ix;
}

/**
 * The version's name for a physical column of `t`. A column the version
 * does not see keeps its physical name, without the shadow prefix: that is
 * the name it gets when the migration completes.
 */
function logicalColumn(t: LogicalTable, physical: string): string {
  const visible = t.columns.find((c) => c.physical === physical);
  return visible ? visible.name : withoutPrefix(physical);
}

function withoutPrefix(name: string): string {
  return name.replace(/_shiftgate_(?:new|tmp)_/g, '');
}

function columnName(ix: Index, table: LogicalTable | undefined, physical: string): string {
  if (table) return table.rewrites ? logicalColumn(table, physical) : physical;
  return ix.anyTable.get(physical)?.name ?? withoutPrefix(physical);
}

/** A constraint built for the new version under a temporary name gets its final name at complete. */
function constraintName(name: string): string {
  return name.length < PG_MAX_IDENTIFIER ? withoutPrefix(name) : name;
}

type Slot = 'table' | 'column' | 'qualified' | 'constraint' | null;

/** The server's messages (PostgreSQL 12+) that name tables, columns or constraints, with what each quoted name is. */
const TEMPLATES: [RegExp, Slot[]][] = [
  [/^null value in column "(.+)" of relation "(.+)" violates not-null constraint$/d, ['column', 'table']],
  [/^new row for relation "(.+)" violates check constraint "(.+)"$/d, ['table', 'constraint']],
  [/^duplicate key value violates unique constraint "(.+)"$/d, ['constraint']],
  [/^conflicting key value violates exclusion constraint "(.+)"$/d, ['constraint']],
  [/^insert or update on table "(.+)" violates foreign key constraint "(.+)"$/d, ['table', 'constraint']],
  [
    /^update or delete on table "(.+)" violates foreign key constraint "(.+)" on table "(.+)"$/d,
    ['table', 'constraint', 'table'],
  ],
  [/^column "(.+)" is of type (.+) but expression is of type (.+)$/d, ['column', null, null]],
  [/^column "(.+)" of relation "(.+)" does not exist$/d, ['column', 'table']],
  [/^column "(.+)" must appear in the GROUP BY clause or be used in an aggregate function$/d, ['qualified']],
  [/^cannot insert a non-DEFAULT value into column "(.+)"$/d, ['column']],
  [/^column "(.+)" can only be updated to DEFAULT$/d, ['column']],
  [/^null value in column "(.+)" violates not-null constraint$/d, ['column']],
];

function message(ix: Index, fieldTable: LogicalTable | undefined, text: string): string {
  for (const [re, slots] of TEMPLATES) {
    const m = re.exec(text);
    if (!m) continue;
    // A column slot belongs to the table the message (or else the error's table field) names.
    const tableSlot = slots.indexOf('table');
    const table = tableSlot >= 0 ? ix.tables.get(m[tableSlot + 1]!) : fieldTable;
    let out = '';
    let at = 0;
    slots.forEach((slot, i) => {
      const value = m[i + 1]!;
      const start = m.indices![i + 1]![0];
      let mapped = value;
      if (slot === 'table') mapped = ix.tables.get(value)?.name ?? value;
      else if (slot === 'column') mapped = columnName(ix, table, value);
      else if (slot === 'constraint') mapped = constraintName(value);
      else if (slot === 'qualified') {
        const dot = value.lastIndexOf('.');
        mapped = value.slice(0, dot + 1) + columnName(ix, undefined, value.slice(dot + 1));
      }
      out += text.slice(at, start) + mapped;
      at = start + value.length;
    });
    return withoutPrefix(out + text.slice(at));
  }
  return withoutPrefix(text);
}

const KEY =
  /^Key \((.*)\)=\((.*)\) (already exists|is not present in table "(.+)"|is still referenced from table "(.+)")\.$/s;

function detail(
  ix: Index,
  table: LogicalTable | undefined,
  mappedMessage: string,
  text: string,
): string | null {
  if (text.startsWith('Failing row contains (')) return table?.rewrites ? null : text;
  const m = KEY.exec(text);
  if (!m) return withoutPrefix(text);
  // "still referenced" lists the referenced table's key; the message names that table first.
  const referenced = m[5] !== undefined ? /table "(.+?)"/.exec(mappedMessage)?.[1] : undefined;
  const keyTable =
    referenced !== undefined ? [...ix.tables.values()].find((t) => t.name === referenced) : table;
  const columns = m[1]!.replace(/"((?:[^"]|"")+)"|\b[a-z_][a-z0-9_$]*\b/g, (word, quoted?: string) => {
    const name = quoted !== undefined ? quoted.replaceAll('""', '"') : word;
    const mapped = keyTable ? columnName(ix, keyTable, name) : name;
    if (mapped === name) return word;
    return /^[a-z_][a-z0-9_$]*$/.test(mapped) ? mapped : `"${mapped.replaceAll('"', '""')}"`;
  });
  const other = m[4] ?? m[5];
  const otherMapped = other !== undefined ? (ix.tables.get(other)?.name ?? other) : undefined;
  const tail =
    m[4] !== undefined
      ? `is not present in table "${otherMapped}"`
      : m[5] !== undefined
        ? `is still referenced from table "${otherMapped}"`
        : m[3]!;
  return `Key (${columns})=(${m[2]}) ${tail}.`;
}

function hint(ix: Index, text: string): string | null {
  // "Perhaps you meant to reference the column "u.name"": a column the version may not have.
  let hidden = false;
  const out = text.replace(/the column "([^".]+)\.([^"]+)"/g, (whole, rel: string, col: string) => {
    const seen = ix.anyTable.get(col);
    if (seen === undefined) return whole;
    hidden ||= seen.hidden;
    return seen.name === null || seen.name === col ? whole : `the column "${rel}.${seen.name}"`;
  });
  return hidden || out.includes('_shiftgate_') ? null : out;
}

/** Context lines from inside the proxy's own sync triggers say nothing the client wrote. */
function where(text: string): string | null {
  if (!text.includes('_shiftgate_')) return text;
  const kept = text.split('\n').filter((line) => !line.includes('_shiftgate_'));
  return kept.length > 0 ? kept.join('\n') : null;
}

function pushWhere(out: ErrorField[], value: string): void {
  const kept = where(value);
  if (kept !== null) out.push(['W', kept]);
}
