/**
 * The migration state store: history, phases and backfill checkpoints, kept
 * in the upstream database (a `shiftgate` schema) so that any process can
 * pick a migration up after a crash and every proxy reads the same phase.
 * The dialect supplies the implementation; this file is the contract.
 */
import type { SchemaModel } from './model.ts';

/** DESIGN.md section 3. */
export const PHASES = [
  'pending',
  'expanding',
  'backfilling',
  'validating',
  'active',
  'contracting',
  'completed',
  'rolling_back',
  'rolled_back',
] as const;
export type Phase = (typeof PHASES)[number];

export interface MigrationRecord {
  /** The database schema the migration changes. */
  schema: string;
  name: string;
  /** The latest completed migration when this one started (its old version). */
  parent: string | null;
  phase: Phase;
  /**
   * False while the phase's work is running, true once it finished: written
   * before and after every transition, so a restart knows whether to redo it.
   */
  phaseDone: boolean;
  /** Actions of the current phase already done (the restart resumes after them). */
  step: number;
  /** The file as parsed, replayed on restart. */
  migration: unknown;
  /** The schema model introspected before the migration started; plans are rebuilt from it. */
  schemaBefore: SchemaModel;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  activeAt: Date | null;
  completedAt: Date | null;
  /** Client latency around the migration, written by the proxy that ran it (opaque to the engine). */
  latencyReport: unknown;
}

export interface CheckpointRecord {
  table: string;
  keyColumns: string[];
  /** The last key done, as text values in key order; null before the first batch. */
  lastKey: string[] | null;
  /** The largest key when the backfill began: rows above it were written with the triggers in place. */
  upTo: string[] | null;
  rowsDone: number;
  rowsTotal: number;
  done: boolean;
  batchSize: number;
  rowsPerSecond: number;
  throttleReason: string | null;
  startedAt: Date;
  updatedAt: Date;
}

export interface PhaseUpdate {
  phaseDone?: boolean;
  step?: number;
  error?: string | null;
}

export interface StateStore {
  /** Creates the `shiftgate` schema and tables when missing (call under the migration lock). */
  init(): Promise<void>;
  get(schema: string, name: string): Promise<MigrationRecord | null>;
  /** The migration in flight in `schema`, if any (at most one). */
  inFlight(schema: string): Promise<MigrationRecord | null>;
  latestCompleted(schema: string): Promise<string | null>;
  /** Every migration of `schema`, oldest first. */
  list(schema: string): Promise<MigrationRecord[]>;
  create(
    record: Pick<MigrationRecord, 'schema' | 'name' | 'parent' | 'migration' | 'schemaBefore'>,
  ): Promise<void>;
  /** Forgets a rolled-back migration so its name can be started again. */
  remove(schema: string, name: string): Promise<void>;
  setPhase(schema: string, name: string, phase: Phase, update?: PhaseUpdate): Promise<void>;
  update(schema: string, name: string, update: PhaseUpdate): Promise<void>;
  setLatencyReport(schema: string, name: string, report: unknown): Promise<void>;
  /** Appends to the event log (phase transitions, retries, errors). */
  event(schema: string, name: string, phase: Phase, event: string, detail?: unknown): Promise<void>;
  checkpoints(schema: string, name: string): Promise<CheckpointRecord[]>;
  /** Creates the checkpoint of one table unless it exists (a restart keeps the old one). */
  initCheckpoint(
    schema: string,
    name: string,
    table: string,
    init: { keyColumns: string[]; upTo: string[] | null; rowsTotal: number; batchSize: number },
  ): Promise<CheckpointRecord>;
}
