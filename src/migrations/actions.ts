/**
 * Dialect-neutral database actions: what an operation wants done, never how a
 * given engine spells it. A `MigrationDialect` renders each action into
 * statements (with the guards that make it idempotent), so an operation file
 * never contains SQL DDL of its own; only the user's expressions (`up`,
 * `down`, checks, defaults) pass through as text.
 *
 * Table and column names in actions are physical names.
 */

export interface ColumnSpec {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  comment?: string | null;
  /** `GENERATED ALWAYS AS (expr) STORED` */
  generatedExpression?: string | null;
  identity?: { always: boolean; sequenceOptions: string } | null;
}

export interface ForeignKeySpec {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete?: string | undefined;
  onUpdate?: string | undefined;
  match?: string | undefined;
  deferrable?: boolean | undefined;
  initiallyDeferred?: boolean | undefined;
  onDeleteSetColumns?: string[] | undefined;
}

export interface IndexColumnSpec {
  column: string;
  collate?: string | undefined;
  sort?: 'ASC' | 'DESC' | undefined;
  nulls?: 'FIRST' | 'LAST' | undefined;
  opclass?: { name?: string | undefined; params?: string[] | undefined } | undefined;
}

/** A table constraint created together with a new (empty) table. */
export type TableConstraintSpec =
  | {
      type: 'primary_key' | 'unique';
      name: string;
      columns: string[];
      deferrable?: boolean | undefined;
      initiallyDeferred?: boolean | undefined;
      nullsNotDistinct?: boolean | undefined;
      include?: string[] | undefined;
      storageParameters?: string | undefined;
      tablespace?: string | undefined;
    }
  | { type: 'check'; name: string; expression: string; noInherit?: boolean | undefined }
  | ({ type: 'foreign_key' } & ForeignKeySpec)
  | {
      type: 'exclude';
      name: string;
      method?: string | undefined;
      elements: string;
      predicate?: string | undefined;
    };

/**
 * One assignment evaluated for a written row: `target := expression`, or a
 * plain copy `target := copyFrom` (a variable name) when the file gives no
 * expression, so that operations never quote identifiers themselves.
 */
export type SyncAssignment = { target: string; expression: string } | { target: string; copyFrom: string };

/**
 * A binding of an expression variable to a column of the written row: in
 * `up`, `name` is the old version's column name; in `down`, the new one's.
 */
export interface SyncBinding {
  variable: string;
  column: string;
}

export type Action =
  | {
      kind: 'create_table';
      table: string;
      columns: ColumnSpec[];
      constraints: TableConstraintSpec[];
      comment: string | null;
    }
  | { kind: 'drop_table'; table: string }
  | { kind: 'rename_table'; from: string; to: string }
  | { kind: 'add_column'; table: string; column: ColumnSpec }
  /**
   * `whileExists`: drop only while that column (the shadow taking this one's name) still exists; once it
   * has been renamed into place, the column of this name holds the new data.
   */
  | { kind: 'drop_column'; table: string; column: string; whileExists?: string }
  | { kind: 'rename_column'; table: string; from: string; to: string }
  | { kind: 'set_default'; table: string; column: string; default: string | null }
  | { kind: 'set_comment'; table: string; column: string | null; comment: string | null }
  | { kind: 'set_not_null'; table: string; column: string; notNull: boolean }
  /** A check enforced on new writes at once; `validated: false` leaves existing rows for `validate_constraint`. */
  /**
   * `renameColumns` maps column names used in `expression` to the physical
   * columns the check applies to (a check written for `price` placed on its
   * shadow column).
   */
  | {
      kind: 'add_check';
      table: string;
      name: string;
      expression: string;
      noInherit: boolean;
      validated: boolean;
      renameColumns?: Record<string, string>;
    }
  /** The stand-in for NOT NULL until complete: `column IS NOT NULL`, enforced on writes, validated later. */
  | { kind: 'add_not_null_check'; table: string; name: string; column: string }
  /**
   * Recreates an existing check or foreign key under a new name on other
   * columns: `definition` is the model's (dialect-printed) definition, with
   * the columns of `renameColumns` replaced on the constrained side.
   */
  | {
      kind: 'copy_constraint';
      table: string;
      name: string;
      definition: string;
      renameColumns: Record<string, string>;
    }
  | { kind: 'add_foreign_key'; table: string; fk: ForeignKeySpec; validated: boolean }
  | { kind: 'validate_constraint'; table: string; name: string }
  | { kind: 'drop_constraint'; table: string; name: string }
  | { kind: 'rename_constraint'; table: string; from: string; to: string }
  /** `online`: build without blocking writes (concurrently); a failed online build is cleaned up and retried. */
  | {
      kind: 'create_index';
      table: string;
      name: string;
      columns: IndexColumnSpec[];
      unique: boolean;
      method: string | null;
      predicate: string | null;
      storageParameters: string | null;
      include: string[];
      nullsNotDistinct: boolean;
      online: boolean;
    }
  /** Recreates an existing index (its model `definition`) under `name` with the columns of `renameColumns` replaced. */
  | {
      kind: 'copy_index';
      table: string;
      name: string;
      definition: string;
      renameColumns: Record<string, string>;
      online: boolean;
    }
  | { kind: 'drop_index'; name: string; online: boolean }
  | { kind: 'rename_index'; from: string; to: string }
  /** Promotes a built unique index to a unique / primary key constraint without a table scan. */
  | {
      kind: 'attach_index_constraint';
      table: string;
      name: string;
      index: string;
      type: 'unique' | 'primary_key';
      deferrable: boolean;
      initiallyDeferred: boolean;
    }
  | {
      kind: 'set_replica_identity';
      table: string;
      identity: 'default' | 'full' | 'nothing' | 'index';
      index: string | null;
    }
  /** Moves a sequence owned by one column to another, so dropping the old column keeps it. */
  | { kind: 'move_owned_sequences'; table: string; from: string; to: string }
  /**
   * Keeps old and new columns consistent for every writer. A row written by
   * a session of `version` gets the `down` assignments (new -> old); any other
   * writer, including one that never chose a version, gets `up` (old -> new).
   */
  | {
      kind: 'install_sync';
      table: string;
      name: string;
      version: string;
      columns: string[];
      up: SyncAssignment[];
      upBindings: SyncBinding[];
      down: SyncAssignment[];
      downBindings: SyncBinding[];
      /** The NOT NULL checks of the same operation (see `SyncNotNull`). */
      notNull?: SyncNotNull[];
    }
  /** `notNull`: the same checks as the `install_sync` it undoes. */
  | { kind: 'remove_sync'; table: string; name: string; notNull?: SyncNotNull[] }
  | { kind: 'raw_sql'; sql: string };

export type ActionKind = Action['kind'];

/**
 * A NOT NULL check (`add_not_null_check` `name` on `column`) that the
 * operation adds right after its sync: an engine whose checks are row
 * triggers may enforce it inside the sync trigger from `install_sync` on
 * (one trigger a row instead of two), and then keeps it enforced past
 * `remove_sync` until `drop_constraint` drops it. Other engines ignore it.
 */
export interface SyncNotNull {
  column: string;
  name: string;
}

/**
 * A batch copy the backfill runs over every existing row of `table`: each
 * assignment's expression is evaluated against the row (old version names)
 * and written to its target column.
 */
export interface BackfillTask {
  table: string;
  key: string[];
  assignments: SyncAssignment[];
}
