/**
 * rename_table: physically renamed at complete; while the migration is active
 * the new version's name maps to the old table (the proxy translates).
 */
import { findTable, relationNameTaken } from '../model.ts';
import { claim, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const renameTable: OperationDefinition<'rename_table'> = {
  kind: 'rename_table',
  ...nothing,
  validate(op, ctx) {
    requireTable(ctx, op.from, 'from');
    if (findTable(ctx.model, op.to) || relationNameTaken(ctx.model, op.to))
      ctx.issue('to', `a table or index named "${op.to}" already exists`);
    claim(ctx, tableKey(op.from), 'rename', 'from');
    claim(ctx, tableKey(op.to), 'add', 'to');
  },
  complete(op, ctx) {
    const table = requireTable(ctx, op.from, 'from')!;
    return [{ kind: 'rename_table', from: table.physical, to: op.to }];
  },
  apply(op, ctx) {
    requireTable(ctx, op.from, 'from')!.name = op.to;
    return [{ kind: 'table_renamed', from: op.from, to: op.to }];
  },
};
