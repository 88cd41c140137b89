/**
 * The contract of one migration operation (one file per kind under
 * `operations/`): data in, ordered idempotent actions out, and a model update.
 * Every method receives the schema model of the version *before* the
 * operation; only `apply` changes it.
 */
import type { Action, BackfillTask } from './actions.ts';
import type { SchemaChange } from './changes.ts';
import type { MigrationCapabilities } from './dialect.ts';
import type { OperationBody, OperationKind } from './format.ts';
import { findTable, type SchemaModel, type TableModel } from './model.ts';

/** How an operation uses a table or column; two uses in one migration must be compatible. */
export type Use = 'create' | 'rename' | 'drop' | 'shadow' | 'modify' | 'read' | 'add';

/**
 * Which uses of one object may follow one another inside a migration.
 * Renames, drops and shadow columns are carried out at complete (renames
 * last of all), so a later operation must not build on an object that an
 * earlier one drops or shadows; reads (indexes), in-place changes (default,
 * comment) and additions can follow anything that keeps the object in place.
 */
const FOLLOWERS: Record<Use, readonly Use[]> = {
  create: ['read', 'modify', 'add', 'rename'],
  add: ['read', 'modify', 'add', 'rename'],
  read: ['read', 'modify', 'add', 'rename'],
  modify: ['read', 'modify', 'add', 'rename'],
  rename: ['read', 'modify', 'add'],
  shadow: [],
  drop: [],
};

function compatible(previous: Use, next: Use): boolean {
  return FOLLOWERS[previous].includes(next);
}

export class Claims {
  private readonly uses = new Map<string, { op: number; use: Use }[]>();

  /**
   * Records `use` of `key` by operation `op`; returns a reason when it
   * conflicts with an earlier operation of the same migration.
   */
  claim(key: string, op: number, use: Use): string | null {
    const list = this.uses.get(key) ?? [];
    for (const prev of list) {
      if (!compatible(prev.use, use))
        return `conflicts with operation ${prev.op} (${prev.use}) in the same migration; split them into two migrations`;
    }
    list.push({ op, use });
    this.uses.set(key, list);
    return null;
  }

  /** True when `key` was created by this migration (a new table has no old-version writers). */
  created(key: string): boolean {
    return (this.uses.get(key) ?? []).some((u) => u.use === 'create');
  }
}

export interface PlanContext {
  /** The migration's name: the schema version its new-version sessions bind to. */
  migration: string;
  file: string;
  /** Index of the operation in the file. */
  op: number;
  caps: MigrationCapabilities;
  /** The model before this operation (after the earlier operations of the migration). */
  model: SchemaModel;
  claims: Claims;
  /** Records a validation problem at `field` (dotted path after the operation kind). */
  issue(field: string, reason: string): void;
}

export const tableKey = (table: string) => `table:${table}`;
export const columnKey = (table: string, column: string) => `column:${table}.${column}`;

/** Looks a table up, reporting `field` when it is missing. */
export function requireTable(ctx: PlanContext, name: string, field: string): TableModel | undefined {
  const table = findTable(ctx.model, name);
  if (!table) ctx.issue(field, `table "${name}" does not exist`);
  return table;
}

/** Claims an object for this operation, reporting `field` on conflict. */
export function claim(ctx: PlanContext, key: string, use: Use, field: string): void {
  const conflict = ctx.claims.claim(key, ctx.op, use);
  if (conflict) ctx.issue(field, conflict);
}

export interface OperationDefinition<K extends OperationKind> {
  kind: K;
  /** Checks the operation against the model and claims what it touches; reports through `ctx.issue`. */
  validate(op: OperationBody<K>, ctx: PlanContext): void;
  /** Expanding: additive, short-lock actions only. */
  start(op: OperationBody<K>, ctx: PlanContext): Action[];
  /** Rows to copy in batches after `start`. */
  backfill(op: OperationBody<K>, ctx: PlanContext): BackfillTask[];
  /** Validating: constraint validation and index builds that need the backfilled data. */
  verify(op: OperationBody<K>, ctx: PlanContext): Action[];
  /** Contracting: drop what only the old version needed, move the new into place. */
  complete(op: OperationBody<K>, ctx: PlanContext): Action[];
  /** Undoes `start` (and `verify`): the schema ends as it was before. */
  rollback(op: OperationBody<K>, ctx: PlanContext): Action[];
  /** Turns `ctx.model` into the model after this operation and names the logical changes. */
  apply(op: OperationBody<K>, ctx: PlanContext): SchemaChange[];
}

/** Defaults for operations that have nothing to do in some phases. */
export const nothing = {
  start: (): Action[] => [],
  backfill: (): BackfillTask[] => [],
  verify: (): Action[] => [],
  complete: (): Action[] => [],
  rollback: (): Action[] => [],
};
