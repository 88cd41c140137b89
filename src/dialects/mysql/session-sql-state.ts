/**
 * What a MySQL session's client text says about how the server will read
 * the session's later statements: the database a `USE` switches to, and
 * whether it may change sql_mode (ANSI_QUOTES changes what `"x"` is). The
 * translator reads statements the way the session's server does, so the
 * session follows these as the server confirms them.
 */

/** The database a text that is exactly one `USE db` statement switches to, or null. */
export function useStatementDatabase(sql: string): string | null {
  const m = /^\s*use\s+(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$\u0080-\uffff]+))\s*;?\s*$/i.exec(sql);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replaceAll('``', '`') : m[2]!;
}

/** True when the text may change the session's sql_mode (a SET that names it, in any form). */
export function mayChangeSqlMode(sql: string): boolean {
  return /sql_mode/i.test(sql) && /\bset\b/i.test(sql);
}
