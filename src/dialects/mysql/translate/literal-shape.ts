import type { MysqlSqlContext } from './context.ts';

/**
 * Statements that differ only in their constants (values written into the
 * text, as most ORMs and sysbench do) translate the same way: the rewriter
 * edits identifiers, stars and insertion points, never the inside of a
 * string or number. This gives such statements one cache key, so only the
 * first of a shape pays for the parse, which with sql-parser-cst costs
 * hundreds of microseconds. Positions are UTF-16 positions of the text.
 */
export interface MysqlLiteralShape {
  key: string;
  /** Ranges [start, end) of the constants, in order. */
  spans: number[];
}

const MARK_STRING = '\u0001';
const MARK_NUMBER = '\u0002';
const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
const NUMBER = /^(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+|0b[01]+)$/;

/** The text with string and number constants blanked out; null when it has none (or cannot be scanned). */
export function mysqlLiteralShape(sql: string, context: MysqlSqlContext): MysqlLiteralShape | null {
  const spans: number[] = [];
  let key = '';
  let copied = 0;
  const n = sql.length;
  const constant = (start: number, end: number, mark: string) => {
    key += sql.slice(copied, start) + mark;
    spans.push(start, end);
    copied = end;
  };
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    if (c === '#' || (c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' '))) {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (c === '`' || (c === '"' && context.ansiQuotes)) {
      const end = closing(sql, i, c, false);
      if (end < 0) return null;
      i = end;
    } else if (c === "'" || c === '"') {
      const end = closing(sql, i, c, context.backslashEscapes);
      if (end < 0) return null;
      constant(i, end, MARK_STRING);
      i = end;
    } else if (WORD.test(c)) {
      let end = i + 1;
      while (end < n && WORD.test(sql[end]!)) end++;
      // 1.5, 1.5e3: the dot and what follows belong to the number.
      if (/^\d+$/.test(sql.slice(i, end)) && sql[end] === '.' && (i === 0 || sql[i - 1] !== '.')) {
        end++;
        while (end < n && /[0-9eE]/.test(sql[end]!)) end++;
        if (/[eE]/.test(sql[end - 1]!) && /[+-]/.test(sql[end] ?? '')) {
          end++;
          while (end < n && /\d/.test(sql[end]!)) end++;
        }
      }
      const word = sql.slice(i, end);
      // A word after a dot is a qualified name's part (`t.1col`), never a number.
      if (NUMBER.test(word) && sql[i - 1] !== '.' && !WORD.test(sql[i - 1] ?? ' '))
        constant(i, end, MARK_NUMBER);
      i = end;
    } else {
      i++;
    }
  }
  if (spans.length === 0) return null;
  return { key: key + sql.slice(copied), spans };
}

/** The index just past the quoted token that opens at `start`; -1 when it never closes. */
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
  return -1;
}
