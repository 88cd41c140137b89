/**
 * sql: the user's own statements, run as given: `up` at start (or at
 * complete with `onComplete`), `down` on rollback. Shiftgate cannot see what
 * they change, so the schema model is left as it was.
 *
 * NOTE: without `down`, a rollback cannot undo `up`; the schema then does not
 * end exactly as before, which is the file author's choice.
 */
import { nothing, type OperationDefinition } from '../operation.ts';

export const rawSql: OperationDefinition<'sql'> = {
  kind: 'sql',
  ...nothing,
  validate() {},
  start(op) {
    return op.onComplete ? [] : [{ kind: 'raw_sql', sql: op.up }];
  },
  complete(op) {
    return op.onComplete ? [{ kind: 'raw_sql', sql: op.up }] : [];
  },
  rollback(op) {
    return op.down && !op.onComplete ? [{ kind: 'raw_sql', sql: op.down }] : [];
  },
  apply() {
    return [];
  },
};
