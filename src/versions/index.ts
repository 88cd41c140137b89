/**
 * Schema versions: the dialect-neutral map from each version's logical
 * schema to the physical one, built from the migration history.
 */
export { buildVersionMap } from './build-version-map.ts';
export { defaultSearchPath, type NameResolution, NO_HOMONYMS } from './name-resolution.ts';
export type { PhysicalColumn, PhysicalSchema, PhysicalTable } from './physical-schema.ts';
export type {
  AddColumnChange,
  AlterColumnChange,
  CreateTableChange,
  DropColumnChange,
  DropTableChange,
  MigrationRecord,
  RenameColumnChange,
  RenameTableChange,
  SchemaChange,
} from './schema-change.ts';
export { shadowColumnName } from './schema-change.ts';
export { TouchMatcher } from './touch-matcher.ts';
export { TranslationError, type TranslationErrorKind } from './translation-error.ts';
export { INITIAL_VERSION, VersionMap } from './version-map.ts';
export { VersionMapError } from './version-map-error.ts';
export type { HiddenColumn, LogicalColumn, LogicalTable } from './version-schema.ts';
export { VersionSchema } from './version-schema.ts';
