/**
 * create_table: the table is created at start (it is new, so nothing can be
 * blocked and constraints apply at once) and dropped on rollback. The old
 * version does not see it.
 */
import type { TableConstraintSpec } from '../actions.ts';
import type { CreateTableOp } from '../format.ts';
import { constraintNameTaken, findColumn, findTable, relationNameTaken, type TableModel } from '../model.ts';
import { claim, nothing, type OperationDefinition, type PlanContext, tableKey } from '../operation.ts';
import {
  columnForeignKey,
  columnModel,
  columnSpec,
  isNullable,
  uniqueConstraintName,
  validateReference,
} from './column-definition.ts';

function constraints(op: CreateTableOp, ctx: PlanContext): TableConstraintSpec[] {
  const out: TableConstraintSpec[] = [];
  const pk = op.columns.filter((c) => c.pk).map((c) => c.name);
  if (pk.length) out.push({ type: 'primary_key', name: `${op.name}_pkey`, columns: pk });
  for (const c of op.columns) {
    if (c.unique)
      out.push({ type: 'unique', name: uniqueConstraintName(op.name, c.name), columns: [c.name] });
    if (c.check)
      out.push({
        type: 'check',
        name: c.check.name,
        expression: c.check.constraint,
        noInherit: c.check.no_inherit,
      });
    const fk =
      c.references && op.name === c.references.table
        ? { ...columnForeignKey(ctx.model, c.name, c)!, refTable: op.name, refColumns: [c.references.column] }
        : columnForeignKey(ctx.model, c.name, c);
    if (fk) out.push({ type: 'foreign_key', ...fk });
  }
  for (const c of op.constraints ?? []) {
    const index = {
      include: c.index_parameters?.include_columns,
      storageParameters: c.index_parameters?.storage_parameters,
      tablespace: c.index_parameters?.tablespace,
      deferrable: c.deferrable,
      initiallyDeferred: c.initially_deferred,
    };
    if (c.type === 'primary_key')
      out.push({ type: 'primary_key', name: c.name, columns: c.columns!, ...index });
    else if (c.type === 'unique')
      out.push({
        type: 'unique',
        name: c.name,
        columns: c.columns!,
        nullsNotDistinct: c.nulls_not_distinct,
        ...index,
      });
    else if (c.type === 'check')
      out.push({ type: 'check', name: c.name, expression: c.check!, noInherit: c.no_inherit });
    else if (c.type === 'exclude')
      out.push({
        type: 'exclude',
        name: c.name,
        method: c.exclude!.index_method,
        elements: c.exclude!.elements,
        predicate: c.exclude!.predicate,
      });
    else {
      const r = c.references!;
      const ref = r.table === op.name ? undefined : findTable(ctx.model, r.table);
      out.push({
        type: 'foreign_key',
        name: c.name,
        columns: c.columns!,
        refTable: ref?.physical ?? r.table,
        refColumns: r.columns,
        onDelete: r.on_delete,
        onUpdate: r.on_update,
        match: r.match_type,
        deferrable: c.deferrable,
        initiallyDeferred: c.initially_deferred,
        onDeleteSetColumns: r.on_delete_set_columns,
      });
    }
  }
  return out;
}

export const createTable: OperationDefinition<'create_table'> = {
  kind: 'create_table',
  ...nothing,
  validate(op, ctx) {
    if (findTable(ctx.model, op.name) || relationNameTaken(ctx.model, op.name))
      ctx.issue('name', `a table or index named "${op.name}" already exists`);
    const names = op.columns.map((c) => c.name);
    if (op.columns.filter((c) => c.pk).length > 0 && op.constraints?.some((c) => c.type === 'primary_key'))
      ctx.issue(
        'constraints',
        'the primary key is given both by column "pk" flags and by a primary_key constraint',
      );
    op.columns.forEach((c, i) => {
      if (c.references)
        validateReference(ctx, `columns.${i}.references`, c.references, { table: op.name, columns: names });
    });
    op.constraints?.forEach((c, i) => {
      if (!c.references) return;
      if (c.references.table === op.name) {
        c.references.columns.forEach((col, j) => {
          if (!names.includes(col))
            ctx.issue(`constraints.${i}.references.columns.${j}`, `column "${col}" does not exist`);
        });
        return;
      }
      const ref = findTable(ctx.model, c.references.table);
      if (!ref)
        ctx.issue(
          `constraints.${i}.references.table`,
          `referenced table "${c.references.table}" does not exist`,
        );
      else
        c.references.columns.forEach((col, j) => {
          if (!findColumn(ref, col))
            ctx.issue(
              `constraints.${i}.references.columns.${j}`,
              `column "${col}" does not exist in "${ref.name}"`,
            );
        });
    });
    claim(ctx, tableKey(op.name), 'create', 'name');
  },
  start(op, ctx) {
    return [
      {
        kind: 'create_table',
        table: op.name,
        columns: op.columns.map((c) => columnSpec(c, isNullable(c))),
        constraints: constraints(op, ctx),
        comment: op.comment ?? null,
      },
    ];
  },
  rollback(op) {
    return [{ kind: 'drop_table', table: op.name }];
  },
  apply(op, ctx) {
    const table: TableModel = {
      name: op.name,
      physical: op.name,
      columns: op.columns.map(columnModel),
      constraints: [],
      indexes: [],
      comment: op.comment ?? null,
      replicaIdentity: 'default',
      replicaIndex: null,
    };
    for (const c of constraints(op, ctx)) {
      if (constraintNameTaken(table, c.name)) continue;
      const indexed = c.type === 'primary_key' || c.type === 'unique';
      table.constraints.push({
        name: c.name,
        type: c.type,
        columns: 'columns' in c ? c.columns : [],
        definition: '',
        validated: true,
        index: indexed ? c.name : null,
        refTable: c.type === 'foreign_key' ? c.refTable : null,
        refColumns: c.type === 'foreign_key' ? c.refColumns : [],
      });
      if (indexed)
        table.indexes.push({
          name: c.name,
          columns: c.columns,
          unique: true,
          primary: c.type === 'primary_key',
          valid: true,
          definition: '',
          constraint: c.name,
        });
    }
    ctx.model.tables.push(table);
    return [{ kind: 'table_created', table: op.name }];
  },
};
