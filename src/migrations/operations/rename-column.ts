/**
 * rename_column: nothing changes physically until complete. While the
 * migration is active the new version's name maps to the old physical column
 * (the proxy translates), so both versions read and write the same data.
 */
import { findColumn } from '../model.ts';
import { claim, columnKey, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const renameColumn: OperationDefinition<'rename_column'> = {
  kind: 'rename_column',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    if (!findColumn(table, op.from)) ctx.issue('from', `column "${op.from}" does not exist in "${op.table}"`);
    if (findColumn(table, op.to) || table.columns.some((c) => c.physical === op.to))
      ctx.issue('to', `column "${op.to}" already exists in "${op.table}"`);
    if (op.from === op.to) ctx.issue('to', 'the new name is the old name');
    claim(ctx, tableKey(op.table), 'modify', 'table');
    claim(ctx, columnKey(op.table, op.from), 'rename', 'from');
    claim(ctx, columnKey(op.table, op.to), 'add', 'to');
  },
  complete(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    const column = findColumn(table, op.from)!;
    return [{ kind: 'rename_column', table: table.physical, from: column.physical, to: op.to }];
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    findColumn(table, op.from)!.name = op.to;
    return [{ kind: 'column_renamed', table: table.name, from: op.from, to: op.to }];
  },
};
