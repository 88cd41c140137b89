/**
 * A case-insensitive search for any of `words` (lower case ASCII) in bytes
 * [start, end): the relays' cheap test on raw statement bytes before they
 * decode a text that may need a closer look. ASCII case folding only, as a
 * non-Unicode `/word/i` RegExp matches.
 *
 * @example
 * mentions(payload, 1, payload.length, ['kill']) // false for "SELECT 1"
 */
export function mentions(b: Buffer, start: number, end: number, words: readonly string[]): boolean {
  for (let i = start; i < end; i++) {
    const c = lower(b[i]!);
    for (const w of words) {
      if (c !== w.charCodeAt(0) || i + w.length > end) continue;
      let k = 1;
      while (k < w.length && lower(b[i + k]!) === w.charCodeAt(k)) k++;
      if (k === w.length) return true;
    }
  }
  return false;
}

/** An ASCII capital as its small letter; any other byte (`_` in `sql_mode`) as it is. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}
