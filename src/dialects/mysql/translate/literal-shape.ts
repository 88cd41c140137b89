import { isWordChar } from '../statement-text.ts';
import type { MysqlSqlContext } from './context.ts';

/**
 * Statements that differ only in their constants (values written into the
 * text, as most ORMs and sysbench do) translate the same way: the rewriter
 * edits identifiers, stars and insertion points, never the inside of a
 * string or number. This gives such statements one cache key, so only the
 * first of a shape pays for the parse (30 to 150 us with sql-parser-cst,
 * against about 1 us for a statement whose shape was seen). Positions are
 * UTF-16 positions of the text.
 *
 * The key is a number, a hash of the text with each constant replaced by
 * its kind: a string key would be built, flattened and hashed again for
 * every statement, which cost more than the rest of the look-up. Texts of
 * one shape have one hash; texts with the same hash are of one shape only
 * when `sameShape` says so.
 */
export interface MysqlLiteralShape {
  hash: number;
  /** Ranges [start, end) of the constants, in order. */
  spans: number[];
}

const NUMBER = /^(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+|0b[01]+)$/;

/*
 * The scan runs on every statement that may touch a migrating table and is
 * not cached by its text, so it reads character codes: a regular
 * expression per character cost more than the cache lookup it leads to.
 */
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** JavaScript's `\s`, and the end of the text (NaN), where `--` also starts a comment. */
const isSpaceOrEnd = (c: number) =>
  Number.isNaN(c) ||
  c === 0x20 ||
  (c >= 0x09 && c <= 0x0d) ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;
const isExponent = (c: number) => c === 0x45 || c === 0x65;

/**
 * Where the text's string and number constants are, and the hash of its
 * shape, mixed into `seed` (what else the caller's key depends on); null
 * when it has no constant (or cannot be scanned).
 */
export function mysqlLiteralShape(sql: string, context: MysqlSqlContext, seed = 0): MysqlLiteralShape | null {
  const spans: number[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (
      c === 0x23 /* # */ ||
      (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d && isSpaceOrEnd(sql.charCodeAt(i + 2)))
    ) {
      while (i < n && sql.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (c === 0x60 /* ` */ || (c === 0x22 /* " */ && context.ansiQuotes)) {
      const end = closing(sql, i, sql[i]!, false);
      if (end < 0) return null;
      i = end;
    } else if (c === 0x27 /* ' */ || c === 0x22) {
      const end = closing(sql, i, sql[i]!, context.backslashEscapes);
      if (end < 0) return null;
      spans.push(i, end);
      i = end;
    } else if (isWordChar(c)) {
      let end = i + 1;
      let digits = isDigit(c);
      while (end < n && isWordChar(sql.charCodeAt(end))) {
        digits &&= isDigit(sql.charCodeAt(end));
        end++;
      }
      const wordEnd = end;
      // 1.5, 1.5e3: the dot and what follows belong to the number.
      if (digits && sql.charCodeAt(end) === 0x2e && (i === 0 || sql.charCodeAt(i - 1) !== 0x2e)) {
        end++;
        while (end < n && (isDigit(sql.charCodeAt(end)) || isExponent(sql.charCodeAt(end)))) end++;
        const sign = sql.charCodeAt(end);
        if (isExponent(sql.charCodeAt(end - 1)) && (sign === 0x2b || sign === 0x2d)) {
          end++;
          while (end < n && isDigit(sql.charCodeAt(end))) end++;
        }
      }
      // A word after a dot is a qualified name's part (`t.1col`), never a number. Digits alone,
      // the common case, are one without the expression (and the slice it reads).
      if (
        isDigit(c) &&
        (i === 0 || (sql.charCodeAt(i - 1) !== 0x2e && !isWordChar(sql.charCodeAt(i - 1)))) &&
        ((digits && end === wordEnd) || NUMBER.test(sql.slice(i, end)))
      )
        spans.push(i, end);
      i = end;
    } else {
      i++;
    }
  }
  if (spans.length === 0) return null;
  return { hash: shapeHash(sql, spans, seed), spans };
}

/** A string constant opens with a quote; a number with a digit. */
const isStringConstant = (sql: string, start: number) => {
  const c = sql.charCodeAt(start);
  return c === 0x27 || c === 0x22;
};

const FNV_PRIME = 0x01000193;
/** Beyond every UTF-16 code, so a constant's kind never hashes as a character. */
const STRING_MARK = 0x10001;
const NUMBER_MARK = 0x10002;

/** FNV-1a of a text: a seed for `mysqlLiteralShape` from what else a key depends on. */
export function textHash(text: string): number {
  return shapeHash(text, [], 0);
}

/** FNV-1a over the text's characters outside the constants, and each constant's kind in its place. */
function shapeHash(sql: string, spans: readonly number[], seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  let at = 0;
  for (let k = 0; k < spans.length; k += 2) {
    for (let i = at; i < spans[k]!; i++) h = Math.imul(h ^ sql.charCodeAt(i), FNV_PRIME);
    h = Math.imul(h ^ (isStringConstant(sql, spans[k]!) ? STRING_MARK : NUMBER_MARK), FNV_PRIME);
    at = spans[k + 1]!;
  }
  for (let i = at; i < sql.length; i++) h = Math.imul(h ^ sql.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** True when texts `a` and `b`, with constants at these spans, differ in nothing but the constants' values. */
export function sameShape(
  a: string,
  aSpans: readonly number[],
  b: string,
  bSpans: readonly number[],
): boolean {
  if (aSpans.length !== bSpans.length) return false;
  let atA = 0;
  let atB = 0;
  for (let k = 0; k <= aSpans.length; k += 2) {
    const endA = k < aSpans.length ? aSpans[k]! : a.length;
    const endB = k < bSpans.length ? bSpans[k]! : b.length;
    if (endA - atA !== endB - atB) return false;
    for (let i = 0; i < endA - atA; i++) if (a.charCodeAt(atA + i) !== b.charCodeAt(atB + i)) return false;
    if (k === aSpans.length) break;
    if (isStringConstant(a, endA) !== isStringConstant(b, endB)) return false;
    atA = aSpans[k + 1]!;
    atB = bSpans[k + 1]!;
  }
  return true;
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
