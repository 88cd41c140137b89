import type { SchemaModel, VersionHistory } from '../migrations/index.ts';
import type { PhysicalSchema } from './physical-schema.ts';
import type { MigrationRecord, SchemaChange } from './schema-change.ts';

/**
 * The translation's inputs from what the migration engine knows: the
 * introspected physical schema, and the version history with each
 * migration's logical changes (DESIGN.md section 4: computed once, outside
 * the dialects).
 */
export function physicalSchemaOf(model: SchemaModel): PhysicalSchema {
  return {
    schema: model.schema,
    tables: model.tables.map((t) => ({
      name: t.physical,
      columns: t.columns.map((c) => ({
        name: c.physical,
        nullable: c.nullable,
        hasDefault: c.default !== null || c.generated,
        type: c.type,
      })),
    })),
  };
}

/** Engine history (oldest first, rolled-back migrations already left out) as the version map's input. */
export function migrationRecordsOf(history: VersionHistory): MigrationRecord[] {
  return history.versions.map((v) => ({
    name: v.version,
    inFlight: v.phase !== 'completed',
    changes: v.changes.map((c) => changeOf(c, v)),
  }));
}

type EngineVersion = VersionHistory['versions'][number];

function changeOf(c: EngineVersion['changes'][number], v: EngineVersion): SchemaChange {
  switch (c.kind) {
    case 'table_created':
      return { kind: 'create_table', table: c.table };
    case 'table_renamed':
      return { kind: 'rename_table', from: c.from, to: c.to };
    case 'table_dropped':
      return { kind: 'drop_table', table: c.table };
    case 'column_added': {
      // The physical column the new version writes while the migration is in flight.
      const physical = v.after
        .find((t) => t.name === c.table)
        ?.columns.find((col) => col.name === c.column)?.physical;
      return {
        kind: 'add_column',
        table: c.table,
        column: c.column,
        ...(physical && physical !== c.column ? { physical } : {}),
        ...(c.filledByTrigger ? { filledByTrigger: true } : {}),
      };
    }
    case 'column_renamed':
      return { kind: 'rename_column', table: c.table, from: c.from, to: c.to };
    case 'column_dropped':
      return {
        kind: 'drop_column',
        table: c.table,
        column: c.column,
        ...(c.filledByTrigger ? { filledByTrigger: true } : {}),
      };
    case 'column_shadowed':
      return { kind: 'alter_column', table: c.table, column: c.column, shadow: c.shadow };
  }
}
