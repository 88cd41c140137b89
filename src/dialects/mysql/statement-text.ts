/**
 * Just enough MySQL lexing to cut a multi-statement COM_QUERY text into
 * its statements: quotes, backquotes, comments and backslash escapes, so a
 * `;` inside a string or a comment never splits. Used only for texts the
 * router's prefilter flagged, to refuse a Shiftgate command hidden among
 * other statements.
 */
import { parseAdminCommand } from '../../admin/command.ts';
import { ClientError } from '../../proxy/client-error.ts';
import { parseVersionSet } from '../../proxy/version-binding.ts';

const SEMICOLON = 0x3b;
const SINGLE_QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKQUOTE = 0x60;
const BACKSLASH = 0x5c;
const HASH = 0x23;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;
const BANG = 0x21;

/**
 * The statements of `sql`, each as written from its first token to its
 * `;` (exclusive). Pieces that hold only blanks and comments are dropped;
 * executable comments (`/*! ... *\/`, `/*M! ... *\/`) count as statement text.
 *
 * @example
 * splitStatements("SELECT ';'; -- done\n") // ["SELECT ';'"]
 */
export function splitStatements(sql: string, backslashEscapes = true): string[] {
  return statementSpans(sql, backslashEscapes).map(([start, end]) => sql.slice(start, end).trim());
}

/**
 * Where each statement of `sql` lies: `[start, end)` from its first token
 * to its `;` (exclusive) or the end of the text, blanks and comments before
 * the `;` included. Same rules as `splitStatements`, whose pieces these are
 * before trimming; for callers that rewrite a statement in place.
 *
 * @example
 * statementSpans('SELECT 1; KILL 5') // [[0, 8], [10, 16]]
 */
export function statementSpans(sql: string, backslashEscapes = true): [number, number][] {
  const out: [number, number][] = [];
  const n = sql.length;
  // Each statement starts at its first token: leading blanks and comments are not kept.
  let start = -1;
  let i = 0;
  const cut = (end: number) => {
    if (start >= 0) out.push([start, end]);
    start = -1;
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === SEMICOLON) {
      cut(i);
      i++;
    } else if (c === SINGLE_QUOTE || c === DOUBLE_QUOTE || c === BACKQUOTE) {
      if (start < 0) start = i;
      i = skipQuoted(sql, i, c, backslashEscapes && c !== BACKQUOTE);
    } else if (c === HASH) {
      i = lineEnd(sql, i);
    } else if (c === DASH && sql.charCodeAt(i + 1) === DASH && isCommentSpace(sql.charCodeAt(i + 2))) {
      i = lineEnd(sql, i);
    } else if (c === SLASH && sql.charCodeAt(i + 1) === STAR) {
      const executable =
        sql.charCodeAt(i + 2) === BANG || (sql[i + 2] === 'M' && sql.charCodeAt(i + 3) === BANG);
      if (executable && start < 0) start = i;
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else {
      if (c > 0x20 && start < 0) start = i;
      i++;
    }
  }
  cut(n);
  return out;
}

/** [A-Za-z0-9_$] and everything from U+0080: what may continue an unquoted word (a name, a keyword, a number). */
export function isWordChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f ||
    c === 0x24 ||
    c >= 0x80
  );
}

/** `--` starts a comment only when a blank or control character (or the end) follows. */
export function isCommentSpace(c: number): boolean {
  return Number.isNaN(c) || c <= 0x20;
}

export function lineEnd(sql: string, i: number): number {
  const nl = sql.indexOf('\n', i);
  return nl < 0 ? sql.length : nl + 1;
}

/** Index just past the quoted token opened at `i` (doubled quotes and, unless disabled, backslashes escape). */
export function skipQuoted(sql: string, i: number, quote: number, backslashEscapes: boolean): number {
  const n = sql.length;
  let j = i + 1;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (backslashEscapes && c === BACKSLASH) {
      j += 2;
    } else if (c === quote) {
      if (sql.charCodeAt(j + 1) === quote) j += 2;
      else return j + 1;
    } else {
      j++;
    }
  }
  return n;
}

/**
 * Whether a statement is addressed to Shiftgate (an admin command or `SET` /
 * `RESET shiftgate.version`): `'shiftgate'`, `'none'`, or the ClientError
 * of one that starts like a Shiftgate command but is malformed.
 */
export function shiftgateStatementKind(sql: string): 'shiftgate' | 'none' | ClientError {
  try {
    if (parseVersionSet(sql) !== undefined) return 'shiftgate';
    return parseAdminCommand(sql) !== null ? 'shiftgate' : 'none';
  } catch (err) {
    if (err instanceof ClientError) return err;
    throw err;
  }
}
