/**
 * The migration engine's public API, for the CLI, the admin console and the
 * proxy. Start here:
 *
 * - `MigrationEngine` (`connect`, `dryRun`, `start`, `resume`, `complete`,
 *   `rollback`, `status`, `history`, `versions`)
 * - `loadMigrationFile` / `parseMigration` (validation without a database)
 * - `versionHistory` and its types: how each schema version sees each table
 * - `BackfillThrottle`: what the latency-aware controller implements
 */
export type { Action, BackfillTask } from './actions.ts';
export type { BackfillProgress, BatchSizing } from './backfill.ts';
export type { SchemaChange } from './changes.ts';
export type { LockPolicy, MigrationCapabilities, MigrationConnection, MigrationDialect } from './dialect.ts';
export { DEFAULT_LOCK_POLICY } from './dialect.ts';
export {
  type DryRun,
  type EngineEvent,
  type EngineOptions,
  MigrationEngine,
  type MigrationStatus,
  type StartOptions,
} from './engine.ts';
export {
  BackfillKeyError,
  LockTimeoutError,
  MigrationError,
  MigrationLockedError,
  MigrationStateError,
  MigrationStepError,
  MigrationValidationError,
} from './errors.ts';
export {
  type Migration,
  type MigrationOperation,
  migrationFileSchema,
  type OperationKind,
  operationKinds,
} from './format.ts';
export type { SchemaModel } from './model.ts';
export { loadMigrationFile, parseMigration, parseMigrationText } from './parse.ts';
export { type MigrationPlan, planMigration } from './planner.ts';
export { type MigrationRecord, PHASES, type Phase } from './state.ts';
export type { SwitchGate, SwitchInfo, SwitchLease } from './switch-gate.ts';
export {
  type BackfillThrottle,
  type BatchGrant,
  type BatchReport,
  type BatchRequest,
  passThroughThrottle,
} from './throttle.ts';
export {
  describeVersion,
  type SchemaVersion,
  type VersionColumn,
  type VersionHistory,
  type VersionTable,
  versionHistory,
} from './version-history.ts';
