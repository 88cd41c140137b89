/**
 * drop_constraint (pgroll's single-column form): the constrained column gets
 * a shadow column without the constraint, so the new version may write
 * values the old constraint refuses; `down` turns them into values the old
 * column accepts. Complete swaps the shadow in, and the constraint is gone.
 */
import type { DropConstraintOp } from '../format.ts';
import { columnByPhysical } from '../model.ts';
import { nothing, type OperationDefinition, type PlanContext, requireTable } from '../operation.ts';
import { type ShadowSpec, shadowPhases, validateShadow } from '../shadow.ts';
import { droppableConstraint } from './droppable-constraint.ts';

function spec(op: DropConstraintOp, ctx: PlanContext): ShadowSpec {
  const table = requireTable(ctx, op.table, 'table')!;
  const constraint = table.constraints.find((c) => c.name === op.name)!;
  const column = columnByPhysical(table, constraint.columns[0]!)!;
  return {
    table: op.table,
    columns: [{ column: column.name, up: op.up, down: op.down }],
    add: [],
    drop: [op.name],
  };
}

export const dropConstraint: OperationDefinition<'drop_constraint'> = {
  kind: 'drop_constraint',
  ...nothing,
  validate(op, ctx) {
    const found = droppableConstraint(op, ctx);
    if (!found) return;
    const { table, constraint } = found;
    if (constraint.columns.length !== 1) {
      ctx.issue(
        'name',
        `constraint "${op.name}" covers ${constraint.columns.length} columns; use drop_multicolumn_constraint`,
      );
      return;
    }
    const column = columnByPhysical(table, constraint.columns[0]!);
    if (op.column !== undefined && column?.name !== op.column)
      ctx.issue('column', `constraint "${op.name}" is on column "${column?.name}", not "${op.column}"`);
    validateShadow(spec(op, ctx), ctx, () => ({ column: 'name', up: 'up' }));
  },
  ...shadowPhases(spec),
};
