/** drop_index: the index stays while the old version may rely on it and is dropped concurrently at complete. */
import { findIndex } from '../model.ts';
import { claim, nothing, type OperationDefinition, tableKey } from '../operation.ts';

export const dropIndex: OperationDefinition<'drop_index'> = {
  kind: 'drop_index',
  ...nothing,
  validate(op, ctx) {
    const found = findIndex(ctx.model, op.name);
    if (!found) {
      ctx.issue('name', `index "${op.name}" does not exist`);
      return;
    }
    if (found.index.constraint)
      ctx.issue(
        'name',
        `index "${op.name}" implements the constraint "${found.index.constraint}"; drop the constraint instead`,
      );
    claim(ctx, `index:${op.name}`, 'drop', 'name');
    claim(ctx, tableKey(found.table.name), 'read', 'name');
  },
  complete(op) {
    return [{ kind: 'drop_index', name: op.name, online: true }];
  },
  apply(op, ctx) {
    const found = findIndex(ctx.model, op.name)!;
    found.table.indexes = found.table.indexes.filter((i) => i !== found.index);
    return [];
  },
};
