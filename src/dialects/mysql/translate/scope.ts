import type { LogicalTable } from '../../../versions/version-schema.ts';
import { columnOf, fold, hasPhysicalColumn, sameTableName } from './names.ts';

/**
 * Name resolution as MySQL does it, on the version's logical schema: one
 * Level per query block (SELECT, or the body of an INSERT / UPDATE /
 * DELETE) with the relations its FROM clause brings into scope and the
 * CTEs its WITH clause defines; a column reference is looked up from the
 * innermost level outwards. Column names compare case-insensitively.
 */
export interface Rel {
  /** The name a qualified reference uses (alias, else table / CTE name); null for none. */
  readonly refName: string | null;
  /** The version's table behind it, when it is one. */
  readonly table: LogicalTable | null;
  /** Column names this version sees, in order; null when unknown (a view, another database, ...). */
  readonly columns: readonly string[] | null;
  /** True for a table named without alias: `db.table.col` may name it. */
  readonly bareTable: boolean;
  /** A row alias (`AS new` of INSERT): reachable only by a qualified reference. */
  readonly qualifiedOnly: boolean;
  /**
   * When the statement cannot alias the renamed table (single-table DELETE,
   * INSERT target), the physical name qualified references must use instead.
   */
  readonly qualifierRename: string | null;
}

export interface CteDef {
  readonly columns: readonly string[] | null;
}

export class Level {
  readonly rels: Rel[] = [];
  /** Set when this level's FROM has a JOIN ... USING or NATURAL JOIN (its `*` merges columns). */
  mergedJoin = false;
  readonly ctes = new Map<string, CteDef>();

  constructor(
    readonly parent: Level | null,
    readonly lctn: number,
  ) {}

  cte(name: string): CteDef | undefined {
    for (let l: Level | null = this; l; l = l.parent) {
      for (const [n, def] of l.ctes) if (sameTableName(n, name, this.lctn)) return def;
    }
    return undefined;
  }

  /** The relation a qualifier names, innermost first. */
  findRel(refName: string, dbQualified: boolean): { rel: Rel; level: Level } | undefined {
    for (let l: Level | null = this; l; l = l.parent) {
      for (const rel of l.rels) {
        if (
          rel.refName !== null &&
          sameTableName(rel.refName, refName, this.lctn) &&
          (!dbQualified || rel.bareTable)
        )
          return { rel, level: l };
      }
    }
    return undefined;
  }
}

export function tableRel(
  table: LogicalTable,
  refName: string,
  bareTable: boolean,
  options: { qualifiedOnly?: boolean; qualifierRename?: string | null } = {},
): Rel {
  return {
    refName,
    table,
    columns: table.columns.map((c) => c.name),
    bareTable,
    qualifiedOnly: options.qualifiedOnly ?? false,
    qualifierRename: options.qualifierRename ?? null,
  };
}

/** A relation whose columns are named as the rewritten SQL names them (subquery, CTE) or unknown. */
export function derivedRel(refName: string | null, columns: readonly string[] | null): Rel {
  return { refName, table: null, columns, bareTable: false, qualifiedOnly: false, qualifierRename: null };
}

export function hasColumn(rel: Rel, name: string): boolean {
  if (rel.table) return columnOf(rel.table, name) !== undefined;
  return rel.columns?.some((c) => fold(c) === fold(name)) === true;
}

/** True when the physical name `name` would bind to a column of this relation. */
export function bindsPhysically(rel: Rel, name: string): boolean {
  if (rel.table) return hasPhysicalColumn(rel.table, name);
  return rel.columns?.some((c) => fold(c) === fold(name)) === true;
}

/** The physical name of a column of this relation; undefined when not mapped, null when dropped. */
export function physicalName(rel: Rel, column: string): string | null | undefined {
  if (!rel.table) return hasColumn(rel, column) ? column : undefined;
  return columnOf(rel.table, column)?.physical;
}

export function needsRewrite(rel: Rel, column: string): boolean {
  if (rel.table?.rewrites !== true) return false;
  const phys = physicalName(rel, column);
  return phys === null || phys === undefined || fold(phys) !== fold(column);
}
