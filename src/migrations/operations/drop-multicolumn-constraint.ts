/**
 * drop_multicolumn_constraint: like drop_constraint for a constraint over
 * several columns: each gets a shadow column without the constraint, with
 * its own `up` and `down`.
 */
import type { DropMultiColumnConstraintOp } from '../format.ts';
import { columnByPhysical } from '../model.ts';
import { nothing, type OperationDefinition, type PlanContext, requireTable } from '../operation.ts';
import { type ShadowSpec, shadowPhases, validateShadow } from '../shadow.ts';
import { droppableConstraint } from './droppable-constraint.ts';

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
    const found = droppableConstraint(op, ctx);
    if (!found) return;
    const { table, constraint } = found;
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
  ...shadowPhases(spec),
};
