/**
 * add_column: the column is added under its own name at start, nullable so
 * that the statement takes only a brief lock and old-version inserts (which
 * do not know the column) succeed. With `up`, a sync trigger fills it for
 * old-version writes and the backfill fills existing rows. NOT NULL waits in
 * a NOT VALID check until complete; unique, check and foreign key follow the
 * same add-now, validate-later path. The old version does not see the column
 * (the proxy hides it); rollback drops it.
 */
import type { Action, BackfillTask, SyncNotNull } from '../actions.ts';
import { BackfillKeyError } from '../errors.ts';
import type { AddColumnOp } from '../format.ts';
import { backfillKey, findColumn, relationNameTaken } from '../model.ts';
import { notNullCheckName, syncTriggerName, temporaryName } from '../names.ts';
import {
  claim,
  columnKey,
  type OperationDefinition,
  type PlanContext,
  requireTable,
  tableKey,
} from '../operation.ts';
import {
  columnForeignKey,
  columnModel,
  columnSpec,
  isNullable,
  uniqueConstraintName,
  validateReference,
} from './column-definition.ts';

/** A table created by this migration is empty and has no old-version writers: the column can be final at once. */
function fresh(op: AddColumnOp, ctx: PlanContext): boolean {
  return ctx.claims.created(tableKey(op.table));
}

function names(op: AddColumnOp, ctx: PlanContext) {
  const table = requireTable(ctx, op.table, 'table')!;
  const unique = uniqueConstraintName(table.physical, op.column.name);
  return {
    table: table.physical,
    key: backfillKey(table),
    sync: syncTriggerName(ctx.caps, op.column.name),
    notNull: notNullCheckName(ctx.caps, op.column.name),
    unique,
    uniqueIndex: temporaryName(ctx.caps, unique),
  };
}

/** The check standing in for the column's NOT NULL until complete, when the sync trigger fills it. */
function notNullChecks(op: AddColumnOp, ctx: PlanContext): SyncNotNull[] {
  if (isNullable(op.column) || fresh(op, ctx)) return [];
  return [{ column: op.column.name, name: names(op, ctx).notNull }];
}

export const addColumn: OperationDefinition<'add_column'> = {
  kind: 'add_column',
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    if (findColumn(table, op.column.name) || table.columns.some((c) => c.physical === op.column.name))
      ctx.issue('column.name', `column "${op.column.name}" already exists in "${op.table}"`);
    if (op.up && !backfillKey(table) && !fresh(op, ctx))
      ctx.issue('table', new BackfillKeyError(op.table).message);
    if (op.column.references) validateReference(ctx, 'column.references', op.column.references);
    if (op.column.check && table.constraints.some((c) => c.name === op.column.check!.name))
      ctx.issue('column.check.name', `constraint "${op.column.check.name}" already exists on "${op.table}"`);
    if (op.column.references && table.constraints.some((c) => c.name === op.column.references!.name))
      ctx.issue(
        'column.references.name',
        `constraint "${op.column.references.name}" already exists on "${op.table}"`,
      );
    if (
      op.column.unique &&
      relationNameTaken(ctx.model, uniqueConstraintName(table.physical, op.column.name))
    )
      ctx.issue(
        'column.unique',
        `an index named "${uniqueConstraintName(table.physical, op.column.name)}" already exists`,
      );
    claim(ctx, tableKey(op.table), 'modify', 'table');
    claim(ctx, columnKey(op.table, op.column.name), 'add', 'column.name');
  },
  start(op, ctx) {
    const n = names(op, ctx);
    const isFresh = fresh(op, ctx);
    const out: Action[] = [
      {
        kind: 'add_column',
        table: n.table,
        column: columnSpec(op.column, isFresh ? isNullable(op.column) : true),
      },
    ];
    // The trigger goes in before the constraints, so that no old-version write lands between them unfilled.
    if (op.up && !isFresh)
      out.push({
        kind: 'install_sync',
        table: n.table,
        name: n.sync,
        version: ctx.migration,
        columns: [],
        up: [{ target: op.column.name, expression: op.up }],
        upBindings: requireTable(ctx, op.table, 'table')!.columns.map((c) => ({
          variable: c.physical,
          column: c.physical,
        })),
        down: [],
        downBindings: [],
        notNull: notNullChecks(op, ctx),
      });
    if (!isFresh && !isNullable(op.column))
      out.push({ kind: 'add_not_null_check', table: n.table, name: n.notNull, column: op.column.name });
    if (op.column.check)
      out.push({
        kind: 'add_check',
        table: n.table,
        name: op.column.check.name,
        expression: op.column.check.constraint,
        noInherit: op.column.check.no_inherit ?? false,
        validated: isFresh,
      });
    const fk = columnForeignKey(ctx.model, op.column.name, op.column);
    if (fk) out.push({ kind: 'add_foreign_key', table: n.table, fk, validated: isFresh });
    return out;
  },
  backfill(op, ctx): BackfillTask[] {
    if (!op.up || fresh(op, ctx)) return [];
    const n = names(op, ctx);
    return [
      { table: n.table, key: n.key ?? [], assignments: [{ target: op.column.name, expression: op.up }] },
    ];
  },
  verify(op, ctx) {
    const n = names(op, ctx);
    const out: Action[] = [];
    const isFresh = fresh(op, ctx);
    if (!isFresh && !isNullable(op.column))
      out.push({ kind: 'validate_constraint', table: n.table, name: n.notNull });
    if (op.column.check && !isFresh)
      out.push({ kind: 'validate_constraint', table: n.table, name: op.column.check.name });
    if (op.column.references && !isFresh)
      out.push({ kind: 'validate_constraint', table: n.table, name: op.column.references.name });
    if (op.column.unique)
      out.push({
        kind: 'create_index',
        table: n.table,
        name: n.uniqueIndex,
        columns: [{ column: op.column.name }],
        unique: true,
        method: null,
        predicate: null,
        storageParameters: null,
        include: [],
        nullsNotDistinct: false,
        online: !isFresh,
      });
    return out;
  },
  complete(op, ctx) {
    const n = names(op, ctx);
    const isFresh = fresh(op, ctx);
    const out: Action[] = [];
    if (op.up && !isFresh)
      out.push({ kind: 'remove_sync', table: n.table, name: n.sync, notNull: notNullChecks(op, ctx) });
    if (!isFresh && !isNullable(op.column)) {
      out.push({ kind: 'set_not_null', table: n.table, column: op.column.name, notNull: true });
      out.push({ kind: 'drop_constraint', table: n.table, name: n.notNull });
    }
    if (op.column.unique)
      out.push({
        kind: 'attach_index_constraint',
        table: n.table,
        name: n.unique,
        index: n.uniqueIndex,
        type: 'unique',
        deferrable: false,
        initiallyDeferred: false,
      });
    return out;
  },
  rollback(op, ctx) {
    const n = names(op, ctx);
    const out: Action[] = [];
    if (op.up && !fresh(op, ctx))
      out.push({ kind: 'remove_sync', table: n.table, name: n.sync, notNull: notNullChecks(op, ctx) });
    out.push({ kind: 'drop_column', table: n.table, column: op.column.name });
    return out;
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    table.columns.push(columnModel(op.column));
    return [
      { kind: 'column_added', table: table.name, column: op.column.name, filledByTrigger: Boolean(op.up) },
    ];
  },
};
