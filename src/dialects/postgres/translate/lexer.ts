/**
 * A small PostgreSQL token reader over the statement's UTF-8 bytes. The
 * parser gives start locations (byte offsets) but not ends, and some nodes
 * (index elements, COPY column lists) have no location at all; this reader
 * finds the exact byte spans of identifiers and expressions from there.
 * It only needs to be right about token boundaries, so it knows comments
 * (nested `/* *\/`), quoted identifiers, string constants (standard, E'',
 * dollar-quoted) and brackets, and nothing of the grammar.
 */

export enum Tok {
  Eof = 0,
  /** Unquoted identifier or keyword. */
  Word = 1,
  /** `"quoted"` or `U&"quoted"` identifier (with its UESCAPE clause). */
  QuotedIdent = 2,
  String = 3,
  Number = 4,
  Param = 5,
  /** `*` alone: a star, or multiplication. */
  Star = 6,
  Operator = 7,
  /** One of `( ) [ ] , ; . :`. */
  Punct = 8,
}

export interface Token {
  kind: Tok;
  start: number;
  end: number;
}

enum Ch {
  Tab = 0x09,
  Lf = 0x0a,
  Vt = 0x0b,
  Ff = 0x0c,
  Cr = 0x0d,
  Space = 0x20,
  DQuote = 0x22, // "
  Dollar = 0x24, // $
  Amp = 0x26, // &
  Quote = 0x27, // '
  LParen = 0x28, // (
  RParen = 0x29, // )
  Star = 0x2a, // *
  Comma = 0x2c, // ,
  Minus = 0x2d, // -
  Dot = 0x2e, // .
  Slash = 0x2f, // /
  Colon = 0x3a, // :
  Semi = 0x3b, // ;
  LBracket = 0x5b, // [
  Backslash = 0x5c, // \
  RBracket = 0x5d, // ]
}

const isSpace = (c: number) => c === Ch.Space || (c >= Ch.Tab && c <= Ch.Cr);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isIdentStart = (c: number) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
const isIdentCont = (c: number) => isIdentStart(c) || isDigit(c) || c === Ch.Dollar;
const OPERATOR_CHARS = new Set([...'+-*/<>=~!@#%^&|`?'].map((c) => c.charCodeAt(0)));
const PUNCT = new Set([...'()[],;.:'].map((c) => c.charCodeAt(0)));

/** The first byte at or after `pos` that is not whitespace or a comment. */
export function skipTrivia(b: Uint8Array, pos: number): number {
  for (;;) {
    const c = b[pos];
    if (c === undefined) return pos;
    if (isSpace(c)) {
      pos++;
    } else if (c === Ch.Minus && b[pos + 1] === Ch.Minus) {
      while (pos < b.length && b[pos] !== Ch.Lf) pos++;
    } else if (c === Ch.Slash && b[pos + 1] === Ch.Star) {
      let depth = 1;
      pos += 2;
      while (pos < b.length && depth > 0) {
        if (b[pos] === Ch.Slash && b[pos + 1] === Ch.Star) {
          depth++;
          pos += 2;
        } else if (b[pos] === Ch.Star && b[pos + 1] === Ch.Slash) {
          depth--;
          pos += 2;
        } else pos++;
      }
    } else return pos;
  }
}

/** The token starting at the first non-trivia byte at or after `pos`. */
export function nextToken(b: Uint8Array, pos: number): Token {
  const start = skipTrivia(b, pos);
  const c = b[start];
  if (c === undefined) return { kind: Tok.Eof, start, end: start };
  // U&"..." identifiers and U&'...' strings.
  if ((c === 0x55 || c === 0x75) && b[start + 1] === Ch.Amp) {
    const q = b[start + 2];
    if (q === Ch.DQuote)
      return { kind: Tok.QuotedIdent, start, end: uescape(b, quoted(b, start + 2, Ch.DQuote)) };
    if (q === Ch.Quote) return { kind: Tok.String, start, end: uescape(b, quoted(b, start + 2, Ch.Quote)) };
  }
  if (c === Ch.DQuote) return { kind: Tok.QuotedIdent, start, end: quoted(b, start, Ch.DQuote) };
  if (c === Ch.Quote) return { kind: Tok.String, start, end: quoted(b, start, Ch.Quote) };
  if ((c === 0x45 || c === 0x65) && b[start + 1] === Ch.Quote) {
    return { kind: Tok.String, start, end: escapeString(b, start + 1) };
  }
  // B'..', X'..', N'..': a prefix letter glued to a standard string.
  if ((c | 0x20) === 0x62 || (c | 0x20) === 0x78 || (c | 0x20) === 0x6e) {
    if (b[start + 1] === Ch.Quote) return { kind: Tok.String, start, end: quoted(b, start + 1, Ch.Quote) };
  }
  if (isIdentStart(c)) {
    let end = start + 1;
    while (end < b.length && isIdentCont(b[end]!)) end++;
    return { kind: Tok.Word, start, end };
  }
  if (c === Ch.Dollar) {
    if (isDigit(b[start + 1] ?? 0)) {
      let end = start + 1;
      while (end < b.length && isDigit(b[end]!)) end++;
      return { kind: Tok.Param, start, end };
    }
    return { kind: Tok.String, start, end: dollarQuoted(b, start) };
  }
  if (isDigit(c) || (c === Ch.Dot && isDigit(b[start + 1] ?? 0))) {
    let end = start + 1;
    while (end < b.length) {
      const d = b[end]!;
      if (isDigit(d) || isIdentStart(d) || d === Ch.Dot) end++;
      else if ((d === 0x2b || d === Ch.Minus) && ((b[end - 1] ?? 0) | 0x20) === 0x65) end++;
      else break;
    }
    return { kind: Tok.Number, start, end };
  }
  if (c === Ch.Star) return { kind: Tok.Star, start, end: start + 1 };
  if (PUNCT.has(c)) {
    if (c === Ch.Colon && b[start + 1] === Ch.Colon) return { kind: Tok.Operator, start, end: start + 2 };
    return { kind: Tok.Punct, start, end: start + 1 };
  }
  let end = start + 1;
  while (end < b.length && OPERATOR_CHARS.has(b[end]!)) {
    // A comment start ends an operator (`a*/*x*/b` is not an operator `*/*`).
    if ((b[end] === Ch.Minus && b[end + 1] === Ch.Minus) || (b[end] === Ch.Slash && b[end + 1] === Ch.Star))
      break;
    end++;
  }
  return { kind: Tok.Operator, start, end };
}

function quoted(b: Uint8Array, start: number, q: number): number {
  let pos = start + 1;
  while (pos < b.length) {
    if (b[pos] === q) {
      if (b[pos + 1] === q) pos += 2;
      else return pos + 1;
    } else pos++;
  }
  return pos;
}

function escapeString(b: Uint8Array, start: number): number {
  let pos = start + 1;
  while (pos < b.length) {
    const c = b[pos];
    if (c === Ch.Backslash) pos += 2;
    else if (c === Ch.Quote) {
      if (b[pos + 1] === Ch.Quote) pos += 2;
      else return pos + 1;
    } else pos++;
  }
  return pos;
}

function dollarQuoted(b: Uint8Array, start: number): number {
  let tagEnd = start + 1;
  while (tagEnd < b.length && b[tagEnd] !== Ch.Dollar && isIdentCont(b[tagEnd]!)) tagEnd++;
  if (b[tagEnd] !== Ch.Dollar) return start + 1;
  const tag = b.subarray(start, tagEnd + 1);
  for (let pos = tagEnd + 1; pos + tag.length <= b.length; pos++) {
    if (b[pos] === Ch.Dollar && tag.every((x, i) => b[pos + i] === x)) return pos + tag.length;
  }
  return b.length;
}

/** Extends a U& token over a following `UESCAPE '<char>'` clause. */
function uescape(b: Uint8Array, end: number): number {
  const t = nextToken(b, end);
  if (t.kind !== Tok.Word || !wordIs(b, t, 'uescape')) return end;
  const s = nextToken(b, t.end);
  return s.kind === Tok.String ? s.end : end;
}

/** Case-insensitive comparison of a word token with a lower-case ASCII keyword. */
export function wordIs(b: Uint8Array, t: Token, word: string): boolean {
  if (t.end - t.start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((b[t.start + i]! | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

export function isPunct(b: Uint8Array, t: Token, ch: string): boolean {
  return t.kind === Tok.Punct && b[t.start] === ch.charCodeAt(0);
}

/**
 * The spans of a dotted name (`a`, `s.t`, `t.*`, `"A" /*x*\/ . b`) of
 * `parts` parts starting at `pos`, or null when the text there is not one.
 */
export function nameParts(b: Uint8Array, pos: number, parts: number): Token[] | null {
  const out: Token[] = [];
  for (let i = 0; i < parts; i++) {
    if (i > 0) {
      const dot = nextToken(b, pos);
      if (!isPunct(b, dot, '.')) return null;
      pos = dot.end;
    }
    const t = nextToken(b, pos);
    if (t.kind !== Tok.Word && t.kind !== Tok.QuotedIdent && t.kind !== Tok.Star) return null;
    out.push(t);
    pos = t.end;
  }
  return out;
}

/**
 * Words that end a target at nesting depth 0: the clauses that may follow a
 * target list (SELECT, RETURNING, an INSERT's SELECT before ON CONFLICT).
 */
const CLAUSE_WORDS = [
  'from',
  'into',
  'where',
  'group',
  'having',
  'window',
  'order',
  'limit',
  'offset',
  'fetch',
  'for',
  'union',
  'intersect',
  'except',
  'returning',
  'on',
  'using',
];

/**
 * The end of a target-list expression (the end of its last token, before any
 * comment), where an output alias goes. `start` is the target's location;
 * `next` the location of the target after it, or -1 for the last one.
 *
 * With a next target the answer needs no grammar: the last token before
 * `next` is the `,` between the two, and the target ends just before it.
 * The last target is read up to a `,` `)` `]` `;` at depth 0, the end of the
 * text or a clause keyword, where a keyword that an expression can hold at
 * depth 0 does not count: anything between CASE and its END, the FROM of
 * `IS [NOT] DISTINCT FROM`, the GROUP of `WITHIN GROUP`, and a keyword after
 * a `.` (`t.from` is a column name).
 *
 * @example
 * targetEnd(bytes("SELECT CASE WHEN a IS DISTINCT FROM b THEN c END FROM t"), 7, -1) // after END
 */
export function targetEnd(b: Uint8Array, start: number, next: number): number {
  if (next > start) {
    let end = start;
    let beforeLast = start;
    let last: Token | null = null;
    for (let t = nextToken(b, start); t.kind !== Tok.Eof && t.start < next; t = nextToken(b, t.end)) {
      beforeLast = end;
      end = t.end;
      last = t;
    }
    if (last && isPunct(b, last, ',') && beforeLast > start) return beforeLast;
  }
  let depth = 0;
  let cases = 0;
  let end = start;
  let prev: Token | null = null;
  let prevAfterDot = false;
  for (;;) {
    const t = nextToken(b, end);
    if (t.kind === Tok.Eof) return end;
    const afterDot = prev !== null && isPunct(b, prev, '.');
    if (t.kind === Tok.Punct) {
      const c = b[t.start];
      if (c === Ch.LParen || c === Ch.LBracket) depth++;
      else if (c === Ch.RParen || c === Ch.RBracket) {
        if (depth === 0) return end;
        depth--;
      } else if (c === Ch.Semi || (depth === 0 && cases === 0 && c === Ch.Comma)) return end;
    } else if (depth === 0 && t.kind === Tok.Word && !afterDot) {
      if (wordIs(b, t, 'case')) cases++;
      else if (cases > 0) {
        if (wordIs(b, t, 'end')) cases--;
      } else if (CLAUSE_WORDS.some((w) => wordIs(b, t, w))) {
        const prevWord = prev !== null && prev.kind === Tok.Word && !prevAfterDot;
        const partOfExpression =
          prevWord &&
          ((wordIs(b, t, 'from') && wordIs(b, prev!, 'distinct')) ||
            (wordIs(b, t, 'group') && wordIs(b, prev!, 'within')));
        if (!partOfExpression) return end;
      }
    }
    prev = t;
    prevAfterDot = afterDot;
    end = t.end;
  }
}

/**
 * The items of a parenthesized list starting at `pos` (the `(`), each as
 * the span of its first token, with the end of the closing `)`; null when
 * there is no `(` at `pos`.
 */
export function parenList(b: Uint8Array, pos: number): { items: Token[]; end: number } | null {
  const open = nextToken(b, pos);
  if (!isPunct(b, open, '(')) return null;
  const items: Token[] = [];
  let depth = 0;
  let expectItem = true;
  let at = open.end;
  for (;;) {
    const t = nextToken(b, at);
    if (t.kind === Tok.Eof) return null;
    at = t.end;
    if (expectItem && !(depth === 0 && isPunct(b, t, ')'))) {
      items.push(t);
      expectItem = false;
    }
    if (t.kind !== Tok.Punct) continue;
    const c = b[t.start];
    if (c === Ch.LParen || c === Ch.LBracket) depth++;
    else if (c === Ch.RParen || c === Ch.RBracket) {
      if (depth === 0) return { items, end: t.end };
      depth--;
    } else if (c === Ch.Comma && depth === 0) expectItem = true;
  }
}
