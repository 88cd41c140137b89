/**
 * `UPDATE t JOIN u ON ... SET ...`: MySQL's usual multi-table UPDATE, which
 * sql-parser-cst rejects (it reads only `UPDATE t, u SET ...`), while it
 * reads the same table references after a SELECT's FROM. So such a text is
 * read in two parses, both with their positions in the client's text: the
 * whole text with each joined UPDATE's table references blanked to a
 * one-letter table name of the same length, and each of those references
 * alone as a FROM clause, whose tree then takes the blank's place. The
 * rewriter walks the result as it walks `UPDATE t, u` and a SELECT's joins.
 */
import { isCommentSpace, isWordChar, lineEnd, skipQuoted, statementSpans } from '../statement-text.ts';
import { type CstNode, child, children, isNode } from './cst.ts';

type Parse = (text: string) => CstNode[];

const FROM_PREFIX = 'SELECT 1 FROM ';

/**
 * The statements of `text` (the parser's copy of the client's text), with
 * the table references of every `UPDATE ... JOIN ... SET` read through the
 * FROM-clause grammar; null when the text holds no joined UPDATE. Throws
 * what `parse` throws when a piece cannot be read.
 */
export function parseJoinedUpdates(text: string, parse: Parse): CstNode[] | null {
  const regions = statementSpans(text)
    .map(([start, end]) => joinedTables(text, start, end))
    .filter((r): r is [number, number] => r !== null);
  if (regions.length === 0) return null;
  let blanked = text;
  for (const [start, end] of regions) {
    blanked = `${blanked.slice(0, start)}${'x'.padEnd(end - start)}${blanked.slice(end)}`;
  }
  const statements = parse(blanked);
  for (const [start, end] of regions) {
    const from = parse(`${FROM_PREFIX}${text.slice(start, end)}`);
    const clauses = from.length === 1 ? children(from[0]!, 'clauses') : [];
    const tables = clauses.length === 2 ? child(clauses[1]!, 'expr') : undefined;
    if (clauses[1]?.type !== 'from_clause' || !tables) {
      throw new Error(`the tables of an UPDATE do not read as a FROM clause: ${text.slice(start, end)}`);
    }
    shiftRanges(tables, start - FROM_PREFIX.length);
    const update = statements.find(
      (s) => s.type === 'update_stmt' && s.range !== undefined && s.range[0] <= start && start < s.range[1],
    );
    const head = update && children(update, 'clauses').find((c) => c.type === 'update_clause');
    if (!head) throw new Error(`no UPDATE clause found around position ${start}`);
    (head as unknown as { tables: CstNode }).tables = tables;
  }
  return statements;
}

/**
 * The table references of the statement at [start, end) when it is an
 * UPDATE whose references hold a JOIN: from the first token after UPDATE
 * and its modifiers up to the SET keyword outside parentheses. Else null.
 */
export function joinedTables(sql: string, start: number, end: number): [number, number] | null {
  let tables = -1;
  let joined = false;
  let first = true;
  for (const word of words(sql, start, end)) {
    const upper = sql.slice(word.start, word.end).toUpperCase();
    if (first) {
      if (upper !== 'UPDATE') return null;
      first = false;
      continue;
    }
    if (tables < 0) {
      if (word.depth === 0 && (upper === 'LOW_PRIORITY' || upper === 'IGNORE')) continue;
      tables = word.start;
    }
    if (upper === 'JOIN' || upper === 'STRAIGHT_JOIN') joined = true;
    if (upper === 'SET' && word.depth === 0) return joined ? [tables, word.start] : null;
  }
  return null;
}

interface Word {
  start: number;
  end: number;
  /** Parentheses open around it. */
  depth: number;
}

/**
 * The tokens of sql[start, end) that matter here: bare words, and the
 * first character of a quoted name or string or parenthesis (as a
 * one-character word, so the table references can start at it). Comments
 * and quoted text are skipped; backslashes escape (the parser's copy reads
 * them so).
 */
function* words(sql: string, start: number, end: number): Generator<Word> {
  let depth = 0;
  let i = start;
  while (i < end) {
    const c = sql.charCodeAt(i);
    if (c === 0x27 /* ' */ || c === 0x22 /* " */ || c === 0x60 /* ` */) {
      yield { start: i, end: i + 1, depth };
      i = skipQuoted(sql, i, c, c !== 0x60);
    } else if (
      c === 0x23 /* # */ ||
      (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d && isCommentSpace(sql.charCodeAt(i + 2)))
    ) {
      i = lineEnd(sql, i);
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? end : close + 2;
    } else if (c === 0x28 /* ( */) {
      yield { start: i, end: i + 1, depth };
      depth++;
      i++;
    } else if (c === 0x29 /* ) */) {
      depth--;
      i++;
    } else if (isWordChar(c)) {
      let j = i + 1;
      while (j < end && isWordChar(sql.charCodeAt(j))) j++;
      yield { start: i, end: j, depth };
      i = j;
    } else {
      i++;
    }
  }
}

/** Moves every source range in a freshly parsed tree by `delta`. */
function shiftRanges(node: CstNode, delta: number): void {
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    if (isNode(v) && v.range) {
      const [start, end] = v.range;
      (v as { range: [number, number] }).range = [start + delta, end + delta];
    }
    for (const value of Object.values(v)) visit(value);
  };
  visit(node);
}
