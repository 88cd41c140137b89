import type { ConstraintModel, TableModel } from '../model.ts';
import { type PlanContext, requireTable } from '../operation.ts';

/**
 * The constraint a drop_constraint / drop_multicolumn_constraint names,
 * when it exists and may be dropped; otherwise the issue is reported on
 * `name` and the result is null.
 */
export function droppableConstraint(
  op: { table: string; name: string },
  ctx: PlanContext,
): { table: TableModel; constraint: ConstraintModel } | null {
  const table = requireTable(ctx, op.table, 'table');
  if (!table) return null;
  const constraint = table.constraints.find((c) => c.name === op.name);
  if (!constraint) {
    ctx.issue('name', `constraint "${op.name}" does not exist on "${op.table}"`);
    return null;
  }
  if (constraint.type === 'primary_key') {
    ctx.issue('name', `"${op.name}" is the primary key; Shiftgate needs it to backfill`);
    return null;
  }
  return { table, constraint };
}
