/**
 * set_replica_identity: a catalog-only change taken at start (a brief lock);
 * rollback restores the identity the table had.
 */
import { claim, nothing, type OperationDefinition, requireTable, tableKey } from '../operation.ts';

export const setReplicaIdentity: OperationDefinition<'set_replica_identity'> = {
  kind: 'set_replica_identity',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    if (op.identity.type === 'index') {
      const index = table.indexes.find((i) => i.name === op.identity.index);
      if (!index) ctx.issue('identity.index', `index "${op.identity.index}" does not exist on "${op.table}"`);
      else if (!index.unique) ctx.issue('identity.index', `index "${op.identity.index}" is not unique`);
    }
    claim(ctx, tableKey(op.table), 'modify', 'table');
  },
  start(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    return [
      {
        kind: 'set_replica_identity',
        table: table.physical,
        identity: op.identity.type,
        index: op.identity.index ?? null,
      },
    ];
  },
  rollback(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    return [
      {
        kind: 'set_replica_identity',
        table: table.physical,
        identity: table.replicaIdentity,
        index: table.replicaIndex,
      },
    ];
  },
  apply(op, ctx) {
    const table = requireTable(ctx, op.table, 'table')!;
    table.replicaIdentity = op.identity.type;
    table.replicaIndex = op.identity.type === 'index' ? (op.identity.index ?? null) : null;
    return [];
  },
};
