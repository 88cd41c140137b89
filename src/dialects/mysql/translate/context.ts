/**
 * What the server's reading of a statement depends on, beyond the schema
 * version: the session's sql_mode flags that change how text tokenizes,
 * the server's lower_case_table_names, and the session's current database
 * (which unqualified table names mean). The translator's cache keys on it.
 */
export interface MysqlSqlContext {
  /** sql_mode has ANSI_QUOTES: `"x"` is an identifier, not a string. */
  readonly ansiQuotes: boolean;
  /** sql_mode lacks NO_BACKSLASH_ESCAPES: `\` escapes inside string literals. */
  readonly backslashEscapes: boolean;
  /**
   * The server's lower_case_table_names: 0 compares table names and table
   * aliases as written; 1 and 2 compare them case-insensitively.
   */
  readonly lowerCaseTableNames: 0 | 1 | 2;
  /**
   * The session's current database (what `USE` set), or null for none.
   * Unqualified table names refer to migrating tables only when it is the
   * migration's database.
   */
  readonly database: string | null;
}

/** The defaults: a session of a plain server, in the migration's database. */
export function defaultMysqlContext(database: string | null): MysqlSqlContext {
  return { ansiQuotes: false, backslashEscapes: true, lowerCaseTableNames: 0, database };
}

/** The context from a session's sql_mode value as the server reports it. */
export function sqlModeFlags(sqlMode: string): Pick<MysqlSqlContext, 'ansiQuotes' | 'backslashEscapes'> {
  const modes = new Set(sqlMode.toUpperCase().split(','));
  return {
    // ANSI is a combination mode that includes ANSI_QUOTES.
    ansiQuotes: modes.has('ANSI_QUOTES') || modes.has('ANSI'),
    backslashEscapes: !modes.has('NO_BACKSLASH_ESCAPES'),
  };
}

/** The part of the cache key that the context contributes. */
export function contextKey(c: MysqlSqlContext): string {
  return `${c.ansiQuotes ? 'a' : '-'}${c.backslashEscapes ? 'b' : '-'}${c.lowerCaseTableNames}\u0001${c.database ?? ''}`;
}
