/**
 * The one schema of a migration file. The vocabulary and field names are
 * pgroll's (https://github.com/xataio/pgroll, schema.json), so pgroll files run
 * unchanged; every TypeScript type of an operation is derived from here.
 *
 * A file is `{ name?, operations: [ { <kind>: { ...fields } }, ... ] }` in YAML
 * or JSON; the migration's name is the file name without its extension.
 */
import { z } from 'zod';

const identifier = z.string().min(1, 'must not be empty');
const sqlText = z.string().min(1, 'must not be empty');

export const checkConstraintSchema = z
  .object({ name: identifier, constraint: sqlText, no_inherit: z.boolean().optional() })
  .strict();

export const foreignKeyActionSchema = z.enum(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT']);
export const foreignKeyMatchSchema = z.enum(['SIMPLE', 'FULL', 'PARTIAL']);

/** A column-level foreign key (`column.references`, `alter_column.references`). */
export const columnReferenceSchema = z
  .object({
    name: identifier,
    table: identifier,
    column: identifier,
    on_delete: foreignKeyActionSchema.optional(),
    on_update: foreignKeyActionSchema.optional(),
    match_type: foreignKeyMatchSchema.optional(),
    deferrable: z.boolean().optional(),
    initially_deferred: z.boolean().optional(),
  })
  .strict();

/** A table-level foreign key (`create_constraint.references`, `create_table.constraints[].references`). */
export const tableReferenceSchema = z
  .object({
    table: identifier,
    columns: z.array(identifier).min(1),
    on_delete: foreignKeyActionSchema.optional(),
    on_update: foreignKeyActionSchema.optional(),
    match_type: foreignKeyMatchSchema.optional(),
    on_delete_set_columns: z.array(identifier).optional(),
  })
  .strict();

export const columnSchema = z
  .object({
    name: identifier,
    type: sqlText,
    /** pgroll's default: a column is NOT NULL unless it says `nullable: true`. */
    nullable: z.boolean().optional(),
    pk: z.boolean().optional(),
    unique: z.boolean().optional(),
    default: z.string().optional(),
    comment: z.string().optional(),
    check: checkConstraintSchema.optional(),
    references: columnReferenceSchema.optional(),
    generated: z
      .object({
        expression: z.string().optional(),
        identity: z
          .object({
            sequence_options: z.string().optional(),
            user_specified_values: z.enum(['ALWAYS', 'BY DEFAULT']).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const indexParametersSchema = z
  .object({
    tablespace: z.string().optional(),
    storage_parameters: z.string().optional(),
    include_columns: z.array(identifier).optional(),
  })
  .strict();

export const tableConstraintSchema = z
  .object({
    name: identifier,
    type: z.enum(['unique', 'check', 'primary_key', 'foreign_key', 'exclude']),
    columns: z.array(identifier).optional(),
    check: z.string().optional(),
    references: tableReferenceSchema.optional(),
    deferrable: z.boolean().optional(),
    initially_deferred: z.boolean().optional(),
    nulls_not_distinct: z.boolean().optional(),
    no_inherit: z.boolean().optional(),
    index_parameters: indexParametersSchema.optional(),
    exclude: z
      .object({ index_method: z.string().optional(), elements: sqlText, predicate: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const need = (field: 'columns' | 'check' | 'references' | 'exclude') =>
      ctx.addIssue({ code: 'custom', path: [field], message: `required for a ${c.type} constraint` });
    if ((c.type === 'unique' || c.type === 'primary_key' || c.type === 'foreign_key') && !c.columns?.length)
      need('columns');
    if (c.type === 'check' && !c.check) need('check');
    if (c.type === 'foreign_key' && !c.references) need('references');
    if (c.type === 'exclude' && !c.exclude) need('exclude');
  });

const indexFieldSettings = {
  collate: z.string().optional(),
  sort: z.enum(['ASC', 'DESC', 'asc', 'desc']).optional(),
  nulls: z.enum(['FIRST', 'LAST', 'first', 'last']).optional(),
  opclass: z
    .object({ name: z.string().optional(), params: z.array(z.string()).optional() })
    .strict()
    .optional(),
};

/**
 * pgroll has spelled index columns three ways over its releases: a list of
 * names, a list of `{column, sort, ...}` and a map `name -> {sort, ...}`. All
 * three are accepted and normalised to the list of objects.
 */
const indexColumnsSchema = z
  .union([
    z.array(z.union([identifier, z.object({ column: identifier, ...indexFieldSettings }).strict()])).min(1),
    z.record(identifier, z.object(indexFieldSettings).strict().nullable()),
  ])
  .transform((value) => {
    const list = Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? { column: v } : v))
      : Object.entries(value).map(([column, settings]) => ({ column, ...(settings ?? {}) }));
    return list.map((f) => ({
      column: f.column,
      collate: f.collate,
      sort: f.sort?.toUpperCase() as 'ASC' | 'DESC' | undefined,
      nulls: f.nulls?.toUpperCase() as 'FIRST' | 'LAST' | undefined,
      opclass: f.opclass,
    }));
  })
  .refine((list) => list.length > 0, 'needs at least one column');

const upMap = z.record(identifier, sqlText);

export const operationSchemas = {
  create_table: z
    .object({
      name: identifier,
      columns: z.array(columnSchema).min(1, 'a table needs at least one column'),
      constraints: z.array(tableConstraintSchema).optional(),
      comment: z.string().optional(),
    })
    .strict()
    .superRefine((op, ctx) => {
      const seen = new Set<string>();
      op.columns.forEach((c, i) => {
        if (seen.has(c.name))
          ctx.addIssue({
            code: 'custom',
            path: ['columns', i, 'name'],
            message: `duplicate column "${c.name}"`,
          });
        seen.add(c.name);
      });
      const names = new Set<string>();
      op.constraints?.forEach((c, i) => {
        if (names.has(c.name))
          ctx.addIssue({
            code: 'custom',
            path: ['constraints', i, 'name'],
            message: `duplicate constraint "${c.name}"`,
          });
        names.add(c.name);
        c.columns?.forEach((col, j) => {
          if (!seen.has(col))
            ctx.addIssue({
              code: 'custom',
              path: ['constraints', i, 'columns', j],
              message: `column "${col}" is not defined in this table`,
            });
        });
      });
    }),
  add_column: z
    .object({ table: identifier, column: columnSchema, up: z.string().optional() })
    .strict()
    .superRefine((op, ctx) => {
      if (op.column.pk)
        ctx.addIssue({
          code: 'custom',
          path: ['column', 'pk'],
          message: 'a primary key cannot be added with add_column; use create_constraint',
        });
    }),
  alter_column: z
    .object({
      table: identifier,
      column: identifier,
      name: identifier.optional(),
      type: sqlText.optional(),
      nullable: z.boolean().optional(),
      default: z.string().nullable().optional(),
      comment: z.string().nullable().optional(),
      unique: z.object({ name: identifier }).strict().optional(),
      check: checkConstraintSchema.optional(),
      references: columnReferenceSchema.optional(),
      up: z.string().optional(),
      down: z.string().optional(),
    })
    .strict()
    .superRefine((op, ctx) => {
      const changes = (
        ['type', 'nullable', 'default', 'comment', 'unique', 'check', 'references'] as const
      ).filter((k) => op[k] !== undefined);
      if (op.name !== undefined && (changes.length > 0 || op.up || op.down))
        ctx.addIssue({
          code: 'custom',
          path: ['name'],
          message: 'a rename cannot be combined with other changes; use a separate rename_column operation',
        });
      if (op.name === undefined && changes.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: [],
          message:
            'nothing to change: give at least one of name, type, nullable, default, comment, unique, check, references',
        });
    }),
  rename_column: z.object({ table: identifier, from: identifier, to: identifier }).strict(),
  drop_column: z.object({ table: identifier, column: identifier, down: z.string().optional() }).strict(),
  rename_table: z.object({ from: identifier, to: identifier }).strict(),
  drop_table: z.object({ name: identifier }).strict(),
  create_index: z
    .object({
      name: identifier,
      table: identifier,
      columns: indexColumnsSchema,
      method: z.enum(['btree', 'hash', 'gist', 'spgist', 'gin', 'brin']).optional(),
      unique: z.boolean().optional(),
      predicate: z.string().optional(),
      storage_parameters: z.string().optional(),
    })
    .strict(),
  drop_index: z.object({ name: identifier }).strict(),
  create_constraint: z
    .object({
      table: identifier,
      name: identifier,
      type: z.enum(['unique', 'check', 'foreign_key', 'primary_key']),
      columns: z.array(identifier).min(1),
      check: z.string().optional(),
      no_inherit: z.boolean().optional(),
      references: tableReferenceSchema.optional(),
      index_parameters: indexParametersSchema.optional(),
      deferrable: z.boolean().optional(),
      initially_deferred: z.boolean().optional(),
      nulls_not_distinct: z.boolean().optional(),
      up: upMap.optional(),
      down: upMap.optional(),
    })
    .strict()
    .superRefine((op, ctx) => {
      if (op.type === 'check' && !op.check)
        ctx.addIssue({ code: 'custom', path: ['check'], message: 'required for a check constraint' });
      if (op.type === 'foreign_key' && !op.references)
        ctx.addIssue({
          code: 'custom',
          path: ['references'],
          message: 'required for a foreign_key constraint',
        });
      if (op.type !== 'check' && op.check)
        ctx.addIssue({ code: 'custom', path: ['check'], message: `not allowed for a ${op.type} constraint` });
      if (op.type !== 'foreign_key' && op.references)
        ctx.addIssue({
          code: 'custom',
          path: ['references'],
          message: `not allowed for a ${op.type} constraint`,
        });
      if (op.references && op.references.columns.length !== op.columns.length)
        ctx.addIssue({
          code: 'custom',
          path: ['references', 'columns'],
          message: `needs ${op.columns.length} columns to match "columns"`,
        });
      const seen = new Set<string>();
      op.columns.forEach((c, i) => {
        if (seen.has(c))
          ctx.addIssue({ code: 'custom', path: ['columns', i], message: `duplicate column "${c}"` });
        seen.add(c);
      });
      for (const side of ['up', 'down'] as const)
        for (const col of Object.keys(op[side] ?? {}))
          if (!seen.has(col))
            ctx.addIssue({
              code: 'custom',
              path: [side, col],
              message: `column "${col}" is not one of the constraint's columns`,
            });
    }),
  drop_constraint: z
    .object({
      table: identifier,
      name: identifier,
      /** Older pgroll files name the constrained column; it is checked when present. */
      column: identifier.optional(),
      up: z.string().optional(),
      down: z.string().optional(),
    })
    .strict(),
  drop_multicolumn_constraint: z
    .object({ table: identifier, name: identifier, up: upMap.optional(), down: upMap.optional() })
    .strict(),
  rename_constraint: z.object({ table: identifier, from: identifier, to: identifier }).strict(),
  set_replica_identity: z
    .object({
      table: identifier,
      identity: z
        .object({
          type: z
            .string()
            .transform((s) => s.toLowerCase())
            .pipe(z.enum(['default', 'full', 'nothing', 'index'])),
          index: z.string().optional(),
        })
        .strict()
        .superRefine((id, ctx) => {
          if (id.type === 'index' && !id.index)
            ctx.addIssue({ code: 'custom', path: ['index'], message: 'required when type is "index"' });
        }),
    })
    .strict(),
  sql: z
    .object({ up: sqlText, down: z.string().optional(), onComplete: z.boolean().optional() })
    .strict()
    .superRefine((op, ctx) => {
      if (op.onComplete && op.down)
        ctx.addIssue({
          code: 'custom',
          path: ['down'],
          message:
            'an onComplete sql operation cannot have a down (it runs after rollback is no longer possible)',
        });
    }),
};

export type OperationKind = keyof typeof operationSchemas;
export const operationKinds = Object.keys(operationSchemas) as OperationKind[];

/** The validated body of each operation kind, e.g. `OperationBody<'add_column'>`. */
export type OperationBody<K extends OperationKind> = z.output<(typeof operationSchemas)[K]>;

export type CreateTableOp = OperationBody<'create_table'>;
export type AddColumnOp = OperationBody<'add_column'>;
export type AlterColumnOp = OperationBody<'alter_column'>;
export type RenameColumnOp = OperationBody<'rename_column'>;
export type DropColumnOp = OperationBody<'drop_column'>;
export type RenameTableOp = OperationBody<'rename_table'>;
export type DropTableOp = OperationBody<'drop_table'>;
export type CreateIndexOp = OperationBody<'create_index'>;
export type DropIndexOp = OperationBody<'drop_index'>;
export type CreateConstraintOp = OperationBody<'create_constraint'>;
export type DropConstraintOp = OperationBody<'drop_constraint'>;
export type DropMultiColumnConstraintOp = OperationBody<'drop_multicolumn_constraint'>;
export type RenameConstraintOp = OperationBody<'rename_constraint'>;
export type SetReplicaIdentityOp = OperationBody<'set_replica_identity'>;
export type RawSqlOp = OperationBody<'sql'>;
export type ColumnDefinition = z.output<typeof columnSchema>;
export type TableConstraintDefinition = z.output<typeof tableConstraintSchema>;
export type IndexColumn = CreateIndexOp['columns'][number];

/** One operation of a parsed migration, as a tagged union over the kinds. */
export type MigrationOperation = { [K in OperationKind]: { kind: K; body: OperationBody<K> } }[OperationKind];

/**
 * The whole file as one zod schema: used for the derived `MigrationFile` type
 * and to publish a JSON Schema (`z.toJSONSchema(migrationFileSchema)`). The
 * parser in `parse.ts` validates operation by operation instead, so that
 * every error names its operation index and field precisely.
 */
export const migrationFileSchema = z
  .object({
    name: z.string().optional(),
    version_schema: z.string().optional(),
    operations: z.array(
      z.union(
        operationKinds.map((k) => z.object({ [k]: operationSchemas[k] }).strict()) as unknown as [
          z.ZodType,
          z.ZodType,
          ...z.ZodType[],
        ],
      ),
    ),
  })
  .strict();

export interface Migration {
  /** The file name without extension; also the schema version name sessions bind to. */
  name: string;
  /** The file it was read from (error messages name it). */
  file: string;
  operations: MigrationOperation[];
  /** The file's content as parsed (before defaults), kept in the state store's history. */
  raw: unknown;
}
