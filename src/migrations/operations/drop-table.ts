/**
 * drop_table: the new version stops seeing the table at start; the old
 * version keeps using it until complete drops it. Rollback has nothing to undo.
 */
import { claim, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const dropTable: OperationDefinition<'drop_table'> = {
  kind: 'drop_table',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.name, 'name');
    if (!table) return;
    for (const other of ctx.model.tables)
      if (other !== table)
        for (const k of other.constraints)
          if (k.type === 'foreign_key' && k.refTable === table.physical)
            ctx.issue(
              'name',
              `table "${op.name}" is referenced by the foreign key "${k.name}" of "${other.name}"`,
            );
    claim(ctx, tableKey(op.name), 'drop', 'name');
  },
  complete(op, ctx) {
    return [{ kind: 'drop_table', table: requireTable(ctx, op.name, 'name')!.physical }];
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.name, 'name')!;
    ctx.model.tables = ctx.model.tables.filter((t) => t !== table);
    return [{ kind: 'table_dropped', table: op.name }];
  },
};
