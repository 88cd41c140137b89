import type { SqlTranslator } from '../../proxy/router.ts';
import type { VersionMap } from '../../versions/index.ts';
import { reservedSettingChange } from './reserved-settings.ts';
import { loadPgParser, PgTranslator } from './translate/index.ts';

/** The PostgreSQL translator behind the router's dialect-neutral interface. */
export async function createPgSqlTranslator(): Promise<SqlTranslator> {
  await loadPgParser();
  let translator: PgTranslator | null = null;
  return {
    translate(version, sql, session) {
      if (!translator) return null;
      const plan = translator.translate(version, sql, session);
      return plan.rewritten ? plan : null;
    },
    setVersionMap(map: VersionMap) {
      if (translator) translator.setVersionMap(map);
      else translator = new PgTranslator(map);
    },
    reservedSettingChange,
    cacheCounters() {
      return { hits: translator?.counters.hits ?? 0, misses: translator?.counters.misses ?? 0 };
    },
  };
}
