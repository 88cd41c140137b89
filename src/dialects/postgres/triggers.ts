/**
 * Sync triggers on PostgreSQL: one BEFORE INSERT OR UPDATE row trigger per
 * operation and table, whose PL/pgSQL function lives in the `shiftgate`
 * schema (so the user's schema only gains the trigger itself).
 *
 * The writer's version comes from the session setting `shiftgate.version`,
 * which the proxy sets on each upstream session: a session of the migration's
 * own version is a new-version writer (its row gets `down`); anything else,
 * including a session that never set it, is an old-version writer (its row
 * gets `up`). The backfill sets `shiftgate.backfill` for its own
 * transactions, because each batch already writes what `up` would compute.
 * Its value is the backfill's own backend pid, checked against the writing
 * backend's pid, so no other session can switch the triggers off by setting
 * it (the proxy refuses `shiftgate.*` settings outright; a writer that
 * bypasses the proxy would have to set it to its own pid on purpose).
 *
 * The user's expressions see the row's columns as PL/pgSQL variables named
 * as the writer's version names them (`%TYPE` of the physical column).
 *
 * An INSERT always gets the other version's columns computed. An UPDATE gets
 * one computed only when a column its expression reads changed (NEW against
 * OLD) or when it is still NULL (never filled: the backfill has not reached
 * the row): a value the other version wrote itself is not overwritten by a
 * write that did not touch what it derives from. An expression that reads
 * no column (a constant, `now()`) is computed on INSERT, or to fill a NULL.
 */
import type { Action, SyncAssignment, SyncBinding } from '../../migrations/actions.ts';
import type { Statement } from '../../migrations/dialect.ts';
import { boundedName } from '../../migrations/names.ts';
import { ident, literal, PG_MAX_IDENTIFIER, qualified } from './quote.ts';

export const STATE_SCHEMA = 'shiftgate';

type Install = Extract<Action, { kind: 'install_sync' }>;
type Remove = Extract<Action, { kind: 'remove_sync' }>;

/** The function of a table's sync trigger: unique per (schema, table, trigger). */
export function syncFunctionName(schema: string, table: string, trigger: string): string {
  return boundedName(PG_MAX_IDENTIFIER, schema === 'public' ? '' : `${schema}__`, `${table}__${trigger}`);
}

function mentions(expressions: string[], variable: string): boolean {
  const escaped = variable.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const word = new RegExp(`(^|[^A-Za-z0-9_$"])${escaped}($|[^A-Za-z0-9_$])`, 'i');
  return expressions.some((e) => e.includes(`"${variable}"`) || word.test(e));
}

function branch(
  schema: string,
  table: string,
  assignments: SyncAssignment[],
  bindings: SyncBinding[],
): string {
  if (assignments.length === 0) return '    NULL;';
  const expressions = assignments.map((a) => ('expression' in a ? a.expression : `"${a.copyFrom}"`));
  // Binding every column costs an assignment per column per row: bind only what the expressions name.
  const used = bindings.filter((b) => mentions(expressions, b.variable));
  const declare = used
    .map(
      (b) =>
        `      ${ident(b.variable)} ${qualified(schema, table)}.${ident(b.column)}%TYPE := NEW.${ident(b.column)};`,
    )
    .join('\n');
  const body = assignments
    .map((a, i) => {
      // A write never overwrites what it did not touch: on UPDATE the other version's column is
      // computed again only when a column its expression reads has changed, so a value that
      // version wrote itself survives the writes that do not concern it.
      const reads = used.filter((b) => mentions([expressions[i]!], b.variable)).map((b) => b.column);
      const changed = [...new Set(reads)].map((c) => ` OR NEW.${ident(c)} IS DISTINCT FROM OLD.${ident(c)}`);
      const value = 'expression' in a ? `(${a.expression})` : ident(a.copyFrom);
      // A column still NULL was never filled (a row the backfill has not reached): fill it, or a NOT
      // NULL being enforced by its NOT VALID check would fail the write.
      const unfilled = ` OR NEW.${ident(a.target)} IS NULL`;
      return `      IF TG_OP = 'INSERT'${unfilled}${changed.join('')} THEN\n        NEW.${ident(a.target)} := ${value};\n      END IF;`;
    })
    .join('\n');
  return `    DECLARE\n${declare}\n    BEGIN\n${body}\n    END;`;
}

export function renderSyncInstall(action: Install, schema: string): Statement[] {
  const fn = qualified(STATE_SCHEMA, syncFunctionName(schema, action.table, action.name));
  const body = `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $shiftgate$
BEGIN
  IF current_setting('shiftgate.version', true) IS DISTINCT FROM ${literal(action.version)} THEN
${branch(schema, action.table, action.up, action.upBindings)}
  ELSE
${branch(schema, action.table, action.down, action.downBindings)}
  END IF;
  RETURN NEW;
END
$shiftgate$`;
  return [
    { sql: body },
    {
      // The backfill's own rows skip the function call entirely: WHEN is evaluated without entering PL/pgSQL.
      sql: `CREATE OR REPLACE TRIGGER ${ident(action.name)} BEFORE INSERT OR UPDATE ON ${qualified(schema, action.table)} FOR EACH ROW WHEN (current_setting('shiftgate.backfill', true) IS DISTINCT FROM pg_backend_pid()::text) EXECUTE FUNCTION ${fn}()`,
    },
  ];
}

export function renderSyncRemove(action: Remove, schema: string): Statement[] {
  const fn = qualified(STATE_SCHEMA, syncFunctionName(schema, action.table, action.name));
  return [
    {
      sql: `DROP TRIGGER IF EXISTS ${ident(action.name)} ON ${qualified(schema, action.table)}`,
      skipIf: { sql: 'SELECT to_regclass($1) IS NULL AS skip', params: [qualified(schema, action.table)] },
    },
    { sql: `DROP FUNCTION IF EXISTS ${fn}()` },
  ];
}
