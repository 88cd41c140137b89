import { type ClientError, clientError } from '../../proxy/client-error.ts';

/**
 * `@shiftgate_version` is the proxy's, not the client's: the sync triggers
 * read it to tell which schema version a write comes from, so a client that
 * set it (`SET @shiftgate_version = ...`, `SELECT ... INTO
 * @shiftgate_version`, `@x := ...`) would have its writes synced as another
 * version's. The proxy sets it on every upstream session itself. A client
 * statement that may assign it, in any spelling MySQL accepts for a user
 * variable (`@name`, quoted with backticks or either quote, any case), is
 * refused; reading it is allowed.
 *
 * NOTE: this reads the statement text. A name built at run time (a
 * prepared statement from a string expression) is not seen.
 */
const RESERVED_VARIABLE = /@[`'"]?shiftgate_version[`'"]?(?![A-Za-z0-9_$])/gi;

/**
 * True when some mention of the variable can assign it: `:=` after it, `=`
 * after it in a text with SET before it, or INTO before it. Reading it
 * (`SELECT @shiftgate_version`) is harmless and allowed; a comparison in a
 * text that also says SET is refused too, which only errs on the safe side.
 */
function assigns(sql: string): boolean {
  for (const m of sql.matchAll(RESERVED_VARIABLE)) {
    const before = sql.slice(0, m.index);
    const after = sql.slice(m.index + m[0].length);
    if (/^\s*:=/.test(after) || /\binto\b/i.test(before)) return true;
    if (/^\s*=/.test(after) && /\bset\b/i.test(before)) return true;
  }
  return false;
}

/** The refusal for a statement that may assign `@shiftgate_version`, or null. */
export function reservedVariableUse(sql: string): ClientError | null {
  if (!assigns(sql)) return null;
  return clientError(
    'permissionDenied',
    "@shiftgate_version is Shiftgate's own variable and cannot be set by a client statement",
    "bind the session with a statement of its own: SET shiftgate.version = '<migration name>'",
  );
}
