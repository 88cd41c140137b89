import { TouchMatcher } from './touch-matcher.ts';

/**
 * One schema version's logical schema and how it sits on the physical one:
 * what a translator needs to rewrite a statement written for this version.
 * Immutable once built.
 */

/** A column this version sees. */
export interface LogicalColumn {
  /** The name this version uses. */
  readonly name: string;
  /**
   * The physical column behind it, or null when a completed migration
   * dropped it: this version can no longer be served that column.
   */
  readonly physical: string | null;
}

/** A physical column of the table that this version does not see. */
export interface HiddenColumn {
  readonly physical: string;
  /** True when an INSERT may leave it out: nullable, a default, or a sync trigger fills it. */
  readonly omittable: boolean;
}

export interface LogicalTable {
  /** The name this version uses. */
  readonly name: string;
  /** The physical table, or null when a completed migration dropped it. */
  readonly physical: string | null;
  /** Visible columns in this version's order: what `*` expands to. */
  readonly columns: readonly LogicalColumn[];
  /** Physical columns this version cannot know, in physical order. */
  readonly hidden: readonly HiddenColumn[];
  /** Every physical column name of the table, visible or hidden (for capture checks). */
  readonly physicalColumns: ReadonlySet<string>;
  /**
   * True when the visible columns are exactly the physical ones, same names,
   * same order (the table may still be renamed): `*` needs no expansion and
   * an INSERT no column list.
   */
  readonly sameColumns: boolean;
  /**
   * False when the version sees the table exactly as it is physically (same
   * names, same columns, same order): statements on it need no rewrite.
   */
  readonly rewrites: boolean;
  column(name: string): LogicalColumn | undefined;
  hiddenColumn(physical: string): HiddenColumn | undefined;
}

export class VersionSchema {
  private readonly byName: ReadonlyMap<string, LogicalTable>;
  private readonly hiddenTables: ReadonlySet<string>;
  private readonly physicalTables: Set<string>;
  private readonly matcher: TouchMatcher;

  constructor(
    /** The version's name: its migration's name, or INITIAL_VERSION. */
    readonly name: string,
    /** The physical namespace (`public`). */
    readonly schema: string,
    tables: readonly LogicalTable[],
    /** Physical tables this version must not see (created by a later migration, say). */
    hiddenTables: Iterable<string>,
  ) {
    this.byName = new Map(tables.map((t) => [t.name, t]));
    // The physical name of a renamed table is not a name this version has either.
    const hidden = new Set(hiddenTables);
    for (const t of tables) if (t.physical !== null && t.physical !== t.name) hidden.add(t.physical);
    this.hiddenTables = hidden;
    this.physicalTables = new Set(hidden);
    for (const t of tables) if (t.physical !== null) this.physicalTables.add(t.physical);
    const words: string[] = [...this.hiddenTables];
    for (const t of tables) {
      if (!t.rewrites) continue;
      words.push(t.name);
      if (t.physical !== null) words.push(t.physical);
    }
    this.matcher = new TouchMatcher(words);
    this.migratingNames = words;
  }

  /**
   * Every table name this version sees differently from the database: the
   * names and physical names of tables it rewrites, and physical tables it
   * must not see. What a text the proxy cannot translate must not mention.
   */
  readonly migratingNames: readonly string[];

  get tables(): IterableIterator<LogicalTable> {
    return this.byName.values();
  }

  table(name: string): LogicalTable | undefined {
    return this.byName.get(name);
  }

  /** True when the migration schema holds a table of this name physically, whether this version sees it or not. */
  hasPhysicalTable(physical: string): boolean {
    return this.physicalTables.has(physical);
  }

  /** True for a physical table that exists but that this version must not see. */
  isHiddenTable(physical: string): boolean {
    return this.hiddenTables.has(physical) && !this.byName.has(physical);
  }

  /** True when no table needs a rewrite for this version: every statement passes through. */
  get identity(): boolean {
    return this.matcher.empty;
  }

  /**
   * The fast path: false only when the text cannot touch a table this
   * version sees differently from the database. False positives are
   * allowed; false negatives are not (see TouchMatcher).
   *
   * @example
   * if (!schema.mayTouch(sql)) forwardUnchanged(sql);
   */
  mayTouch(sql: string): boolean {
    return this.matcher.test(sql);
  }
}
