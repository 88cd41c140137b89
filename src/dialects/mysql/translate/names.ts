import type { LogicalColumn, LogicalTable, VersionSchema } from '../../../versions/version-schema.ts';

/**
 * MySQL's name comparisons over a version's logical schema: column names
 * never depend on case; table names (and table aliases) do unless
 * lower_case_table_names is 1 or 2. Indexes are built once per version
 * object.
 */
const columnIndexes = new WeakMap<LogicalTable, Map<string, LogicalColumn>>();
const physicalIndexes = new WeakMap<LogicalTable, Set<string>>();
const tableIndexes = new WeakMap<VersionSchema, Map<string, LogicalTable>>();

export const fold = (name: string) => name.toLowerCase();

/** The version's column of `t` that `name` means, whatever its case. */
export function columnOf(t: LogicalTable, name: string): LogicalColumn | undefined {
  let index = columnIndexes.get(t);
  if (!index) {
    index = new Map();
    for (const c of t.columns) index.set(fold(c.name), c);
    columnIndexes.set(t, index);
  }
  return index.get(fold(name));
}

/** True when the table physically has a column of this name (visible or not), whatever its case. */
export function hasPhysicalColumn(t: LogicalTable, name: string): boolean {
  let index = physicalIndexes.get(t);
  if (!index) {
    index = new Set([...t.physicalColumns].map(fold));
    physicalIndexes.set(t, index);
  }
  return index.has(fold(name));
}

/** The version's table that `name` means under lower_case_table_names `lctn`. */
export function tableOf(schema: VersionSchema, name: string, lctn: number): LogicalTable | undefined {
  if (lctn === 0) return schema.table(name);
  let index = tableIndexes.get(schema);
  if (!index) {
    index = new Map();
    for (const t of schema.tables) index.set(fold(t.name), t);
    tableIndexes.set(schema, index);
  }
  return index.get(fold(name));
}

/** True when `name` is a physical table of the migration that this version must not see. */
export function isHiddenTableName(schema: VersionSchema, name: string, lctn: number): boolean {
  if (tableOf(schema, name, lctn)) return false;
  if (lctn === 0) return schema.isHiddenTable(name);
  return schema.migratingNames.some((m) => fold(m) === fold(name) && schema.isHiddenTable(m));
}

/** Table names and aliases compare as the server compares them. */
export function sameTableName(a: string, b: string, lctn: number): boolean {
  return lctn === 0 ? a === b : fold(a) === fold(b);
}
