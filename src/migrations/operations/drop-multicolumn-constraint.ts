/**
 * drop_multicolumn_constraint: like drop_constraint for a constraint over
 * several columns: each gets a shadow column without the constraint, with
 * its own `up` and `down`.
 */
import type { DropMultiColumnConstraintOp } from '../format.ts';
import { columnByPhysical } from '../model.ts';
import { nothing, type OperationDefinition, type PlanContext, requireTable } from '../operation.ts';
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

function spec(op: DropMultiColumnConstraintOp, ctx: PlanContext): ShadowSpec {
  const table = requireTable(ctx, op.table, 'table')!;
  const constraint = table.constraints.find((c) => c.name === op.name)!;
  return {
    table: op.table,
    columns: constraint.columns.map((physical) => {
      const name = columnByPhysical(table, physical)!.name;
      return { column: name, up: op.up?.[name], down: op.down?.[name] };
    }),
    add: [],
    drop: [op.name],
  };
}

export const dropMultiColumnConstraint: OperationDefinition<'drop_multicolumn_constraint'> = {
  kind: 'drop_multicolumn_constraint',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    const constraint = table.constraints.find((c) => c.name === op.name);
    if (!constraint) {
      ctx.issue('name', `constraint "${op.name}" does not exist on "${op.table}"`);
      return;
    }
    if (constraint.type === 'primary_key') {
      ctx.issue('name', `"${op.name}" is the primary key; Shiftgate needs it to backfill`);
      return;
    }
    if (constraint.columns.length === 0) {
      ctx.issue('name', `constraint "${op.name}" covers no plain columns`);
      return;
    }
    const names = constraint.columns.map((p) => columnByPhysical(table, p)?.name);
    for (const side of ['up', 'down'] as const)
      for (const col of Object.keys(op[side] ?? {}))
        if (!names.includes(col))
          ctx.issue(`${side}.${col}`, `column "${col}" is not covered by "${op.name}"`);
    validateShadow(spec(op, ctx), ctx, (col) => ({ column: 'name', up: `up.${col}` }));
  },
  start: (op, ctx) => shadowStart(spec(op, ctx), ctx),
  backfill: (op, ctx) => shadowBackfill(spec(op, ctx), ctx),
  verify: (op, ctx) => shadowVerify(spec(op, ctx), ctx),
  complete: (op, ctx) => shadowComplete(spec(op, ctx), ctx),
  rollback: (op, ctx) => shadowRollback(spec(op, ctx), ctx),
  apply: (op, ctx) => shadowApply(spec(op, ctx), ctx),
};
