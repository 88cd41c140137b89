/**
 * The migration half of a database dialect: renders dialect-neutral actions
 * into statements and runs them with that engine's lock handling. The
 * engine and the operations only ever talk to this interface and read its
 * capability flags; they never branch on the dialect's name.
 */

import type { NameResolution } from '../versions/name-resolution.ts';
import type { Action, BackfillTask } from './actions.ts';
import type { SchemaModel } from './model.ts';
import type { CheckpointRecord, StateStore } from './state.ts';

export interface Statement {
  sql: string;
  /** Must run outside a transaction block (e.g. concurrent index builds). */
  online?: boolean;
  /**
   * A query answering one row with a boolean `skip`: true when the effect
   * of `sql` is already there, which makes statements without an
   * `IF [NOT] EXISTS` form idempotent.
   */
  skipIf?: { sql: string; params: unknown[] };
  /**
   * For engines whose DDL must restate what the catalog already holds (a
   * column's full definition to change one attribute of it): a query whose
   * rows' `statement` column are the statements to run instead of `sql`, in
   * order (none: nothing to do). `sql` is what dry runs show.
   */
  resolve?: { sql: string; params: unknown[] };
  /**
   * For engines that cannot validate a constraint in place: the driver
   * checks the existing rows of `table` against constraint `constraint` in
   * short key-range reads (no lock that blocks writers) instead of running
   * `sql`, and fails naming the first violating row.
   */
  scan?: { schema: string; table: string; constraint: string };
}

/** Why an action cannot be carried out on an engine; `field` is the file field that asks for it, when known. */
export interface ActionRefusal {
  field: string | null;
  reason: string;
}

export interface MigrationCapabilities {
  maxIdentifierLength: number;
  /** Constraints can be added without checking existing rows and validated later. */
  notValidConstraints: boolean;
  /** Indexes can be built without blocking writes. */
  concurrentIndex: boolean;
  /** A built unique index can become a constraint without a scan. */
  attachIndexConstraint: boolean;
  transactionalDdl: boolean;
  /**
   * Actions this engine has no meaning for, or could only carry out with a
   * lock that blocks writes: asked for every planned action of every phase
   * (`model` is the schema before the action's operation), so a migration
   * is refused at validation, before anything runs.
   */
  refuse?(action: Action, model: SchemaModel): ActionRefusal | null;
}

/** How DDL waits for locks: each try waits at most `lockTimeoutMs`, then backs off and retries. */
export interface LockPolicy {
  lockTimeoutMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * A table the server estimates below this many rows is counted exactly for
 * the backfill's progress total (a short scan); a larger one takes the
 * estimate, since a count would scan it at START for a figure only progress
 * shows. Each batch raises the total to the rows done, and the last sets it
 * to them.
 */
export const EXACT_ROW_COUNT_BELOW = 100_000;

export const DEFAULT_LOCK_POLICY: LockPolicy = {
  lockTimeoutMs: 500,
  maxAttempts: 30,
  baseDelayMs: 50,
  maxDelayMs: 5000,
};

/** Exponential backoff with jitter: spreads retries of several runners / statements apart. */
export function backoffDelay(attempt: number, policy: LockPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export interface RetryNotice {
  sql: string;
  attempt: number;
  delayMs: number;
  code: string;
}

export interface BatchOutcome {
  /** Rows updated by this batch. */
  rows: number;
  checkpoint: CheckpointRecord;
}

export interface BatchRequestSpec {
  limit: number;
  lastKey: string[] | null;
  upTo: string[] | null;
  /** Recorded with the checkpoint for status readers. */
  rowsPerSecond: number;
  throttleReason: string | null;
}

export interface BackfillScope {
  schema: string;
  migration: string;
  task: BackfillTask;
}

export interface MigrationConnection {
  readonly state: StateStore;
  /**
   * The database connection is gone (the server restarted or closed it, the
   * network dropped it): every call fails from now on, and a new connection
   * is needed. Session state (the migration lock) went with it.
   */
  readonly lost: boolean;
  introspect(schema: string): Promise<SchemaModel>;
  /** What else unqualified table names may resolve to (search_path); dialects without schemas omit it. */
  nameResolution?(schema: string, names: readonly string[]): Promise<NameResolution>;
  /**
   * Runs the statements of one action in order under the lock policy, then
   * `record` (the engine's step counter), in one transaction where the
   * engine allows it (transactional DDL, no online statement), so that a
   * crash never leaves the action done but unrecorded. A lock timeout or
   * deadlock restarts the action from its first statement after a backoff
   * with jitter (its statements are idempotent); after `maxAttempts` it
   * throws `LockTimeoutError`.
   */
  runAction(
    statements: Statement[],
    policy: LockPolicy,
    onRetry?: (n: RetryNotice) => void,
    record?: () => Promise<void>,
  ): Promise<void>;
  /**
   * Server ids (PostgreSQL backend pids) of the other sessions holding a
   * lock on any of `tables` now: the transactions a switch has to wait for.
   */
  lockHolders?(schema: string, tables: string[]): Promise<number[]>;
  /** Session-level lock keeping a second runner out; false when someone else holds it. */
  tryLock(schema: string): Promise<boolean>;
  unlock(schema: string): Promise<void>;
  /**
   * The rows of the task's table for progress (the server's estimate from
   * EXACT_ROW_COUNT_BELOW rows up, counted below) and its largest key.
   */
  measure(scope: BackfillScope): Promise<{ rows: number; maxKey: string[] | null }>;
  /**
   * One batch in one short transaction: the next `limit` keys after
   * `lastKey` (up to `upTo`), their assignments, and the new checkpoint.
   * Writers' sync triggers are bypassed for this transaction only, since the
   * batch computes what they would. Retries on lock timeout / deadlock.
   */
  batch(
    scope: BackfillScope,
    request: BatchRequestSpec,
    policy: LockPolicy,
    onRetry?: (n: RetryNotice) => void,
  ): Promise<BatchOutcome>;
  /** Calls `listener` whenever any runner changes a migration record (announced by the database). */
  onStateChange(listener: () => void): Promise<void>;
  /** The worst replica's replay lag in ms, or null when there are no replicas. */
  replicaLagMs(): Promise<number | null>;
  close(): Promise<void>;
}

export interface MigrationDialect {
  /** For labels and messages only. */
  readonly name: string;
  readonly capabilities: MigrationCapabilities;
  /** Pure: the statements that carry out `action` in `schema`. */
  render(action: Action, schema: string): Statement[];
  /** One batch statement of `task`, for dry runs (keys shown as placeholders). */
  describeBackfill(task: BackfillTask, schema: string): string;
  connect(url: string): Promise<MigrationConnection>;
  /** The schema migrations apply to when the caller names none (PostgreSQL `public`, MySQL the URL's database). */
  defaultSchema(url: string): string;
}
