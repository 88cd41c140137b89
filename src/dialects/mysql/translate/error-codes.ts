import type { TranslationError, TranslationErrorKind } from '../../../versions/translation-error.ts';

/** A MySQL error packet's contents: error number, SQLSTATE, message. */
export interface MysqlErrorAnswer {
  readonly code: number;
  readonly sqlstate: string;
  readonly message: string;
}

/**
 * The MySQL error a refused translation answers with: the numbers the
 * server itself would use for the same mistake, so client libraries and
 * ORMs classify it the usual way (unknown column, unknown table, ...), and
 * ER_NOT_SUPPORTED_YET for what only the migration makes impossible.
 */
const CODES: Record<TranslationErrorKind, { code: number; sqlstate: string }> = {
  unsupported: { code: 1235, sqlstate: '42000' }, // ER_NOT_SUPPORTED_YET
  undefined_column: { code: 1054, sqlstate: '42S22' }, // ER_BAD_FIELD_ERROR
  undefined_table: { code: 1146, sqlstate: '42S02' }, // ER_NO_SUCH_TABLE
  ambiguous_column: { code: 1052, sqlstate: '23000' }, // ER_NON_UNIQ_ERROR
  unknown_version: { code: 1231, sqlstate: '42000' }, // ER_WRONG_VALUE_FOR_VAR, as the router answers it
  syntax_error: { code: 1064, sqlstate: '42000' }, // ER_PARSE_ERROR
};

export function mysqlErrorOf(e: TranslationError): MysqlErrorAnswer {
  const { code, sqlstate } = CODES[e.kind];
  const message =
    e.kind === 'unsupported'
      ? `not supported during migration (schema version "${e.version}") of ${e.object}: ${e.reason}`
      : e.message;
  return { code, sqlstate, message };
}
