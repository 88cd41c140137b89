/** rename_constraint: constraint names are not part of any query the versions send, so the rename waits for complete. */
import { claim, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const renameConstraint: OperationDefinition<'rename_constraint'> = {
  kind: 'rename_constraint',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    if (!table.constraints.some((c) => c.name === op.from))
      ctx.issue('from', `constraint "${op.from}" does not exist on "${op.table}"`);
    if (table.constraints.some((c) => c.name === op.to))
      ctx.issue('to', `constraint "${op.to}" already exists on "${op.table}"`);
    claim(ctx, tableKey(op.table), 'modify', 'table');
    claim(ctx, `constraint:${op.table}.${op.from}`, 'rename', 'from');
  },
  complete(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    return [{ kind: 'rename_constraint', table: table.physical, from: op.from, to: op.to }];
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    const constraint = table.constraints.find((c) => c.name === op.from)!;
    constraint.name = op.to;
    for (const i of table.indexes) if (i.constraint === op.from) i.constraint = op.to;
    return [];
  },
};
