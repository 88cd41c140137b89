import { nextToken, Tok } from './lexer.ts';
import type { TextEdit } from './plan.ts';

/**
 * Statements that differ only in their constants (simple protocol with the
 * values written into the text, as most ORMs and pgbench -M simple do)
 * translate the same way: the rewriter edits identifiers, stars and
 * insertion points, never the inside of a string or number. This module
 * gives such statements one cache key, and moves the edits of a plan made
 * for one of them onto another, so only the first pays for the parse.
 */

/** The statement with every string and number constant blanked out, and where the constants are. */
export interface LiteralShape {
  key: string;
  /** Byte ranges [start, end) of the constants, in order. */
  spans: number[];
}

const MARK_STRING = '\u0001';
const MARK_NUMBER = '\u0002';

export function literalShape(bytes: Uint8Array): LiteralShape | null {
  const spans: number[] = [];
  const parts: string[] = [];
  let copied = 0;
  for (let t = nextToken(bytes, 0); t.kind !== Tok.Eof; t = nextToken(bytes, t.end)) {
    if (t.end <= t.start) return null; // the lexer could not advance: keep to the exact-text cache
    if (t.kind !== Tok.String && t.kind !== Tok.Number) continue;
    parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + copied, t.start - copied).toString('latin1'));
    parts.push(t.kind === Tok.String ? MARK_STRING : MARK_NUMBER);
    spans.push(t.start, t.end);
    copied = t.end;
  }
  if (spans.length === 0) return null;
  parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + copied, bytes.length - copied).toString('latin1'));
  return { key: parts.join(''), spans };
}

/**
 * The edits of a plan made for a statement with constants at `from`, moved
 * onto one of the same shape with constants at `to`; null when an edit
 * reaches into a constant (then the statement is translated on its own).
 */
export function moveEdits(edits: readonly TextEdit[], from: number[], to: number[]): TextEdit[] | null {
  const moved: TextEdit[] = [];
  let shift = 0;
  let i = 0;
  for (const e of edits) {
    // Constants wholly before the edit shift it by their change in length.
    while (i < from.length && from[i + 1]! <= e.start) {
      shift += to[i + 1]! - to[i]! - (from[i + 1]! - from[i]!);
      i += 2;
    }
    if (i < from.length && from[i]! < e.end) return null;
    moved.push({ start: e.start + shift, end: e.end + shift, text: e.text });
  }
  return moved;
}

/** A byte position of the `from` statement moved onto the `to` statement (past whole constants only). */
export function movePosition(p: number, from: number[], to: number[]): number {
  let shift = 0;
  for (let i = 0; i < from.length && from[i + 1]! <= p; i += 2) {
    shift += to[i + 1]! - to[i]! - (from[i + 1]! - from[i]!);
  }
  return p + shift;
}
