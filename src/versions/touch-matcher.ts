/**
 * The translator's fast path: "could this statement text name one of these
 * tables?" answered with one case-insensitive regular expression scan, no
 * parse. A plain substring search is enough to never miss a reference:
 * unquoted identifiers fold case (the `i` flag covers that), quoted ones
 * appear verbatim between the quotes, schema-qualified ones still contain
 * the name, and over-long ones (truncated by the server) start with it.
 * Only two spellings hide a name: a doubled quote inside a quoted identifier
 * (matched by adding the doubled spelling) and Unicode escapes (`U&"..."`),
 * which always take the slow path. Matching inside string literals or
 * comments gives false positives, which only cost a parse.
 *
 * @example
 * new TouchMatcher(['users']).test('SELECT * FROM "USERS"') // true (false positive: fine)
 */
export class TouchMatcher {
  private readonly re: RegExp | null;

  constructor(words: Iterable<string>) {
    const alternatives = new Set<string>();
    for (const word of words) {
      if (word === '') continue;
      alternatives.add(escapeRegExp(word));
      if (word.includes('"')) alternatives.add(escapeRegExp(word.replaceAll('"', '""')));
    }
    if (alternatives.size === 0) {
      this.re = null;
      return;
    }
    // Longest first is not needed for a yes/no answer; sorted for a stable pattern.
    const pattern = [...alternatives].sort().join('|');
    this.re = new RegExp(`${pattern}|u&"`, 'i');
  }

  /** True when there is nothing to look for: every text passes. */
  get empty(): boolean {
    return this.re === null;
  }

  test(text: string): boolean {
    return this.re?.test(text) === true;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
