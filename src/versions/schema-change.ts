/**
 * What a migration changes in the schema that clients see: the input the
 * migration engine hands to `buildVersionMap`. Plain data, one entry per
 * visible effect, in operation order. Names are *logical* names as the
 * version just before the change sees them (so a change after a
 * `rename_table` in the same migration uses the new table name).
 *
 * Physical conventions the builder relies on (they are the engine's
 * contract, DESIGN.md section 3):
 * - while a migration is in flight (expanding .. active) nothing is renamed
 *   or dropped physically; only new tables, new columns and shadow columns
 *   appear (a `drop_table` may rename the table aside, see `physical`);
 * - at complete, renames become physical, shadow columns are renamed into
 *   place over the columns they replace, added columns get their final name
 *   and dropped objects disappear, so after complete the newest version's
 *   logical schema equals the physical schema.
 *
 * Operations that change nothing a client sees (indexes, constraints that
 * do not change nullability, replica identity, raw `sql`) produce no change.
 * pgroll's `alter_column` maps to `alter_column` whenever the engine uses a
 * shadow column (type change, SET NOT NULL, new check/unique, ...) and to
 * `rename_column` when only the name changes.
 */
export type SchemaChange =
  | CreateTableChange
  | DropTableChange
  | RenameTableChange
  | AddColumnChange
  | DropColumnChange
  | RenameColumnChange
  | AlterColumnChange;

export interface CreateTableChange {
  kind: 'create_table';
  /** Created under this name physically; its columns come from the physical schema. */
  table: string;
}

export interface DropTableChange {
  kind: 'drop_table';
  table: string;
  /** The physical name while in flight when the engine renames the table aside; default: unchanged. */
  physical?: string;
}

export interface RenameTableChange {
  kind: 'rename_table';
  from: string;
  to: string;
}

export interface AddColumnChange {
  kind: 'add_column';
  table: string;
  column: string;
  /** The physical name while in flight; default `column`. After complete it is `column`. */
  physical?: string;
  /** True when a sync trigger fills the column for writers of older versions (pgroll `up`). */
  filledByTrigger?: boolean;
}

export interface DropColumnChange {
  kind: 'drop_column';
  table: string;
  column: string;
  /** True when a sync trigger fills the column for writers of the new version (pgroll `down`). */
  filledByTrigger?: boolean;
}

export interface RenameColumnChange {
  kind: 'rename_column';
  table: string;
  from: string;
  to: string;
}

/**
 * A column replaced by a shadow column: the new version reads and writes the
 * shadow, the old version the original, and sync triggers fill each from the
 * other, so INSERTs of either version may leave the other's column out.
 */
export interface AlterColumnChange {
  kind: 'alter_column';
  table: string;
  column: string;
  /** The new logical name, when the alteration also renames. */
  name?: string;
  /** The shadow column's physical name while in flight; default `_shiftgate_new_<column>`. */
  shadow?: string;
}

/** One migration of the history, oldest first; its name is the name of the version it creates. */
export interface MigrationRecord {
  name: string;
  /**
   * True from expanding to active (both versions live); false once completed.
   * Only the newest migration may be in flight. Rolled-back migrations are
   * not part of the history at all.
   */
  inFlight: boolean;
  changes: SchemaChange[];
}

/** The shadow column name the engine uses for a changed column (DESIGN.md section 3). */
export function shadowColumnName(column: string): string {
  return `_shiftgate_new_${column}`;
}
