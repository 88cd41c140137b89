/**
 * create_index: built concurrently at start, so writes never wait for it; a
 * build that fails half way leaves an invalid index, which the dialect drops
 * before retrying. Rollback drops it concurrently.
 */
import type { IndexColumnSpec } from '../actions.ts';
import { findColumn, relationNameTaken } from '../model.ts';
import { claim, columnKey, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const createIndex: OperationDefinition<'create_index'> = {
  kind: 'create_index',
  ...nothing,
  validate(op, ctx) {
    if (relationNameTaken(ctx.model, op.name))
      ctx.issue('name', `a table or index named "${op.name}" already exists`);
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    op.columns.forEach((c, i) => {
      if (!findColumn(table, c.column))
        ctx.issue(`columns.${i}`, `column "${c.column}" does not exist in "${op.table}"`);
      else claim(ctx, columnKey(op.table, c.column), 'read', `columns.${i}`);
    });
    claim(ctx, tableKey(op.table), 'read', 'table');
  },
  start(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    const columns: IndexColumnSpec[] = op.columns.map((c) => ({
      ...c,
      column: findColumn(table, c.column)!.physical,
    }));
    return [
      {
        kind: 'create_index',
        table: table.physical,
        name: op.name,
        columns,
        unique: op.unique ?? false,
        method: op.method ?? null,
        predicate: op.predicate || null,
        storageParameters: op.storage_parameters || null,
        include: [],
        nullsNotDistinct: false,
        online: !ctx.claims.created(tableKey(op.table)),
      },
    ];
  },
  rollback(op, ctx) {
    return [{ kind: 'drop_index', name: op.name, online: !ctx.claims.created(tableKey(op.table)) }];
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    table.indexes.push({
      name: op.name,
      columns: op.columns.map((c) => findColumn(table, c.column)!.physical),
      unique: op.unique ?? false,
      primary: false,
      valid: true,
      definition: '',
      constraint: null,
    });
    return [];
  },
};
