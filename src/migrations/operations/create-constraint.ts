/**
 * create_constraint: the constrained columns get shadow columns carrying the
 * constraint in its non-blocking form (NOT VALID check / foreign key, unique
 * index built concurrently), filled by `up` per column, so old-version
 * writers are never refused by a constraint they do not know. Complete swaps
 * the shadows in and turns the index into the unique / primary key
 * constraint. On a table created by the same migration the constraint is
 * simply added.
 */
import type { Action } from '../actions.ts';
import type { CreateConstraintOp } from '../format.ts';
import { findColumn, findTable, relationNameTaken } from '../model.ts';
import { temporaryName } from '../names.ts';
import {
  claim,
  columnKey,
  nothing,
  type OperationDefinition,
  type PlanContext,
  requireTable,
  tableKey,
} from '../operation.ts';
import {
  type ShadowConstraint,
  type ShadowSpec,
  shadowApply,
  shadowBackfill,
  shadowComplete,
  shadowRollback,
  shadowStart,
  shadowVerify,
  validateShadow,
} from '../shadow.ts';

function constraint(op: CreateConstraintOp): ShadowConstraint {
  if (op.type === 'check')
    return { type: 'check', name: op.name, expression: op.check!, noInherit: op.no_inherit ?? false };
  if (op.type === 'foreign_key')
    return {
      type: 'foreign_key',
      name: op.name,
      columns: op.columns,
      refTable: op.references!.table,
      refColumns: op.references!.columns,
      onDelete: op.references!.on_delete,
      onUpdate: op.references!.on_update,
      match: op.references!.match_type,
      onDeleteSetColumns: op.references!.on_delete_set_columns,
      deferrable: op.deferrable,
      initiallyDeferred: op.initially_deferred,
    };
  return {
    type: op.type,
    name: op.name,
    columns: op.columns,
    nullsNotDistinct: op.nulls_not_distinct ?? false,
    deferrable: op.deferrable ?? false,
    initiallyDeferred: op.initially_deferred ?? false,
    include: op.index_parameters?.include_columns ?? [],
    storageParameters: op.index_parameters?.storage_parameters || null,
  };
}

function spec(op: CreateConstraintOp): ShadowSpec {
  return {
    table: op.table,
    columns: op.columns.map((column) => ({
      column,
      nullable: op.type === 'primary_key' ? false : undefined,
      up: op.up?.[column],
      down: op.down?.[column],
    })),
    add: [constraint(op)],
    drop: [],
  };
}

const fresh = (op: CreateConstraintOp, ctx: PlanContext) => ctx.claims.created(tableKey(op.table));

/** On a table the same migration created: plain, immediate DDL (the table is empty and unseen by the old version). */
function direct(op: CreateConstraintOp, ctx: PlanContext): Action[] {
  const table = findTable(ctx.model, op.table)!;
  const c = constraint(op);
  if (c.type === 'check')
    return [
      {
        kind: 'add_check',
        table: table.physical,
        name: c.name,
        expression: c.expression,
        noInherit: c.noInherit,
        validated: true,
      },
    ];
  if (c.type === 'foreign_key') {
    const ref = findTable(ctx.model, c.refTable)!;
    return [
      {
        kind: 'add_foreign_key',
        table: table.physical,
        validated: true,
        fk: { ...c, refTable: ref.physical },
      },
    ];
  }
  const out: Action[] = [];
  if (c.type === 'primary_key')
    for (const col of c.columns)
      out.push({ kind: 'set_not_null', table: table.physical, column: col, notNull: true });
  out.push(
    {
      kind: 'create_index',
      table: table.physical,
      name: temporaryName(ctx.caps, c.name),
      columns: c.columns.map((column) => ({ column })),
      unique: true,
      method: null,
      predicate: null,
      storageParameters: c.storageParameters,
      include: c.include,
      nullsNotDistinct: c.nullsNotDistinct,
      online: false,
    },
    {
      kind: 'attach_index_constraint',
      table: table.physical,
      name: c.name,
      index: temporaryName(ctx.caps, c.name),
      type: c.type,
      deferrable: c.deferrable,
      initiallyDeferred: c.initiallyDeferred,
    },
  );
  return out;
}

export const createConstraint: OperationDefinition<'create_constraint'> = {
  kind: 'create_constraint',
  ...nothing,
  validate(op, ctx) {
    const table = requireTable(ctx, op.table, 'table');
    if (!table) return;
    let ok = true;
    op.columns.forEach((c, i) => {
      if (!findColumn(table, c)) {
        ctx.issue(`columns.${i}`, `column "${c}" does not exist in "${op.table}"`);
        ok = false;
      }
    });
    if (table.constraints.some((c) => c.name === op.name))
      ctx.issue('name', `constraint "${op.name}" already exists on "${op.table}"`);
    if ((op.type === 'unique' || op.type === 'primary_key') && relationNameTaken(ctx.model, op.name))
      ctx.issue('name', `a table or index named "${op.name}" already exists`);
    if (op.type === 'primary_key') {
      const pk = table.constraints.find((c) => c.type === 'primary_key');
      if (pk) ctx.issue('type', `table "${op.table}" already has the primary key "${pk.name}"`);
    }
    op.index_parameters?.include_columns?.forEach((c, i) => {
      if (!findColumn(table, c))
        ctx.issue(`index_parameters.include_columns.${i}`, `column "${c}" does not exist`);
    });
    if (op.references) {
      const ref = findTable(ctx.model, op.references.table);
      if (!ref) ctx.issue('references.table', `referenced table "${op.references.table}" does not exist`);
      else
        op.references.columns.forEach((c, i) => {
          if (!findColumn(ref, c))
            ctx.issue(`references.columns.${i}`, `column "${c}" does not exist in "${ref.name}"`);
        });
    }
    if (!ok) return;
    if (fresh(op, ctx)) {
      claim(ctx, tableKey(op.table), 'modify', 'table');
      op.columns.forEach((c, i) => {
        claim(ctx, columnKey(op.table, c), 'read', `columns.${i}`);
      });
      return;
    }
    validateShadow(spec(op), ctx, (col) => ({
      column: `columns.${op.columns.indexOf(col)}`,
      up: `up.${col}`,
    }));
  },
  start(op, ctx) {
    return fresh(op, ctx) ? direct(op, ctx) : shadowStart(spec(op), ctx);
  },
  backfill(op, ctx) {
    return fresh(op, ctx) ? [] : shadowBackfill(spec(op), ctx);
  },
  verify(op, ctx) {
    return fresh(op, ctx) ? [] : shadowVerify(spec(op), ctx);
  },
  complete(op, ctx) {
    return fresh(op, ctx) ? [] : shadowComplete(spec(op), ctx);
  },
  rollback(op, ctx) {
    return fresh(op, ctx) ? [] : shadowRollback(spec(op), ctx);
  },
  apply(op, ctx) {
    if (!fresh(op, ctx)) return shadowApply(spec(op), ctx);
    const table = findTable(ctx.model, op.table)!;
    const c = constraint(op);
    table.constraints.push({
      name: c.name,
      type: c.type,
      columns: 'columns' in c ? c.columns : [],
      definition: '',
      validated: true,
      index: c.type === 'unique' || c.type === 'primary_key' ? c.name : null,
      refTable: c.type === 'foreign_key' ? c.refTable : null,
      refColumns: c.type === 'foreign_key' ? c.refColumns : [],
    });
    return [];
  },
};
