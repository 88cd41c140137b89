/**
 * The in-memory schema model: what operations validate against and update,
 * so a dry run needs nothing but one introspection. The dialect's
 * introspection fills it from the catalog; each operation's `apply` turns the
 * model of the version before it into the model of the version after it.
 *
 * Names: `name` is the logical name a schema version sees; `physical` is the
 * name in the database while the migration is in flight (they differ for
 * renames, which happen physically only at complete).
 */

export type ConstraintType = 'primary_key' | 'unique' | 'check' | 'foreign_key' | 'exclude';

export interface ColumnModel {
  name: string;
  physical: string;
  /** The type as the database prints it (`character varying(20)`, `integer[]`). */
  type: string;
  nullable: boolean;
  /** The default as an SQL expression, or null. */
  default: string | null;
  comment: string | null;
  /** True for identity and generated columns, which cannot be copied by a plain UPDATE. */
  generated: boolean;
  /** A generated column's expression and kind, where the dialect reports it (MySQL / MariaDB). */
  generation?: { expression: string; stored: boolean };
}

export interface ConstraintModel {
  name: string;
  type: ConstraintType;
  /** Physical column names, in key order. */
  columns: string[];
  /** The definition as the database prints it (`CHECK ((price > 0))`). */
  definition: string;
  validated: boolean;
  /** The index behind a unique / primary key / exclude constraint. */
  index: string | null;
  /** For foreign keys: the referenced table and columns (physical). */
  refTable: string | null;
  refColumns: string[];
}

export interface IndexModel {
  name: string;
  /** Physical key column names; an expression key is the empty string. */
  columns: string[];
  unique: boolean;
  primary: boolean;
  /** False for an index left behind by a failed concurrent build. */
  valid: boolean;
  /** The full `CREATE INDEX` statement as the database prints it. */
  definition: string;
  /** The constraint this index implements, if any. */
  constraint: string | null;
}

export interface TableModel {
  name: string;
  physical: string;
  columns: ColumnModel[];
  constraints: ConstraintModel[];
  indexes: IndexModel[];
  comment: string | null;
  replicaIdentity: 'default' | 'full' | 'nothing' | 'index';
  replicaIndex: string | null;
}

export interface SchemaModel {
  /** The database schema (namespace) the migrations run in, e.g. `public`. */
  schema: string;
  tables: TableModel[];
}

export function cloneModel(model: SchemaModel): SchemaModel {
  return structuredClone(model);
}

export function findTable(model: SchemaModel, name: string): TableModel | undefined {
  return model.tables.find((t) => t.name === name);
}

export function findColumn(table: TableModel, name: string): ColumnModel | undefined {
  return table.columns.find((c) => c.name === name);
}

export function columnByPhysical(table: TableModel, physical: string): ColumnModel | undefined {
  return table.columns.find((c) => c.physical === physical);
}

export function findIndex(
  model: SchemaModel,
  name: string,
): { table: TableModel; index: IndexModel } | undefined {
  for (const table of model.tables) {
    const index = table.indexes.find((i) => i.name === name);
    if (index) return { table, index };
  }
  return undefined;
}

/** Index and constraint names share one namespace per schema in PostgreSQL; treat them so everywhere. */
export function relationNameTaken(model: SchemaModel, name: string): boolean {
  return model.tables.some(
    (t) => t.physical === name || t.name === name || t.indexes.some((i) => i.name === name),
  );
}

export function constraintNameTaken(table: TableModel, name: string): boolean {
  return table.constraints.some((c) => c.name === name);
}

/**
 * The key the backfill walks: the primary key, else the first valid unique
 * index whose columns are all NOT NULL (physical names), else null.
 */
export function backfillKey(table: TableModel): string[] | null {
  const pk = table.constraints.find((c) => c.type === 'primary_key');
  if (pk) return pk.columns;
  for (const index of table.indexes) {
    if (!index.unique || !index.valid || index.columns.some((c) => c === '')) continue;
    if (index.definition.includes(' WHERE ')) continue;
    const cols = index.columns.map((c) => columnByPhysical(table, c));
    if (cols.every((c) => c && !c.nullable)) return index.columns;
  }
  return null;
}
