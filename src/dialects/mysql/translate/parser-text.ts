import type { MysqlSqlContext } from './context.ts';

/**
 * The text handed to the parser, which knows one tokenization only
 * (backslash escapes on, `"x"` a string). Where the session's sql_mode reads
 * the text otherwise, a copy of the same length is made that the parser
 * reads the server's way: ANSI_QUOTES identifiers get backquotes, and
 * backslashes inside strings under NO_BACKSLASH_ESCAPES become plain
 * characters. Two MySQL clauses the parser lacks are blanked out of the
 * copy, since they name no column: index hints (`FORCE INDEX (k)`, which
 * name indexes) and GROUP_CONCAT's `SEPARATOR 'x'`. Same length, so every source position the parser reports is
 * a position in the client's text, where the edits go.
 */
export interface ParserText {
  /** What to parse; `=== sql` when nothing had to change. */
  readonly text: string;
  /**
   * True when a `/*! ... *\/` or `/*M! ... *\/` comment holds SQL the server
   * runs but the parser skips as a comment.
   */
  readonly executableComment: boolean;
  /** Why no faithful copy could be made (an ANSI_QUOTES identifier holding a quote), or null. */
  readonly problem: string | null;
}

export function parserText(sql: string, context: MysqlSqlContext): ParserText {
  const executableComment = /\/\*M?!/.test(sql);
  const ansi = context.ansiQuotes && sql.includes('"');
  const plainBackslash = !context.backslashEscapes && sql.includes('\\');
  const unparsed = UNPARSED.test(sql);
  if (!ansi && !plainBackslash && !unparsed) return { text: sql, executableComment, problem: null };
  const out = sql.split('');
  let problem: string | null = null;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '#' || (c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' '))) {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '`') {
      i = closing(sql, i, '`', false);
    } else if (c === "'" || (c === '"' && !context.ansiQuotes)) {
      const end = closing(sql, i, c, context.backslashEscapes);
      if (!context.backslashEscapes) for (let k = i + 1; k < end - 1; k++) if (sql[k] === '\\') out[k] = '_';
      i = end;
    } else if (c === '"') {
      const end = closing(sql, i, '"', false);
      const inner = sql.slice(i + 1, end - 1);
      if (inner.includes('"') || inner.includes('`')) problem ??= `the identifier "${inner}" holds a quote`;
      out[i] = '`';
      if (end - 1 > i && sql[end - 1] === '"') out[end - 1] = '`';
      i = end;
    } else if (unparsed && /[A-Za-z]/.test(c) && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
      const end = blankable(sql, i, context.backslashEscapes);
      for (let k = i; k < end; k++) if (sql[k] !== '\n') out[k] = ' ';
      i = Math.max(end, i + 1);
    } else {
      i++;
    }
  }
  return { text: out.join(''), executableComment, problem };
}

const UNPARSED = /\b(?:use|force|ignore)\s+(?:index|key)\b|\bseparator\b/i;
const INDEX_HINT = /(?:USE|FORCE|IGNORE)\s+(?:INDEX|KEY)(?:\s+FOR\s+(?:JOIN|ORDER\s+BY|GROUP\s+BY))?\s*\(/iy;
const SEPARATOR = /SEPARATOR\s*(?=['"])/iy;

/** The end of an index hint or a SEPARATOR clause that starts at `at`, or `at` when none does. */
function blankable(sql: string, at: number, backslash: boolean): number {
  INDEX_HINT.lastIndex = at;
  if (INDEX_HINT.test(sql)) {
    let i = INDEX_HINT.lastIndex;
    while (i < sql.length && sql[i] !== ')') i = sql[i] === '`' ? closing(sql, i, '`', false) : i + 1;
    return Math.min(sql.length, i + 1);
  }
  SEPARATOR.lastIndex = at;
  if (SEPARATOR.test(sql)) {
    const quote = SEPARATOR.lastIndex;
    return closing(sql, quote, sql[quote]!, backslash);
  }
  return at;
}

/** The index just past the quoted token that opens at `start`. */
function closing(sql: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslash && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}
