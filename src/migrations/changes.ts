/**
 * The logical schema changes a migration makes, as the version after it sees
 * them. Table names are logical names of the new version (`from` of a rename
 * is the old version's name); see `version-history.ts` for how the proxy's
 * translation consumes them.
 */
export type SchemaChange =
  | { kind: 'table_created'; table: string }
  | { kind: 'table_renamed'; from: string; to: string }
  | { kind: 'table_dropped'; table: string }
  | { kind: 'column_added'; table: string; column: string }
  | { kind: 'column_renamed'; table: string; from: string; to: string }
  | { kind: 'column_dropped'; table: string; column: string }
  /** The new version reads and writes `shadow` instead of `column` until complete. */
  | { kind: 'column_shadowed'; table: string; column: string; shadow: string };
