import { TouchMatcher } from '../../../versions/touch-matcher.ts';
import type { VersionSchema } from '../../../versions/version-schema.ts';

// One matcher per version object: a new version map brings new objects, and the old ones go with it.
const matchers = new WeakMap<VersionSchema, TouchMatcher>();

/**
 * The MySQL fast path: could this text name a table the version sees
 * differently from the database? The version's names, plus the spelling a
 * backquoted identifier gives a name that holds a backquote (doubled).
 * Case-insensitive, so it holds under every lower_case_table_names.
 */
export function mysqlMayTouch(schema: VersionSchema, sql: string): boolean {
  if (schema.identity) return false;
  let m = matchers.get(schema);
  if (!m) {
    const words = [...schema.migratingNames];
    for (const w of schema.migratingNames) if (w.includes('`')) words.push(w.replaceAll('`', '``'));
    m = new TouchMatcher(words);
    matchers.set(schema, m);
  }
  return m.test(sql);
}
