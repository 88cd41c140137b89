/**
 * Schema versions as the SQL translation needs them, derived from the
 * migration history in the state store.
 *
 * Every completed or in-flight migration is one schema version, named after
 * the migration; its `parent` is the version it migrates from. For each
 * version the structure says what the migration changed logically and, for
 * every table it touched, how the parent version and the new version see
 * that table while the migration is in flight:
 *
 * ```ts
 * {
 *   schema: 'public',
 *   latestCompleted: '01_create_users',   // sessions that choose nothing bind here
 *   inFlight: '02_change_email',          // at most one
 *   versions: [                           // oldest first
 *     {
 *       version: '02_change_email', parent: '01_create_users', phase: 'active',
 *       changes: [
 *         { kind: 'column_shadowed', table: 'users', column: 'email', shadow: '_shiftgate_new_email' },
 *         { kind: 'column_renamed', table: 'users', from: 'name', to: 'full_name' },
 *       ],
 *       // parent's view of each touched table (physical = logical: nothing of it moved yet)
 *       before: [{ name: 'users', physical: 'users',
 *                  columns: [{ name: 'id', physical: 'id' }, { name: 'email', physical: 'email' },
 *                            { name: 'name', physical: 'name' }] }],
 *       // this version's view while in flight: logical name -> physical column
 *       after:  [{ name: 'users', physical: 'users',
 *                  columns: [{ name: 'id', physical: 'id' },
 *                            { name: 'email', physical: '_shiftgate_new_email' },
 *                            { name: 'full_name', physical: 'name' }] }],
 *     },
 *   ],
 * }
 * ```
 *
 * Rules for a session bound to version V while migration M is in flight:
 * if V = M, translate through M's `after`; if V = M's parent (or an older
 * version, or no version), translate through M's `before` (which hides
 * columns M added, since they are absent from it). Tables not listed in
 * `before`/`after` are untouched: pass them through. Once M is completed the
 * physical schema equals M's logical one (shadow columns renamed into place),
 * so completed versions need no mapping; their `changes` remain as history.
 * `columns` lists the visible columns in order, which is what `SELECT *` and
 * INSERT without a column list expand to.
 */
import type { SchemaChange } from './changes.ts';
import type { MigrationCapabilities } from './dialect.ts';
import type { SchemaModel, TableModel } from './model.ts';
import { parseMigration } from './parse.ts';
import { planMigration } from './planner.ts';
import type { MigrationRecord, Phase } from './state.ts';

export interface VersionColumn {
  /** The column's name in this version. */
  name: string;
  /** The physical column this version reads and writes while the migration is in flight. */
  physical: string;
}

export interface VersionTable {
  /** The table's name in this version. */
  name: string;
  /** The physical table while the migration is in flight. */
  physical: string;
  /** Visible columns in order. */
  columns: VersionColumn[];
}

export interface SchemaVersion {
  /** The migration's name, which is the version name sessions bind to. */
  version: string;
  parent: string | null;
  phase: Phase;
  startedAt: Date;
  activeAt: Date | null;
  completedAt: Date | null;
  changes: SchemaChange[];
  /** The parent version's view of every table this migration touches. */
  before: VersionTable[];
  /** This version's view of every table this migration touches (dropped tables are absent). */
  after: VersionTable[];
}

export interface VersionHistory {
  schema: string;
  latestCompleted: string | null;
  inFlight: string | null;
  versions: SchemaVersion[];
}

function view(table: TableModel): VersionTable {
  return {
    name: table.name,
    physical: table.physical,
    columns: table.columns.map((c) => ({ name: c.name, physical: c.physical })),
  };
}

/** Logical names, in the new version, of the tables that `changes` touch; and in the old version. */
function touched(changes: SchemaChange[]): { newNames: Set<string>; oldNames: Set<string> } {
  const newNames = new Set<string>();
  const oldNames = new Set<string>();
  const renamedTo = new Map<string, string>();
  for (const c of changes) if (c.kind === 'table_renamed') renamedTo.set(c.to, c.from);
  for (const c of changes) {
    if (c.kind === 'table_renamed') {
      newNames.add(c.to);
      oldNames.add(c.from);
    } else if (c.kind === 'table_dropped') oldNames.add(c.table);
    else if (c.kind === 'table_created') newNames.add(c.table);
    else {
      newNames.add(c.table);
      oldNames.add(renamedTo.get(c.table) ?? c.table);
    }
  }
  return { newNames, oldNames };
}

/** One version's entry from its migration's stored file and model snapshot. */
export function describeVersion(
  record: Pick<
    MigrationRecord,
    'name' | 'parent' | 'phase' | 'migration' | 'schemaBefore' | 'createdAt' | 'activeAt' | 'completedAt'
  >,
  caps: MigrationCapabilities,
): SchemaVersion {
  const plan = planMigration(
    parseMigration(record.migration, `${record.name}.json`),
    record.schemaBefore,
    caps,
  );
  return describePlan(record, plan.changes, plan.before, plan.after);
}

export function describePlan(
  record: Pick<MigrationRecord, 'name' | 'parent' | 'phase' | 'createdAt' | 'activeAt' | 'completedAt'>,
  changes: SchemaChange[],
  before: SchemaModel,
  after: SchemaModel,
): SchemaVersion {
  const { newNames, oldNames } = touched(changes);
  return {
    version: record.name,
    parent: record.parent,
    phase: record.phase,
    startedAt: record.createdAt,
    activeAt: record.activeAt,
    completedAt: record.completedAt,
    changes,
    before: before.tables.filter((t) => oldNames.has(t.name)).map(view),
    after: after.tables.filter((t) => newNames.has(t.name)).map(view),
  };
}

/**
 * The version history of one schema from its migration records (as
 * `StateStore.list` returns them): completed and in-flight migrations,
 * oldest first; rolled-back ones are not versions.
 */
export function versionHistory(
  schema: string,
  records: MigrationRecord[],
  caps: MigrationCapabilities,
): VersionHistory {
  const versions = records.filter((r) => r.phase !== 'rolled_back').map((r) => describeVersion(r, caps));
  const completed = records.filter((r) => r.phase === 'completed');
  const latest = completed
    .sort((a, b) => (a.completedAt?.getTime() ?? 0) - (b.completedAt?.getTime() ?? 0))
    .at(-1);
  return {
    schema,
    latestCompleted: latest?.name ?? null,
    inFlight: records.find((r) => r.phase !== 'completed' && r.phase !== 'rolled_back')?.name ?? null,
    versions,
  };
}
