/**
 * The error family of the migration layer. Every class carries the fields a
 * caller needs to act on it (the admin console shows them, tests assert them);
 * messages are for humans and may change.
 */
import { redactSecrets } from './redact.ts';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * A migration file that does not validate: `op` is the zero-based index of the
 * operation (null for file-level problems such as unparseable YAML) and
 * `field` the dotted path inside the operation (`add_column.column.type`).
 *
 * When a file has several problems, `issues` lists all of them (this error
 * is the first).
 */
export class MigrationValidationError extends MigrationError {
  override name = 'MigrationValidationError';
  issues: MigrationValidationError[] = [this];

  constructor(
    readonly file: string,
    readonly op: number | null,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}: ${op === null ? '' : `operation ${op}: `}${field ? `${field}: ` : ''}${reason}`);
  }

  /** One error that stands for all of `issues` (which must not be empty). */
  static aggregate(issues: MigrationValidationError[]): MigrationValidationError {
    const first = issues[0]!;
    first.issues = issues;
    if (issues.length > 1) first.message += ` (and ${issues.length - 1} more)`;
    return first;
  }
}

/** A DDL statement could not take its lock within `lockTimeoutMs` after `attempts` tries. */
export class LockTimeoutError extends MigrationError {
  override name = 'LockTimeoutError';
  /** The statement, with password literals masked (the message is logged and stored). */
  readonly statement: string;
  constructor(
    statement: string,
    readonly attempts: number,
    readonly lockTimeoutMs: number,
  ) {
    const shown = redactSecrets(statement);
    super(`could not acquire the lock for "${shown}" within ${lockTimeoutMs} ms after ${attempts} attempts`);
    this.statement = shown;
  }
}

/** Another runner holds the migration lock of this schema. */
export class MigrationLockedError extends MigrationError {
  override name = 'MigrationLockedError';
  constructor(readonly schema: string) {
    super(`another Shiftgate migration runner holds the lock for schema "${schema}"`);
  }
}

/**
 * The request does not fit the migration's current phase (starting a second
 * migration while one is active, completing one that is not active, ...).
 */
export class MigrationStateError extends MigrationError {
  override name = 'MigrationStateError';
  constructor(
    readonly migration: string | null,
    readonly phase: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** A table the backfill must walk has no primary key and no unique not-null key. */
export class BackfillKeyError extends MigrationError {
  override name = 'BackfillKeyError';
  constructor(readonly table: string) {
    super(
      `table "${table}" has no primary key and no unique index over NOT NULL columns; Shiftgate cannot backfill it in batches`,
    );
  }
}

/**
 * A database action failed for a reason other than a lock timeout; `sql` is
 * the statement. Password literals are masked in `sql` and in the message
 * (MySQL quotes the statement in its own syntax errors), since both reach
 * the log, the state tables and SHOW SHIFTGATE MIGRATIONS.
 */
export class MigrationStepError extends MigrationError {
  override name = 'MigrationStepError';
  readonly sql: string;
  constructor(
    readonly migration: string,
    readonly phase: string,
    sql: string,
    override readonly cause: unknown,
  ) {
    const shown = redactSecrets(sql);
    const reason = redactSecrets((cause as Error)?.message ?? String(cause));
    super(`${migration} (${phase}): ${reason}\n  while running: ${shown}`);
    this.sql = shown;
  }
}
