import { type ClientError, clientError } from '../../proxy/client-error.ts';

/**
 * `@shiftgate_version` and `@shiftgate_backfill` are Shiftgate's, not the
 * client's: the sync triggers read the first to tell which schema version a
 * write comes from, so a client that set it (`SET @shiftgate_version = ...`,
 * `SELECT ... INTO @shiftgate_version`, `@x := ...`) would have its writes
 * synced as another version's; the second, set to the session's own
 * CONNECTION_ID(), marks the backfill's batches, which skip the sync
 * assignments and the NOT NULL checks the triggers carry. The proxy sets the
 * first on every upstream session itself; only the migration runner's own
 * connection sets the second. A client statement that may assign either, in
 * any spelling MySQL accepts for a user variable (`@name`, quoted with
 * backticks or either quote, any case), is refused; reading them is allowed.
 *
 * NOTE: this reads the statement text. A name built at run time (a
 * prepared statement from a string expression) is not seen.
 */
const RESERVED_VARIABLE = /@[`'"]?(shiftgate_(?:version|backfill))[`'"]?(?![A-Za-z0-9_$])/gi;

/**
 * The variable some mention can assign, or null: `:=` after it, `=` after it
 * in a text with SET before it, or INTO before it. Reading it (`SELECT
 * @shiftgate_version`) is harmless and allowed; a comparison in a text that
 * also says SET is refused too, which only errs on the safe side.
 */
function assigned(sql: string): string | null {
  // Runs on every routed statement: most name no user variable at all.
  if (!sql.includes('@')) return null;
  for (const m of sql.matchAll(RESERVED_VARIABLE)) {
    const before = sql.slice(0, m.index);
    const after = sql.slice(m.index + m[0].length);
    const name = `@${m[1]!.toLowerCase()}`;
    if (/^\s*:=/.test(after) || /\binto\b/i.test(before)) return name;
    if (/^\s*=/.test(after) && /\bset\b/i.test(before)) return name;
  }
  return null;
}

/** The refusal for a statement that may assign `@shiftgate_version` or `@shiftgate_backfill`, or null. */
export function reservedVariableUse(sql: string): ClientError | null {
  const variable = assigned(sql);
  if (variable === null) return null;
  return clientError(
    'permissionDenied',
    `${variable} is Shiftgate's own variable and cannot be set by a client statement`,
    variable === '@shiftgate_version'
      ? "bind the session with a statement of its own: SET shiftgate.version = '<migration name>'"
      : 'only the migration runner sets it, on its own connection',
  );
}
