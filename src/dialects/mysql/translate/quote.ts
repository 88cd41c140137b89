/**
 * Identifiers the rewriter writes into a statement: always backquoted, which
 * every sql_mode reads as an identifier (ANSI_QUOTES included) and which no
 * reserved word can break.
 */
export function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}
