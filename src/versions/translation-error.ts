/**
 * A statement that touches a migrating object and cannot be translated
 * safely for the session's version. The proxy answers it with an error (the
 * statement never reaches the database) and the session stays usable.
 * Dialect-neutral: `kind` says what went wrong; `sqlstate` is the
 * PostgreSQL code, and the MySQL side maps `kind` to its error numbers.
 *
 * @example
 * try { plan = translator.translate(version, sql); }
 * catch (e) { if (e instanceof TranslationError) sendError(e.sqlstate, e.message); else throw e; }
 */
export type TranslationErrorKind =
  /** The construct cannot be rewritten safely (SQLSTATE 0A000). */
  | 'unsupported'
  /** The version does not have this column (42703). */
  | 'undefined_column'
  /** The version does not have this table (42P01). */
  | 'undefined_table'
  /** An unqualified column matches more than one table (42702). */
  | 'ambiguous_column'
  /** The session's version is not in the version map (22023). */
  | 'unknown_version'
  /** The statement does not parse, and it may name a migrating table (42601). */
  | 'syntax_error';

const SQLSTATE: Record<TranslationErrorKind, string> = {
  unsupported: '0A000',
  undefined_column: '42703',
  undefined_table: '42P01',
  ambiguous_column: '42702',
  unknown_version: '22023',
  syntax_error: '42601',
};

export class TranslationError extends Error {
  /** The PostgreSQL SQLSTATE for `kind`. */
  readonly sqlstate: string;

  constructor(
    readonly kind: TranslationErrorKind,
    /** The version the statement was written for. */
    readonly version: string,
    /** The object in question as the client wrote it (`users`, `users.email`). */
    readonly object: string,
    /** Why, in words a client developer can act on. */
    readonly reason: string,
    /** Byte offset in the statement text, or -1. */
    readonly position = -1,
  ) {
    super(`shiftgate: ${object}: ${reason} (schema version "${version}")`);
    this.name = 'TranslationError';
    this.sqlstate = SQLSTATE[kind];
  }
}
