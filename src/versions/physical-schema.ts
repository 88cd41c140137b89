import type { NameResolution } from './name-resolution.ts';

/**
 * The physical schema as the database reports it right now: what the
 * dialect's introspection returns and what every version map is built on.
 * Dialect-neutral, plain data, so the MySQL side can fill it the same way.
 *
 * @example
 * const physical: PhysicalSchema = {
 *   schema: 'public',
 *   tables: [{ name: 'users', columns: [{ name: 'id', nullable: false, hasDefault: true }] }],
 * };
 */
export interface PhysicalColumn {
  name: string;
  /** False for NOT NULL columns (a validated NOT NULL; a NOT VALID check does not count). */
  nullable: boolean;
  /** A DEFAULT, an identity or a generated column: an INSERT may leave it out. */
  hasDefault: boolean;
  /** The type as the database prints it; informational only. */
  type?: string;
}

export interface PhysicalTable {
  name: string;
  /** In the table's own column order (attnum / ORDINAL_POSITION). */
  columns: PhysicalColumn[];
}

export interface PhysicalSchema {
  /** The namespace the migrations run in (`public`; the MySQL database name). */
  schema: string;
  tables: PhysicalTable[];
  /** Same-named relations elsewhere and default search paths; none known when absent. */
  nameResolution?: NameResolution;
}
