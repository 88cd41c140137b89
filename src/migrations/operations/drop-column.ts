/**
 * drop_column: the new version stops seeing the column at start; it is
 * dropped at complete. With `down`, a sync trigger fills it for rows the new
 * version writes, so the old version keeps reading sensible values.
 */
import type { Action } from '../actions.ts';
import { findColumn } from '../model.ts';
import { syncTriggerName } from '../names.ts';
import { claim, columnKey, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const dropColumn: OperationDefinition<'drop_column'> = {
  kind: 'drop_column',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    const column = findColumn(table, op.column);
    if (!column) {
      ctx.issue('column', `column "${op.column}" does not exist in "${op.table}"`);
      return;
    }
    const pk = table.constraints.find((c) => c.type === 'primary_key' && c.columns.includes(column.physical));
    if (pk) ctx.issue('column', `column "${op.column}" is part of the primary key "${pk.name}"`);
    if (table.columns.length === 1)
      ctx.issue('column', `column "${op.column}" is the only column of "${op.table}"`);
    for (const other of ctx.model.tables)
      for (const k of other.constraints)
        if (
          k.type === 'foreign_key' &&
          k.refTable === table.physical &&
          k.refColumns.includes(column.physical)
        )
          ctx.issue(
            'column',
            `column "${op.column}" is referenced by the foreign key "${k.name}" of "${other.name}"`,
          );
    claim(ctx, tableKey(op.table), 'modify', 'table');
    claim(ctx, columnKey(op.table, op.column), 'drop', 'column');
  },
  start(op, ctx) {
    if (!op.down) return [];
    const table = requireTable(ctx, op.table, 'table')!;
    const column = findColumn(table, op.column)!;
    return [
      {
        kind: 'install_sync',
        table: table.physical,
        name: syncTriggerName(ctx.caps, `drop_${column.physical}`),
        version: ctx.migration,
        columns: [],
        up: [],
        upBindings: [],
        down: [{ target: column.physical, expression: op.down }],
        downBindings: table.columns
          .filter((c) => c !== column)
          .map((c) => ({ variable: c.name, column: c.physical })),
      },
    ];
  },
  complete(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    const column = findColumn(table, op.column)!;
    const out: Action[] = [];
    if (op.down)
      out.push({
        kind: 'remove_sync',
        table: table.physical,
        name: syncTriggerName(ctx.caps, `drop_${column.physical}`),
      });
    out.push({ kind: 'drop_column', table: table.physical, column: column.physical });
    return out;
  },
  rollback(op, ctx) {
    if (!op.down) return [];
    const table = requireTable(ctx, op.table, 'table')!;
    const column = findColumn(table, op.column)!;
    return [
      {
        kind: 'remove_sync',
        table: table.physical,
        name: syncTriggerName(ctx.caps, `drop_${column.physical}`),
      },
    ];
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    const column = findColumn(table, op.column)!;
    table.columns = table.columns.filter((c) => c !== column);
    table.constraints = table.constraints.filter((c) => !c.columns.includes(column.physical));
    table.indexes = table.indexes.filter((i) => !i.columns.includes(column.physical));
    return [
      { kind: 'column_dropped', table: table.name, column: op.column, filledByTrigger: Boolean(op.down) },
    ];
  },
};
