/**
 * Turns a parsed migration and the schema model before it into the ordered
 * actions of every phase. Pure: a dry run is this plus rendering, and a
 * restarted runner rebuilds the identical plan from the model snapshot the
 * state store kept.
 */
import type { Action, BackfillTask } from './actions.ts';
import type { SchemaChange } from './changes.ts';
import type { MigrationCapabilities } from './dialect.ts';
import { MigrationValidationError } from './errors.ts';
import type { Migration, OperationKind } from './format.ts';
import { cloneModel, type SchemaModel } from './model.ts';
import { Claims, type OperationDefinition, type PlanContext } from './operation.ts';
import { operations } from './operations/index.ts';

export interface PlannedAction {
  /** Index of the operation in the file. */
  op: number;
  kind: OperationKind;
  action: Action;
}

export interface MigrationPlan {
  migration: string;
  schema: string;
  /** expanding */
  start: PlannedAction[];
  /** backfilling: one task per table, assignments of all operations merged */
  backfill: BackfillTask[];
  /** validating */
  verify: PlannedAction[];
  /** contracting */
  complete: PlannedAction[];
  /** rolling_back */
  rollback: PlannedAction[];
  changes: SchemaChange[];
  before: SchemaModel;
  after: SchemaModel;
}

/**
 * Renames run after every other contract action, column renames before table
 * renames: the other actions of the migration name objects by their physical
 * names of the expand phase, which stay valid until the renames.
 *
 * Without transactional DDL each action commits on its own, and the engine
 * holds the proxies' statements from the first action that changes what a
 * client statement meets to the end (see `switchingTail` in engine.ts). So
 * setting NOT NULL, the one contract action that rewrites the table and may
 * run for minutes, goes first: it runs while the sync triggers still carry
 * every write over, outside the hold, which only the quick drops and
 * renames share.
 */
function completeRank(action: Action, caps: MigrationCapabilities): number {
  if (action.kind === 'set_not_null' && !caps.transactionalDdl) return -1;
  if (action.kind === 'rename_column') return 1;
  if (action.kind === 'rename_table') return 2;
  return 0;
}

function mergeBackfill(tasks: BackfillTask[]): BackfillTask[] {
  const byTable = new Map<string, BackfillTask>();
  for (const t of tasks) {
    const known = byTable.get(t.table);
    if (known) known.assignments.push(...t.assignments);
    else byTable.set(t.table, { ...t, assignments: [...t.assignments] });
  }
  return [...byTable.values()];
}

/**
 * Validates every operation against the model and plans all phases.
 * Throws `MigrationValidationError` (with `issues`) naming file, operation
 * index and field; nothing touches a database.
 *
 * @example
 * const plan = planMigration(migration, await conn.introspect('public'), dialect.capabilities);
 */
export function planMigration(
  migration: Migration,
  before: SchemaModel,
  caps: MigrationCapabilities,
  file: string = migration.file,
): MigrationPlan {
  const model = cloneModel(before);
  const claims = new Claims();
  const plan: MigrationPlan = {
    migration: migration.name,
    schema: before.schema,
    start: [],
    backfill: [],
    verify: [],
    complete: [],
    rollback: [],
    changes: [],
    before,
    after: model,
  };
  const rollbacks: PlannedAction[][] = [];
  const backfill: BackfillTask[] = [];
  migration.operations.forEach((operation, index) => {
    const issues: MigrationValidationError[] = [];
    const ctx: PlanContext = {
      migration: migration.name,
      file,
      op: index,
      caps,
      model,
      claims,
      issue: (field, reason) =>
        issues.push(
          new MigrationValidationError(
            file,
            index,
            field ? `${operation.kind}.${field}` : operation.kind,
            reason,
          ),
        ),
    };
    const def = operations[operation.kind] as OperationDefinition<typeof operation.kind>;
    const body = operation.body as never;
    def.validate(body, ctx);
    if (issues.length > 0) throw MigrationValidationError.aggregate(issues);
    const tag = (action: Action): PlannedAction => ({ op: index, kind: operation.kind, action });
    const start = def.start(body, ctx);
    const verify = def.verify(body, ctx);
    const complete = def.complete(body, ctx);
    const rollback = def.rollback(body, ctx);
    // Refused before anything runs: an action the engine cannot do online must not be found halfway through.
    if (caps.refuse) {
      const seen = new Set<string>();
      for (const action of [...start, ...verify, ...complete, ...rollback]) {
        const refusal = caps.refuse(action, model);
        if (!refusal || seen.has(refusal.reason)) continue;
        seen.add(refusal.reason);
        ctx.issue(refusal.field ?? '', refusal.reason);
      }
      if (issues.length > 0) throw MigrationValidationError.aggregate(issues);
    }
    plan.start.push(...start.map(tag));
    backfill.push(...def.backfill(body, ctx));
    plan.verify.push(...verify.map(tag));
    plan.complete.push(...complete.map(tag));
    rollbacks.push(rollback.map(tag));
    plan.changes.push(...def.apply(body, ctx));
  });
  plan.backfill = mergeBackfill(backfill);
  plan.complete = plan.complete
    .map((a, i) => ({ a, i }))
    .sort((x, y) => completeRank(x.a.action, caps) - completeRank(y.a.action, caps) || x.i - y.i)
    .map((x) => x.a);
  plan.rollback = rollbacks.reverse().flat();
  return plan;
}
