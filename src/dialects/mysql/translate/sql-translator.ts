import type { SqlTranslator } from '../../../proxy/router.ts';
import type { SessionInfo } from '../../../proxy/session.ts';
import { TranslationError, type VersionMap } from '../../../versions/index.ts';
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

/** ANSI_QUOTES as the session follows it (unknown after a sql_mode change the proxy did not see: off). */
const ansiQuotesOf = (session: SessionInfo) => session.sqlContext.ansiQuotes === true;
/** Backslash escapes: off when the server reports NO_BACKSLASH_ESCAPES (kept as standardConformingStrings). */
const backslashEscapesOf = (session: SessionInfo) => !session.sqlContext.standardConformingStrings;

/**
 * How a MySQL session's server reads its text, from what the session
 * follows: its current database, NO_BACKSLASH_ESCAPES (the server's
 * status flag, kept as standardConformingStrings) and ANSI_QUOTES when
 * known. lower_case_table_names is 0 (the Linux default) unless given.
 */
export function mysqlSessionContext(
  session: SessionInfo,
  lowerCaseTableNames: 0 | 1 | 2 = 0,
): MysqlSqlContext {
  return {
    ...defaultMysqlContext(session.database),
    ansiQuotes: ansiQuotesOf(session),
    backslashEscapes: backslashEscapesOf(session),
    lowerCaseTableNames,
  };
}

const sessionContexts = new WeakMap<SessionInfo, MysqlSqlContext>();

/**
 * mysqlSessionContext, kept per session while what it is built from holds:
 * the same object each statement, so the translator's cache key part for
 * it is built once, not per statement.
 */
function keptSessionContext(session: SessionInfo): MysqlSqlContext {
  const kept = sessionContexts.get(session);
  if (
    kept !== undefined &&
    kept.database === session.database &&
    kept.ansiQuotes === ansiQuotesOf(session) &&
    kept.backslashEscapes === backslashEscapesOf(session)
  )
    return kept;
  const context = mysqlSessionContext(session);
  sessionContexts.set(session, context);
  return context;
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
  const contextOf = options.contextOf ?? keptSessionContext;
  let translator: MysqlTranslator | null = null;
  return {
    translate(version, sql, session) {
      if (!translator) return null;
      const context = contextOf(session);
      const sent = translator.rewrite(version, sql, context);
      if (session.sqlContext.ansiQuotes === null && sql.includes('"')) {
        // The session changed sql_mode to something the proxy did not see: both readings must agree.
        const other = translator.rewrite(version, sql, { ...context, ansiQuotes: !context.ansiQuotes });
        if (other !== sent) {
          throw new TranslationError(
            'unsupported',
            version,
            'statement',
            'the session changed sql_mode, so the proxy cannot tell whether "..." quotes an identifier (ANSI_QUOTES) here; use `backquotes` for identifiers and single quotes for strings',
          );
        }
      }
      return sent === null ? null : { sql: sent };
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
