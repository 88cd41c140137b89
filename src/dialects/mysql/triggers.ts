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
 * until complete (the `NOT VALID` of this engine): inside the sync trigger
 * of its operation, after the assignments, so it sees the filled row, or in
 * a trigger of its own where there is no sync trigger. Every trigger costs
 * each row it fires for, even when its body does nothing, and the backfill
 * rewrites every row: riding on the sync trigger, the check adds no trigger,
 * and the backfill's own batches skip it with the assignments (a NULL they
 * write is found by the validation's read of every row before complete).
 * A trigger created without FOLLOWS / PRECEDES runs after the table's
 * existing ones of its event, the user's included: ours see what the user's
 * own BEFORE triggers made of the row.
 */
import type { Action, SyncAssignment, SyncBinding, SyncNotNull } from '../../migrations/actions.ts';
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

/**
 * Whether the row comes from anyone but this session's own backfill batch
 * (see the file comment).
 */
const NOT_BACKFILL = `${BACKFILL_VARIABLE} IS NULL OR ${BACKFILL_VARIABLE} <> CONNECTION_ID()`;

function syncBody(action: Install, event: TriggerEvent): string {
  const checks = (action.notNull ?? []).map((c) => `    ${refuseNull(action.table, c)}\n`).join('');
  return `BEGIN
  IF ${NOT_BACKFILL} THEN
    IF ${VERSION_VARIABLE} IS NULL OR ${VERSION_VARIABLE} <> ${literal(action.version)} THEN
${branch(action.up, action.upBindings, event, '      ')}
    ELSE
${branch(action.down, action.downBindings, event, '      ')}
    END IF;
${checks}  END IF;
END`;
}

const EVENTS = ['insert', 'update'] as const;

const triggerExists = (schema: string, name: string) => ({
  sql: 'SELECT COUNT(*) > 0 AS skip FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?',
  params: [schema, name],
});

export function renderSyncInstall(action: Install, schema: string): Statement[] {
  return EVENTS.map((event) => {
    const name = triggerName(action.table, action.name, event);
    return {
      sql: `CREATE TRIGGER ${qualified(schema, name)} BEFORE ${event.toUpperCase()} ON ${qualified(schema, action.table)} FOR EACH ROW\n${syncBody(action, event)}`,
      skipIf: triggerExists(schema, name),
    };
  });
}

/**
 * Drops the sync triggers. The NOT NULL checks a sync trigger carries move
 * to triggers of their own first (the ones `add_not_null_check` creates
 * when there is no sync trigger): complete sets NOT NULL only after this,
 * and `drop_constraint` drops them then. Each hand-over is skipped once the
 * check's own trigger exists, or when the sync trigger does not carry it (a
 * migration started before checks rode on the sync trigger has them apart
 * already; a replay finds the sync trigger gone).
 */
export function renderSyncRemove(action: Remove, schema: string): Statement[] {
  const handOver = (action.notNull ?? []).flatMap((check) =>
    EVENTS.map((event) => {
      const sync = triggerName(action.table, action.name, event);
      const own = triggerName(action.table, check.name, event);
      return {
        sql: checkTrigger(schema, action.table, check, event),
        skipIf: {
          sql: `SELECT NOT EXISTS (SELECT 1 FROM information_schema.TRIGGERS
                                    WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ? AND LOCATE(?, ACTION_STATEMENT) > 0)
                    OR EXISTS (SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?) AS skip`,
          params: [schema, sync, checkMark(check.name), schema, own],
        },
      };
    }),
  );
  return [
    ...handOver,
    ...EVENTS.map((event) => ({
      sql: `DROP TRIGGER IF EXISTS ${qualified(schema, triggerName(action.table, action.name, event))}`,
    })),
  ];
}

/** The SQLSTATE a NOT NULL check signals: integrity constraint violation, as a CHECK would. */
const CHECK_VIOLATION = '23000';

/**
 * The statement of a NOT NULL check, on one line, naming its check as the
 * error's CONSTRAINT_NAME: a trigger carrying it is found by that name.
 */
function refuseNull(table: string, check: SyncNotNull): string {
  const message = `Shiftgate: column ${check.column} of ${table} must not be NULL (${check.name})`;
  return `IF NEW.${ident(check.column)} IS NULL THEN SIGNAL SQLSTATE '${CHECK_VIOLATION}' SET MESSAGE_TEXT = ${literal(message.slice(0, 128))}, ${checkMark(check.name)}; END IF;`;
}

const checkMark = (name: string) => `CONSTRAINT_NAME = ${literal(name)}`;

/** The trigger of its own for one event of a NOT NULL check. */
function checkTrigger(schema: string, table: string, check: SyncNotNull, event: TriggerEvent): string {
  const trigger = triggerName(table, check.name, event);
  return `CREATE TRIGGER ${qualified(schema, trigger)} BEFORE ${event.toUpperCase()} ON ${qualified(schema, table)} FOR EACH ROW\nBEGIN\n  ${refuseNull(table, check)}\nEND`;
}

/**
 * The triggers of `table` for `event` that enforce the NOT NULL check
 * `name`: its own trigger, or the sync trigger carrying it.
 */
export function checkEnforcers(schema: string, table: string, name: string, event: TriggerEvent) {
  return {
    sql: `SELECT ACTION_STATEMENT AS body FROM information_schema.TRIGGERS
           WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? AND EVENT_MANIPULATION = ?
             AND (TRIGGER_NAME = ? OR (TRIGGER_NAME LIKE '\\_shiftgate\\_%' AND LOCATE(?, ACTION_STATEMENT) > 0))`,
    params: [schema, table, event.toUpperCase(), triggerName(table, name, event), checkMark(name)],
  };
}

/**
 * The stand-in for NOT NULL until complete: rejects a row whose `column` is
 * NULL once every sync trigger of the table has filled it. Skipped where a
 * trigger already enforces it, the sync trigger of its operation included
 * (`install_sync` with `notNull`): a check there costs no trigger of its own.
 */
export function renderNotNullCheck(schema: string, table: string, name: string, column: string): Statement[] {
  return EVENTS.map((event) => {
    const enforcers = checkEnforcers(schema, table, name, event);
    return {
      sql: checkTrigger(schema, table, { column, name }, event),
      skipIf: { sql: `SELECT COUNT(*) > 0 AS skip FROM (${enforcers.sql}) e`, params: enforcers.params },
    };
  });
}

/** A string literal as `literal` writes it: quotes doubled, backslash escapes. */
const LITERAL = /'(?:[^'\\]|''|\\[\s\S])*'/.source;
const CHECK_STATEMENT = new RegExp(
  `IF NEW\\.\`((?:[^\`]|\`\`)+)\` IS NULL THEN\\s+SIGNAL SQLSTATE '${CHECK_VIOLATION}' ` +
    `SET MESSAGE_TEXT = ${LITERAL}(?:, CONSTRAINT_NAME = (${LITERAL}))?`,
  'g',
);

/**
 * The column the NOT NULL check `name` tests, read back from the body of a
 * trigger that enforces it (`checkEnforcers`). A check without a
 * CONSTRAINT_NAME is of the earlier shape, alone in a trigger of its own.
 */
export function notNullColumnOf(body: string, name: string): string | null {
  for (const m of body.matchAll(CHECK_STATEMENT))
    if (m[2] === undefined || m[2] === literal(name)) return m[1]!.replace(/``/g, '`');
  return null;
}
