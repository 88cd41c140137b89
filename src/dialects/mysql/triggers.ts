/**
 * Sync triggers on MySQL / MariaDB: a BEFORE INSERT and a BEFORE UPDATE
 * row trigger per operation and table (a MySQL trigger has one event).
 *
 * The writer's version comes from the user variable `@shiftgate_version`,
 * which the proxy sets on each upstream session: a session of the
 * migration's own version is a new-version writer (its row gets `down`);
 * anything else, including a session that never set it, is an old-version
 * writer (its row gets `up`). The backfill sets `@shiftgate_backfill` to its
 * own CONNECTION_ID() for its batches, because each batch already writes
 * what `up` would compute; a variable is private to its session, and the id
 * check keeps a value left behind by a pooled connection from switching the
 * triggers off for anyone else.
 *
 * The user's expressions read the row's columns as the writer's version
 * names them; they are rewritten to `NEW.<physical column>`.
 *
 * As on PostgreSQL: an INSERT always gets the other version's columns
 * computed; an UPDATE gets one computed only when a column its expression
 * reads changed (NEW against OLD, NULL-safe) or when it is still NULL (the
 * backfill has not reached the row).
 *
 * Trigger names are unique per database in MySQL, not per table: each
 * carries its table's name. NOT NULL, which MySQL cannot add without
 * checking every row under a lock, is enforced on new writes by a check
 * trigger until complete (the `NOT VALID` of this engine). A trigger
 * created without FOLLOWS / PRECEDES runs after the table's existing ones
 * of its event, the user's included: the check, created after the sync
 * trigger, sees the filled row, and the sync trigger sees what the user's
 * own BEFORE triggers made of the row.
 */
import type { Action, SyncAssignment, SyncBinding } from '../../migrations/actions.ts';
import type { Statement } from '../../migrations/dialect.ts';
import { boundedName } from '../../migrations/names.ts';
import { referencedColumns, replaceColumns } from './expressions.ts';
import { ident, literal, MYSQL_MAX_IDENTIFIER, qualified } from './quote.ts';

type Install = Extract<Action, { kind: 'install_sync' }>;
type Remove = Extract<Action, { kind: 'remove_sync' }>;

export const VERSION_VARIABLE = '@shiftgate_version';
export const BACKFILL_VARIABLE = '@shiftgate_backfill';

export type TriggerEvent = 'insert' | 'update';

/** The trigger of `name` (a sync or check name of the migration) on `table` for one event. */
export function triggerName(table: string, name: string, event: TriggerEvent): string {
  return boundedName(MYSQL_MAX_IDENTIFIER, name, `__${table}`, event === 'insert' ? '_bi' : '_bu');
}

/** The SQLSTATE a check trigger signals: integrity constraint violation, as a CHECK would. */
const CHECK_VIOLATION = '23000';

function branch(
  assignments: SyncAssignment[],
  bindings: SyncBinding[],
  event: TriggerEvent,
  indent: string,
): string {
  if (assignments.length === 0) return `${indent}DO 0;`;
  const byVariable = new Map(bindings.map((b) => [b.variable.toLowerCase(), b.column]));
  const lines: string[] = [];
  for (const a of assignments) {
    const expression = 'expression' in a ? a.expression : `\`${a.copyFrom.replace(/`/g, '``')}\``;
    const reads = [...referencedColumns(expression)]
      .map((v) => byVariable.get(v.toLowerCase()))
      .filter((c): c is string => c !== undefined);
    const value = replaceColumns(expression, (v) => {
      const column = byVariable.get(v.toLowerCase());
      return column === undefined ? null : `NEW.${ident(column)}`;
    });
    const target = `NEW.${ident(a.target)}`;
    if (event === 'insert') {
      lines.push(`${indent}SET ${target} = (${value});`);
      continue;
    }
    // A write never overwrites what it did not touch (see the file comment); a NULL was never filled.
    const changed = [...new Set(reads)].map((c) => ` OR NOT (NEW.${ident(c)} <=> OLD.${ident(c)})`);
    lines.push(`${indent}IF ${target} IS NULL${changed.join('')} THEN SET ${target} = (${value}); END IF;`);
  }
  return lines.join('\n');
}

function syncBody(action: Install, event: TriggerEvent): string {
  return `BEGIN
  IF ${BACKFILL_VARIABLE} IS NULL OR ${BACKFILL_VARIABLE} <> CONNECTION_ID() THEN
    IF ${VERSION_VARIABLE} IS NULL OR ${VERSION_VARIABLE} <> ${literal(action.version)} THEN
${branch(action.up, action.upBindings, event, '      ')}
    ELSE
${branch(action.down, action.downBindings, event, '      ')}
    END IF;
  END IF;
END`;
}

const triggerExists = (schema: string, name: string) => ({
  sql: 'SELECT COUNT(*) > 0 AS skip FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?',
  params: [schema, name],
});

export function renderSyncInstall(action: Install, schema: string): Statement[] {
  return (['insert', 'update'] as const).map((event) => {
    const name = triggerName(action.table, action.name, event);
    return {
      sql: `CREATE TRIGGER ${qualified(schema, name)} BEFORE ${event.toUpperCase()} ON ${qualified(schema, action.table)} FOR EACH ROW\n${syncBody(action, event)}`,
      skipIf: triggerExists(schema, name),
    };
  });
}

export function renderSyncRemove(action: Remove, schema: string): Statement[] {
  return (['insert', 'update'] as const).map((event) => ({
    sql: `DROP TRIGGER IF EXISTS ${qualified(schema, triggerName(action.table, action.name, event))}`,
  }));
}

/**
 * The stand-in for NOT NULL until complete: rejects a row whose `column` is
 * NULL once every sync trigger of the table has filled it.
 */
export function renderNotNullCheck(schema: string, table: string, name: string, column: string): Statement[] {
  return (['insert', 'update'] as const).map((event) => {
    const trigger = triggerName(table, name, event);
    const message = `Shiftgate: column ${column} of ${table} must not be NULL (${name})`;
    const head = `CREATE TRIGGER ${qualified(schema, trigger)} BEFORE ${event.toUpperCase()} ON ${qualified(schema, table)} FOR EACH ROW`;
    const body = `BEGIN\n  IF NEW.${ident(column)} IS NULL THEN\n    SIGNAL SQLSTATE '${CHECK_VIOLATION}' SET MESSAGE_TEXT = ${literal(message.slice(0, 128))};\n  END IF;\nEND`;
    return {
      sql: `${head}\n${body}`,
      skipIf: triggerExists(schema, trigger),
    };
  });
}

/** The column a check trigger of this driver tests, read back from its body. */
export function notNullColumnOf(body: string): string | null {
  const m = /IF NEW\.`((?:[^`]|``)+)` IS NULL THEN\s+SIGNAL/.exec(body);
  return m ? m[1]!.replace(/``/g, '`') : null;
}
