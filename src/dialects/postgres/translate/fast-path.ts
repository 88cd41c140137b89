import { TouchMatcher } from '../../../versions/touch-matcher.ts';
import type { VersionSchema } from '../../../versions/version-schema.ts';
import { CATALOG_WORDS } from './catalog-views.ts';
import { NAME_LITERAL_WORDS } from './name-literals.ts';

// One matcher per version object: a new version map brings new objects, and the old ones go with it.
const matchers = new WeakMap<VersionSchema, TouchMatcher>();

/**
 * The PostgreSQL fast path: the version's own test (names of migrating
 * tables) widened, for a version that has migrating tables, to the words
 * of catalog reads and of name constants, which can show a migrating table
 * without naming it (`WHERE table_schema = $1`, `$1::regclass`). Still one
 * scan of the text; a version with nothing migrating passes everything.
 */
export function pgMayTouch(schema: VersionSchema, sql: string): boolean {
  if (schema.identity) return false;
  let m = matchers.get(schema);
  if (!m) {
    m = new TouchMatcher([...schema.migratingNames, ...NAME_LITERAL_WORDS, ...CATALOG_WORDS]);
    matchers.set(schema, m);
  }
  return m.test(sql);
}
