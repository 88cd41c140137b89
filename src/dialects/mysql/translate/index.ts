/**
 * Versioned SQL translation for MySQL / MariaDB sessions: statements written
 * for one schema version rewritten onto the physical schema (DESIGN.md
 * section 4), with the PostgreSQL translator's contract and plan shape.
 */
export { contextKey, defaultMysqlContext, type MysqlSqlContext, sqlModeFlags } from './context.ts';
export { type MysqlErrorAnswer, mysqlErrorOf } from './error-codes.ts';
export { mysqlMayTouch } from './fast-path.ts';
export {
  createMysqlSqlTranslator,
  type MysqlSqlTranslatorOptions,
  mysqlSessionContext,
} from './sql-translator.ts';
export {
  MysqlTranslator,
  type MysqlTranslatorCounters,
  type MysqlTranslatorOptions,
  translateMysqlUncached,
} from './translator.ts';
