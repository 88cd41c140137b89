/**
 * alter_column: a change old-version writers could violate (type, NOT NULL,
 * unique, check, references) goes through a shadow column (see
 * `shadow.ts`); a default or comment change alone is made in place at start
 * and restored on rollback; `name` alone is a rename (as rename_column).
 */
import type { Action } from '../actions.ts';
import type { AlterColumnOp } from '../format.ts';
import { findColumn, findTable, relationNameTaken } from '../model.ts';
import {
  claim,
  columnKey,
  type OperationDefinition,
  type PlanContext,
  requireTable,
  tableKey,
} from '../operation.ts';
import {
  type ShadowSpec,
  shadowApply,
  shadowBackfill,
  shadowComplete,
  shadowRollback,
  shadowStart,
  shadowVerify,
  validateShadow,
} from '../shadow.ts';
import { validateReference } from './column-definition.ts';
import { renameColumn } from './rename-column.ts';

function asRename(op: AlterColumnOp) {
  return { table: op.table, from: op.column, to: op.name! };
}

/** True when the change needs a shadow column rather than an in-place statement. */
function needsShadow(op: AlterColumnOp, ctx: PlanContext): boolean {
  if (op.type !== undefined || op.unique || op.check || op.references) return true;
  if (op.nullable === undefined) return false;
  const table = findTable(ctx.model, op.table);
  const column = table && findColumn(table, op.column);
  return !column || column.nullable !== op.nullable;
}

function spec(op: AlterColumnOp): ShadowSpec {
  const add: ShadowSpec['add'] = [];
  if (op.check)
    add.push({
      type: 'check',
      name: op.check.name,
      expression: op.check.constraint,
      noInherit: op.check.no_inherit ?? false,
    });
  if (op.unique)
    add.push({
      type: 'unique',
      name: op.unique.name,
      columns: [op.column],
      nullsNotDistinct: false,
      deferrable: false,
      initiallyDeferred: false,
      include: [],
      storageParameters: null,
    });
  if (op.references)
    add.push({
      type: 'foreign_key',
      name: op.references.name,
      columns: [op.column],
      refTable: op.references.table,
      refColumns: [op.references.column],
      onDelete: op.references.on_delete,
      onUpdate: op.references.on_update,
      match: op.references.match_type,
      deferrable: op.references.deferrable,
      initiallyDeferred: op.references.initially_deferred,
    });
  return {
    table: op.table,
    columns: [
      {
        column: op.column,
        type: op.type,
        nullable: op.nullable,
        default: op.default,
        comment: op.comment,
        up: op.up,
        down: op.down,
      },
    ],
    add,
    drop: [],
  };
}

function inPlace(op: AlterColumnOp, ctx: PlanContext, restore: boolean): Action[] {
  const table = findTable(ctx.model, op.table)!;
  const column = findColumn(table, op.column)!;
  const out: Action[] = [];
  if (op.default !== undefined)
    out.push({
      kind: 'set_default',
      table: table.physical,
      column: column.physical,
      default: restore ? column.default : op.default,
    });
  if (op.comment !== undefined)
    out.push({
      kind: 'set_comment',
      table: table.physical,
      column: column.physical,
      comment: restore ? column.comment : op.comment,
    });
  return out;
}

export const alterColumn: OperationDefinition<'alter_column'> = {
  kind: 'alter_column',
  validate(op, ctx) {
    if (op.name !== undefined) {
      // Report against this operation's own field names.
      const issue = (f: string, r: string) => ctx.issue(f === 'to' ? 'name' : f === 'from' ? 'column' : f, r);
      renameColumn.validate(asRename(op), { ...ctx, issue });
      return;
    }
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    if (!findColumn(table, op.column)) {
      ctx.issue('column', `column "${op.column}" does not exist in "${op.table}"`);
      return;
    }
    if (op.check && table.constraints.some((c) => c.name === op.check!.name))
      ctx.issue('check.name', `constraint "${op.check.name}" already exists on "${op.table}"`);
    if (
      op.unique &&
      (relationNameTaken(ctx.model, op.unique.name) ||
        table.constraints.some((c) => c.name === op.unique!.name))
    )
      ctx.issue('unique.name', `a constraint or index named "${op.unique.name}" already exists`);
    if (op.references) {
      validateReference(ctx, 'references', op.references);
      if (table.constraints.some((c) => c.name === op.references!.name))
        ctx.issue('references.name', `constraint "${op.references.name}" already exists on "${op.table}"`);
    }
    if (needsShadow(op, ctx)) validateShadow(spec(op), ctx, () => ({ column: 'column', up: 'up' }));
    else {
      claim(ctx, tableKey(op.table), 'modify', 'table');
      claim(ctx, columnKey(op.table, op.column), 'modify', 'column');
    }
  },
  start(op, ctx) {
    if (op.name !== undefined) return [];
    return needsShadow(op, ctx) ? shadowStart(spec(op), ctx) : inPlace(op, ctx, false);
  },
  backfill(op, ctx) {
    return op.name === undefined && needsShadow(op, ctx) ? shadowBackfill(spec(op), ctx) : [];
  },
  verify(op, ctx) {
    return op.name === undefined && needsShadow(op, ctx) ? shadowVerify(spec(op), ctx) : [];
  },
  complete(op, ctx) {
    if (op.name !== undefined) return renameColumn.complete(asRename(op), ctx);
    return needsShadow(op, ctx) ? shadowComplete(spec(op), ctx) : [];
  },
  rollback(op, ctx) {
    if (op.name !== undefined) return [];
    return needsShadow(op, ctx) ? shadowRollback(spec(op), ctx) : inPlace(op, ctx, true);
  },
  apply(op, ctx) {
    if (op.name !== undefined) return renameColumn.apply(asRename(op), ctx);
    if (needsShadow(op, ctx)) return shadowApply(spec(op), ctx);
    const column = findColumn(findTable(ctx.model, op.table)!, op.column)!;
    if (op.default !== undefined) column.default = op.default;
    if (op.comment !== undefined) column.comment = op.comment;
    return [];
  },
};
