/**
 * The logical schema changes a migration makes, in operation order. Each
 * names the table as it is called at that point of the migration (a
 * `table_renamed` later in the same migration renames it for the changes
 * after it); see `version-history.ts` for the per-table views the proxy's
 * translation consumes.
 */
export type SchemaChange =
  | { kind: 'table_created'; table: string }
  | { kind: 'table_renamed'; from: string; to: string }
  | { kind: 'table_dropped'; table: string }
  /** `filledByTrigger`: a sync trigger fills the column for writers of the old version (pgroll `up`). */
  | { kind: 'column_added'; table: string; column: string; filledByTrigger: boolean }
  | { kind: 'column_renamed'; table: string; from: string; to: string }
  /** `filledByTrigger`: a sync trigger fills the column for writers of the new version (pgroll `down`). */
  | { kind: 'column_dropped'; table: string; column: string; filledByTrigger: boolean }
  /** The new version reads and writes `shadow` instead of `column` until complete. */
  | { kind: 'column_shadowed'; table: string; column: string; shadow: string };
