import { scanSync } from 'libpg-query';

const quoted = new Map<string, string>();
const PLAIN = /^[a-z_][a-z0-9_$]*$/;
// keywordKind from the scanner: 0 none, 1 unreserved; higher kinds are not
// usable as a bare column or table name everywhere.
const UNRESERVED = 1;

/**
 * An identifier as PostgreSQL must read it back as exactly `name`: bare when
 * it is lower case and no keyword that could change the parse, else
 * double-quoted. Memoized: names come from the schema, a small set.
 *
 * @example
 * quoteIdent('full_name') // full_name
 * quoteIdent('Name')      // "Name"
 * quoteIdent('order')     // "order"
 */
export function quoteIdent(name: string): string {
  let out = quoted.get(name);
  if (out === undefined) {
    out = PLAIN.test(name) && isPlainWord(name) ? name : `"${name.replaceAll('"', '""')}"`;
    quoted.set(name, out);
  }
  return out;
}

function isPlainWord(name: string): boolean {
  const tokens = scanSync(name).tokens;
  return tokens.length === 1 && (tokens[0]?.keywordKind ?? 99) <= UNRESERVED;
}
