/**
 * Shadow columns: how every change that old-version writers could violate
 * (a new type, NOT NULL, a check, a unique key, a foreign key, or a dropped
 * constraint the new version may violate) is made without breaking them.
 *
 * expand:   `_shiftgate_new_<col>` is added (nullable), with the target
 *           constraints in NOT VALID form and sync triggers running `up` for
 *           old-version writes and `down` for new-version writes;
 * backfill: every existing row gets `shadow = up(row)`;
 * validate: the constraints are validated, unique indexes built concurrently;
 * complete: the old column goes, the shadow takes its name, validated checks
 *           become NOT NULL, indexes become constraints;
 * rollback: the shadow column (and with it everything on it) goes.
 *
 * Constraints and indexes that already cover a shadowed column are carried
 * over to the shadow under temporary names, so the column keeps them.
 */
import type { Action, BackfillTask, SyncAssignment, SyncNotNull } from './actions.ts';
import type { SchemaChange } from './changes.ts';
import { BackfillKeyError } from './errors.ts';
import {
  backfillKey,
  type ColumnModel,
  type ConstraintModel,
  findColumn,
  findTable,
  type IndexModel,
  type TableModel,
} from './model.ts';
import { notNullCheckName, shadowColumnName, syncTriggerName, temporaryName } from './names.ts';
import { claim, columnKey, type PlanContext, tableKey } from './operation.ts';

export interface ShadowColumn {
  /** Logical name in the model before the operation. */
  column: string;
  type?: string | undefined;
  /** The new version's nullability; undefined keeps the column's. */
  nullable?: boolean | undefined;
  /** The new version's default; undefined keeps the column's, null drops it. */
  default?: string | null | undefined;
  comment?: string | null | undefined;
  up?: string | undefined;
  down?: string | undefined;
}

export type ShadowConstraint =
  | { type: 'check'; name: string; expression: string; noInherit: boolean }
  | {
      type: 'unique' | 'primary_key';
      name: string;
      columns: string[];
      nullsNotDistinct: boolean;
      deferrable: boolean;
      initiallyDeferred: boolean;
      include: string[];
      storageParameters: string | null;
    }
  | {
      type: 'foreign_key';
      name: string;
      columns: string[];
      refTable: string;
      refColumns: string[];
      onDelete?: string | undefined;
      onUpdate?: string | undefined;
      match?: string | undefined;
      deferrable?: boolean | undefined;
      initiallyDeferred?: boolean | undefined;
      onDeleteSetColumns?: string[] | undefined;
    };

export interface ShadowSpec {
  /** Logical table name. */
  table: string;
  columns: ShadowColumn[];
  /** Constraints the new version gains (column names are the new version's). */
  add: ShadowConstraint[];
  /** Existing constraints the new version loses: not carried over to the shadow. */
  drop: string[];
}

interface Shadowed {
  spec: ShadowColumn;
  model: ColumnModel;
  shadow: string;
  notNull: boolean;
  /** Whether the old column allows NULL: then a NOT NULL shadow needs a check until complete. */
  needsCheck: boolean;
}

interface Design {
  table: TableModel;
  key: string[];
  columns: Shadowed[];
  /** Physical old column -> shadow column. */
  renames: Record<string, string>;
  /** Logical name in the new version -> physical column the new version uses. */
  newPhysical: Record<string, string>;
  carriedConstraints: { model: ConstraintModel; temp: string }[];
  carriedIndexes: { model: IndexModel; temp: string }[];
  sync: string;
}

function involves(index: IndexModel, renames: Record<string, string>): boolean {
  return (
    index.columns.some((c) => c in renames) ||
    (index.columns.includes('') && Object.keys(renames).some((c) => index.definition.includes(c)))
  );
}

function design(spec: ShadowSpec, ctx: PlanContext): Design {
  const table = findTable(ctx.model, spec.table)!;
  const columns = spec.columns.map((c): Shadowed => {
    const model = findColumn(table, c.column)!;
    const notNull = c.nullable === undefined ? !model.nullable : !c.nullable;
    return {
      spec: c,
      model,
      shadow: shadowColumnName(ctx.caps, model.physical),
      notNull,
      needsCheck: notNull,
    };
  });
  const renames: Record<string, string> = {};
  for (const c of columns) renames[c.model.physical] = c.shadow;
  const newPhysical: Record<string, string> = {};
  for (const c of table.columns) newPhysical[c.name] = renames[c.physical] ?? c.physical;
  const carriedConstraints = table.constraints
    .filter((c) => c.type !== 'unique' && c.columns.some((x) => x in renames) && !spec.drop.includes(c.name))
    .map((model) => ({ model, temp: temporaryName(ctx.caps, model.name) }));
  const droppedIndexes = new Set(
    table.constraints.filter((c) => spec.drop.includes(c.name) && c.index).map((c) => c.index),
  );
  const carriedIndexes = table.indexes
    .filter((i) => !i.primary && involves(i, renames) && !droppedIndexes.has(i.name))
    .map((model) => ({ model, temp: temporaryName(ctx.caps, model.name) }));
  return {
    table,
    key: backfillKey(table) ?? [],
    columns,
    renames,
    newPhysical,
    carriedConstraints,
    carriedIndexes,
    sync: syncTriggerName(ctx.caps, columns.map((c) => c.model.physical).join('_')),
  };
}

/**
 * Checks that each column can be shadowed and claims them. `fields(col)`
 * names the fields where problems with the column and its `up` are reported.
 */
export function validateShadow(
  spec: ShadowSpec,
  ctx: PlanContext,
  fields: (col: string) => { column: string; up: string },
): void {
  const table = findTable(ctx.model, spec.table);
  if (!table) return;
  if (!backfillKey(table) && !ctx.claims.created(tableKey(table.name)))
    ctx.issue('table', new BackfillKeyError(table.name).message);
  claim(ctx, tableKey(table.name), 'modify', 'table');
  for (const c of spec.columns) {
    const column = findColumn(table, c.column);
    if (!column) continue;
    const { column: f, up: upField } = fields(c.column);
    if (column.generated)
      ctx.issue(f, `column "${c.column}" is an identity or generated column and cannot be changed in place`);
    const pk = table.constraints.find((k) => k.type === 'primary_key' && k.columns.includes(column.physical));
    if (pk) ctx.issue(f, `column "${c.column}" is part of the primary key "${pk.name}"`);
    const excl = table.constraints.find((k) => k.type === 'exclude' && k.columns.includes(column.physical));
    if (excl) ctx.issue(f, `column "${c.column}" is covered by the exclusion constraint "${excl.name}"`);
    for (const other of ctx.model.tables)
      for (const k of other.constraints)
        if (
          k.type === 'foreign_key' &&
          k.refTable === table.physical &&
          k.refColumns.includes(column.physical)
        )
          ctx.issue(
            f,
            `column "${c.column}" is referenced by the foreign key "${k.name}" of table "${other.name}"`,
          );
    if (c.nullable === false && column.nullable && !c.up)
      ctx.issue(
        upField,
        `column "${c.column}" allows NULL today: setting it NOT NULL needs an "up" expression for the existing NULLs`,
      );
    claim(ctx, columnKey(table.name, c.column), 'shadow', f);
  }
  // An index or constraint over columns that two operations shadow would be carried over twice.
  const physical = spec.columns
    .map((c) => findColumn(table, c.column)?.physical)
    .filter((c) => c !== undefined);
  const renames = Object.fromEntries(physical.map((p) => [p, p]));
  for (const k of table.constraints)
    if (k.columns.some((x) => x in renames) && !spec.drop.includes(k.name))
      claim(ctx, `constraint:${table.name}.${k.name}`, 'shadow', 'table');
  for (const i of table.indexes) if (involves(i, renames)) claim(ctx, `index:${i.name}`, 'shadow', 'table');
}

/** The NOT NULL checks standing in for the shadows' NOT NULL until complete, with their names. */
function notNullChecks(d: Design, ctx: PlanContext): SyncNotNull[] {
  return d.columns
    .filter((c) => c.needsCheck)
    .map((c) => ({ column: c.shadow, name: notNullCheckName(ctx.caps, c.shadow) }));
}

function upAssignment(c: Shadowed): SyncAssignment {
  return c.spec.up
    ? { target: c.shadow, expression: c.spec.up }
    : { target: c.shadow, copyFrom: c.model.physical };
}

export function shadowStart(spec: ShadowSpec, ctx: PlanContext): Action[] {
  const d = design(spec, ctx);
  const t = d.table.physical;
  const checks = notNullChecks(d, ctx);
  const out: Action[] = [];
  for (const c of d.columns) {
    out.push({
      kind: 'add_column',
      table: t,
      column: {
        name: c.shadow,
        type: c.spec.type ?? c.model.type,
        nullable: true,
        default: c.spec.default !== undefined ? c.spec.default : c.model.default,
        comment: c.spec.comment !== undefined ? c.spec.comment : c.model.comment,
      },
    });
  }
  // The trigger goes in before any constraint on the shadow, so that no write lands between them unfilled.
  out.push({
    kind: 'install_sync',
    table: t,
    name: d.sync,
    version: ctx.migration,
    columns: d.table.columns.map((c) => c.physical),
    up: d.columns.map(upAssignment),
    upBindings: d.table.columns.map((c) => ({ variable: c.physical, column: c.physical })),
    down: d.columns.map((c) =>
      c.spec.down
        ? { target: c.model.physical, expression: c.spec.down }
        : { target: c.model.physical, copyFrom: c.model.name },
    ),
    downBindings: d.table.columns.map((c) => ({ variable: c.name, column: d.newPhysical[c.name]! })),
    notNull: checks,
  });
  for (const c of checks) out.push({ kind: 'add_not_null_check', table: t, name: c.name, column: c.column });
  for (const k of d.carriedConstraints)
    out.push({
      kind: 'copy_constraint',
      table: t,
      name: k.temp,
      definition: k.model.definition,
      renameColumns: d.renames,
    });
  for (const k of spec.add) {
    if (k.type === 'check')
      out.push({
        kind: 'add_check',
        table: t,
        name: k.name,
        expression: k.expression,
        noInherit: k.noInherit,
        validated: false,
        renameColumns: d.newPhysical,
      });
    else if (k.type === 'foreign_key') {
      const ref = findTable(ctx.model, k.refTable)!;
      out.push({
        kind: 'add_foreign_key',
        table: t,
        validated: false,
        fk: {
          ...k,
          columns: k.columns.map((c) => d.newPhysical[c] ?? c),
          refTable: ref.physical,
          refColumns: k.refColumns.map((c) => findColumn(ref, c)?.physical ?? c),
          onDeleteSetColumns: k.onDeleteSetColumns?.map((c) => d.newPhysical[c] ?? c),
        },
      });
    }
  }
  return out;
}

export function shadowBackfill(spec: ShadowSpec, ctx: PlanContext): BackfillTask[] {
  const d = design(spec, ctx);
  if (ctx.claims.created(tableKey(d.table.name))) return [];
  return [{ table: d.table.physical, key: d.key, assignments: d.columns.map(upAssignment) }];
}

export function shadowVerify(spec: ShadowSpec, ctx: PlanContext): Action[] {
  const d = design(spec, ctx);
  const t = d.table.physical;
  const out: Action[] = [];
  for (const c of d.columns)
    if (c.needsCheck)
      out.push({ kind: 'validate_constraint', table: t, name: notNullCheckName(ctx.caps, c.shadow) });
  for (const k of d.carriedConstraints) out.push({ kind: 'validate_constraint', table: t, name: k.temp });
  for (const k of spec.add)
    if (k.type === 'check' || k.type === 'foreign_key')
      out.push({ kind: 'validate_constraint', table: t, name: k.name });
  for (const i of d.carriedIndexes)
    out.push({
      kind: 'copy_index',
      table: t,
      name: i.temp,
      definition: i.model.definition,
      renameColumns: d.renames,
      online: true,
    });
  for (const k of spec.add)
    if (k.type === 'unique' || k.type === 'primary_key')
      out.push({
        kind: 'create_index',
        table: t,
        name: temporaryName(ctx.caps, k.name),
        columns: k.columns.map((c) => ({ column: d.newPhysical[c] ?? c })),
        unique: true,
        method: null,
        predicate: null,
        storageParameters: k.storageParameters,
        include: k.include.map((c) => d.newPhysical[c] ?? c),
        nullsNotDistinct: k.nullsNotDistinct,
        online: true,
      });
  return out;
}

export function shadowComplete(spec: ShadowSpec, ctx: PlanContext): Action[] {
  const d = design(spec, ctx);
  const t = d.table.physical;
  const out: Action[] = [{ kind: 'remove_sync', table: t, name: d.sync, notNull: notNullChecks(d, ctx) }];
  for (const c of d.columns) {
    if (c.notNull) out.push({ kind: 'set_not_null', table: t, column: c.shadow, notNull: true });
    if (c.needsCheck)
      out.push({ kind: 'drop_constraint', table: t, name: notNullCheckName(ctx.caps, c.shadow) });
  }
  for (const c of d.columns) {
    out.push({ kind: 'move_owned_sequences', table: t, from: c.model.physical, to: c.shadow });
    out.push({ kind: 'drop_column', table: t, column: c.model.physical, whileExists: c.shadow });
  }
  for (const k of d.carriedConstraints)
    out.push({ kind: 'rename_constraint', table: t, from: k.temp, to: k.model.name });
  for (const i of d.carriedIndexes) {
    const owner = d.table.constraints.find((k) => k.index === i.model.name && k.type === 'unique');
    if (owner)
      out.push({
        kind: 'attach_index_constraint',
        table: t,
        name: owner.name,
        index: i.temp,
        type: 'unique',
        deferrable: owner.definition.includes('DEFERRABLE'),
        initiallyDeferred: owner.definition.includes('INITIALLY DEFERRED'),
      });
    else out.push({ kind: 'rename_index', from: i.temp, to: i.model.name });
  }
  for (const k of spec.add)
    if (k.type === 'unique' || k.type === 'primary_key')
      out.push({
        kind: 'attach_index_constraint',
        table: t,
        name: k.name,
        index: temporaryName(ctx.caps, k.name),
        type: k.type,
        deferrable: k.deferrable,
        initiallyDeferred: k.initiallyDeferred,
      });
  for (const c of d.columns)
    out.push({ kind: 'rename_column', table: t, from: c.shadow, to: c.model.physical });
  return out;
}

export function shadowRollback(spec: ShadowSpec, ctx: PlanContext): Action[] {
  const d = design(spec, ctx);
  const t = d.table.physical;
  return [
    { kind: 'remove_sync', table: t, name: d.sync, notNull: notNullChecks(d, ctx) },
    ...d.columns.map((c): Action => ({ kind: 'drop_column', table: t, column: c.shadow })),
  ];
}

/** The model after the operation: shadowed columns point at their shadow, constraints updated. */
export function shadowApply(spec: ShadowSpec, ctx: PlanContext): SchemaChange[] {
  const d = design(spec, ctx);
  const table = findTable(ctx.model, spec.table)!;
  const changes: SchemaChange[] = [];
  for (const c of d.columns) {
    const col = findColumn(table, c.model.name)!;
    col.physical = c.shadow;
    if (c.spec.type !== undefined) col.type = c.spec.type;
    col.nullable = !c.notNull;
    if (c.spec.default !== undefined) col.default = c.spec.default;
    if (c.spec.comment !== undefined) col.comment = c.spec.comment;
    changes.push({ kind: 'column_shadowed', table: table.name, column: col.name, shadow: c.shadow });
  }
  table.constraints = table.constraints
    .filter((k) => !spec.drop.includes(k.name))
    .map((k) => ({ ...k, columns: k.columns.map((c) => d.renames[c] ?? c) }));
  table.indexes = table.indexes.map((i) => ({ ...i, columns: i.columns.map((c) => d.renames[c] ?? c) }));
  for (const k of spec.add)
    table.constraints.push({
      name: k.name,
      type: k.type,
      columns: 'columns' in k ? k.columns.map((c) => d.newPhysical[c] ?? c) : [],
      definition: '',
      validated: true,
      index: k.type === 'unique' || k.type === 'primary_key' ? k.name : null,
      refTable: k.type === 'foreign_key' ? (findTable(ctx.model, k.refTable)?.physical ?? k.refTable) : null,
      refColumns: k.type === 'foreign_key' ? k.refColumns : [],
    });
  return changes;
}

/** The phase functions of an operation carried out entirely through the shadow columns `spec` describes. */
export function shadowPhases<Op>(spec: (op: Op, ctx: PlanContext) => ShadowSpec) {
  return {
    start: (op: Op, ctx: PlanContext) => shadowStart(spec(op, ctx), ctx),
    backfill: (op: Op, ctx: PlanContext) => shadowBackfill(spec(op, ctx), ctx),
    verify: (op: Op, ctx: PlanContext) => shadowVerify(spec(op, ctx), ctx),
    complete: (op: Op, ctx: PlanContext) => shadowComplete(spec(op, ctx), ctx),
    rollback: (op: Op, ctx: PlanContext) => shadowRollback(spec(op, ctx), ctx),
    apply: (op: Op, ctx: PlanContext) => shadowApply(spec(op, ctx), ctx),
  };
}
