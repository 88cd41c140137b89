import { scanSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';

// Bounded: aliases are client-chosen, so an unbounded memo would grow with every new alias a
// client invents. Schema names, the hot set, fit many times over; a miss costs one scan.
const quoted = new LRUCache<string, string>({ max: 2048 });
const PLAIN = /^[a-z_][a-z0-9_$]*$/;
// keywordKind from the scanner: 0 none, 1 unreserved; higher kinds are not
// usable as a bare column or table name everywhere.
const UNRESERVED = 1;

/**
 * An identifier as PostgreSQL must read it back as exactly `name`: bare when
 * it is lower case and no keyword that could change the parse, else
 * double-quoted. Memoized in a small LRU: schema names repeat, aliases may not.
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

/** Entries in the memo of quoted names (for tests and memory checks). */
export function quotedIdentCacheSize(): number {
  return quoted.size;
}

function isPlainWord(name: string): boolean {
  const tokens = scanSync(name).tokens;
  return tokens.length === 1 && (tokens[0]?.keywordKind ?? 99) <= UNRESERVED;
}
