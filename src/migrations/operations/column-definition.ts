/** Turns pgroll column definitions into column specs and model entries (shared by create_table and add_column). */
import type { ColumnSpec, ForeignKeySpec } from '../actions.ts';
import type { ColumnDefinition } from '../format.ts';
import { type ColumnModel, findColumn, findTable, type SchemaModel } from '../model.ts';
import type { PlanContext } from '../operation.ts';

/** pgroll: a column is NOT NULL unless it says `nullable: true`; primary key columns always are. */
export function isNullable(def: ColumnDefinition): boolean {
  return def.nullable === true && !def.pk;
}

export function columnSpec(def: ColumnDefinition, nullable: boolean): ColumnSpec {
  const identity = def.generated?.identity;
  return {
    name: def.name,
    type: def.type,
    nullable,
    default: def.default ?? null,
    comment: def.comment ?? null,
    generatedExpression: def.generated?.expression || null,
    identity: identity
      ? {
          always: (identity.user_specified_values ?? 'ALWAYS') === 'ALWAYS',
          sequenceOptions: identity.sequence_options ?? '',
        }
      : null,
  };
}

export function columnModel(def: ColumnDefinition): ColumnModel {
  return {
    name: def.name,
    physical: def.name,
    type: def.type,
    nullable: isNullable(def),
    default: def.default ?? null,
    comment: def.comment ?? null,
    generated: Boolean(def.generated),
  };
}

/** The foreign key of `column.references`, with physical names resolved through the model. */
export function columnForeignKey(
  model: SchemaModel,
  column: string,
  def: ColumnDefinition,
): ForeignKeySpec | null {
  const r = def.references;
  if (!r) return null;
  const table = findTable(model, r.table);
  return {
    name: r.name,
    columns: [column],
    refTable: table?.physical ?? r.table,
    refColumns: [(table && findColumn(table, r.column)?.physical) ?? r.column],
    onDelete: r.on_delete,
    onUpdate: r.on_update,
    match: r.match_type,
    deferrable: r.deferrable,
    initiallyDeferred: r.initially_deferred,
  };
}

/**
 * Checks a column-level reference: the referenced table and column must exist
 * (`selfTable`/`selfColumns` allow a table that references itself).
 */
export function validateReference(
  ctx: PlanContext,
  field: string,
  ref: { table: string; column: string },
  self?: { table: string; columns: string[] },
): void {
  if (self && ref.table === self.table) {
    if (!self.columns.includes(ref.column))
      ctx.issue(`${field}.column`, `column "${ref.column}" does not exist in "${ref.table}"`);
    return;
  }
  const table = findTable(ctx.model, ref.table);
  if (!table) ctx.issue(`${field}.table`, `referenced table "${ref.table}" does not exist`);
  else if (!findColumn(table, ref.column))
    ctx.issue(`${field}.column`, `referenced column "${ref.column}" does not exist in "${ref.table}"`);
}

/** The name PostgreSQL would give `UNIQUE` on one column, kept so that complete ends with familiar names. */
export function uniqueConstraintName(table: string, column: string): string {
  return `${table}_${column}_key`;
}
