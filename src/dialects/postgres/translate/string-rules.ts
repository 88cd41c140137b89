import { nextToken, skipTrivia, Tok } from './lexer.ts';

/**
 * With `standard_conforming_strings = off`, a backslash in a plain string
 * constant (`'...'`, `N'...'`) escapes the next character, so `'O\'Brien'`
 * is one constant; the parser the translator uses always reads strings the
 * standard way, where that text ends the constant at `\'`. Rather than
 * parse differently, the translator reads an equivalent text of the same
 * byte length in which every `\'` inside a plain constant is written `''`
 * (the standard spelling of the same quote): token boundaries, locations and
 * every identifier stay where they are, so edits computed on this text apply
 * to the original bytes unchanged. Other escapes (`\n`, `\\`) cannot end a
 * constant and are left as they are; `backslash_quote` and
 * `escape_string_warning` only decide whether the server accepts or warns,
 * which it still does itself.
 *
 * @example
 * standardStrings(Buffer.from("SELECT 'O\\'Brien' FROM t"))?.toString() // "SELECT 'O''Brien' FROM t"
 */
export function standardStrings(bytes: Buffer): Buffer | null {
  if (!bytes.includes(0x5c)) return null;
  let out: Buffer | null = null;
  let pos = 0;
  while (pos < bytes.length) {
    const start = skipTrivia(bytes, pos);
    const c = bytes[start];
    if (c === undefined) break;
    const quote = c === 0x27 ? start : (c | 0x20) === 0x6e && bytes[start + 1] === 0x27 ? start + 1 : -1;
    if (quote < 0) {
      const t = nextToken(bytes, start);
      pos = t.end > start ? t.end : start + 1;
      if (t.kind === Tok.Eof) break;
      continue;
    }
    // A plain constant read the pre-standard way: backslash pairs, doubled quotes, then the closing quote.
    let at = quote + 1;
    while (at < bytes.length) {
      const b = bytes[at]!;
      if (b === 0x5c) {
        if (bytes[at + 1] === 0x27) {
          out ??= Buffer.from(bytes);
          out[at] = 0x27;
        }
        at += 2;
      } else if (b === 0x27) {
        if (bytes[at + 1] === 0x27) at += 2;
        else break;
      } else at++;
    }
    pos = at + 1;
  }
  return out;
}
