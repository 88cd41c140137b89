import type { SqlTranslator } from '../../../proxy/router.ts';
import type { SessionInfo } from '../../../proxy/session.ts';
import type { VersionMap } from '../../../versions/index.ts';
import { defaultMysqlContext, type MysqlSqlContext } from './context.ts';
import { mysqlErrorOf } from './error-codes.ts';
import { MysqlTranslator, type MysqlTranslatorOptions } from './translator.ts';

export interface MysqlSqlTranslatorOptions extends MysqlTranslatorOptions {
  /**
   * How the session's server reads its text right now. The default knows
   * only the session's current database and assumes the server's default
   * sql_mode: a session that tracks sql_mode (ANSI_QUOTES,
   * NO_BACKSLASH_ESCAPES) and the server's lower_case_table_names passes
   * its own.
   */
  contextOf?: (session: SessionInfo) => MysqlSqlContext;
}

/**
 * The MySQL translator behind the router's dialect-neutral interface, the
 * way the PostgreSQL dialect plugs its own in (`createTranslator`). The
 * router asks it for every COM_QUERY and COM_STMT_PREPARE text of a
 * session while some version sees the schema differently; the session
 * sends the rewritten text upstream in place of the client's.
 *
 * @example
 * export const mysqlDialect: WireDialect = { ..., createTranslator: () => createMysqlSqlTranslator() };
 */
export async function createMysqlSqlTranslator(
  options: MysqlSqlTranslatorOptions = {},
): Promise<SqlTranslator> {
  const contextOf = options.contextOf ?? ((session: SessionInfo) => defaultMysqlContext(session.database));
  let translator: MysqlTranslator | null = null;
  return {
    translate(version, sql, session) {
      if (!translator) return null;
      const plan = translator.translate(version, sql, contextOf(session));
      return plan.rewritten ? plan.sql : null;
    },
    setVersionMap(map: VersionMap) {
      if (translator) translator.setVersionMap(map);
      else translator = new MysqlTranslator(map, options);
    },
    errorOf(err) {
      const { code, sqlstate } = mysqlErrorOf(err);
      return { code, sqlstate };
    },
    cacheCounters() {
      return { hits: translator?.counters.hits ?? 0, misses: translator?.counters.misses ?? 0 };
    },
  };
}
