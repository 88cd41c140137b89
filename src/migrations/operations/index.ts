/** Every operation kind of the file format, by kind. */
import type { OperationKind } from '../format.ts';
import type { OperationDefinition } from '../operation.ts';
import { addColumn } from './add-column.ts';
import { alterColumn } from './alter-column.ts';
import { createConstraint } from './create-constraint.ts';
import { createIndex } from './create-index.ts';
import { createTable } from './create-table.ts';
import { dropColumn } from './drop-column.ts';
import { dropConstraint } from './drop-constraint.ts';
import { dropIndex } from './drop-index.ts';
import { dropMultiColumnConstraint } from './drop-multicolumn-constraint.ts';
import { dropTable } from './drop-table.ts';
import { rawSql } from './raw-sql.ts';
import { renameColumn } from './rename-column.ts';
import { renameConstraint } from './rename-constraint.ts';
import { renameTable } from './rename-table.ts';
import { setReplicaIdentity } from './set-replica-identity.ts';

export const operations: { [K in OperationKind]: OperationDefinition<K> } = {
  create_table: createTable,
  add_column: addColumn,
  alter_column: alterColumn,
  rename_column: renameColumn,
  drop_column: dropColumn,
  rename_table: renameTable,
  drop_table: dropTable,
  create_index: createIndex,
  drop_index: dropIndex,
  create_constraint: createConstraint,
  drop_constraint: dropConstraint,
  drop_multicolumn_constraint: dropMultiColumnConstraint,
  rename_constraint: renameConstraint,
  set_replica_identity: setReplicaIdentity,
  sql: rawSql,
};
