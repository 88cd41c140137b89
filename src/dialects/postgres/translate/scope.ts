import type { LogicalTable } from '../../../versions/version-schema.ts';

/**
 * Name resolution as the server does it, on the version's logical schema:
 * one Level per query level (SELECT, or the body of an INSERT / UPDATE /
 * DELETE), each with the relations its FROM clause brings into scope and
 * the CTEs its WITH clause defines; a column reference is looked up from
 * the innermost level outwards.
 */

/** A relation in scope: a table, a CTE, a subquery, a function in FROM. */
export interface Rel {
  /** The name a qualified reference uses (alias, else table/CTE name); null for an unaliased subquery. */
  readonly refName: string | null;
  /** The version's table behind it, when it is one. */
  readonly table: LogicalTable | null;
  /** Column names this version sees, in order; null when unknown (a view, a function, ...). */
  readonly columns: readonly string[] | null;
  /** Every column name that exists physically (for capture checks); null when unknown. */
  readonly physical: ReadonlySet<string> | null;
  /** True for a table referenced without alias: `schema.table.col` may name it. */
  readonly bareTable: boolean;
  /** EXCLUDED in ON CONFLICT: reachable only by a qualified reference. */
  readonly qualifiedOnly: boolean;
}

export interface CteDef {
  readonly columns: readonly string[] | null;
}

export class Level {
  readonly rels: Rel[] = [];
  /** Set when this level's FROM has a JOIN ... USING or NATURAL JOIN (its `*` merges columns). */
  mergedJoin = false;

  constructor(
    readonly parent: Level | null,
    /** CTEs visible from here that this level defines; lookups continue in parents. */
    public ctes: Map<string, CteDef> | null = null,
  ) {}

  cte(name: string): CteDef | undefined {
    for (let l: Level | null = this; l; l = l.parent) {
      const def = l.ctes?.get(name);
      if (def) return def;
    }
    return undefined;
  }

  /** The relation a qualifier names, innermost first. */
  findRel(refName: string, schemaQualified: boolean): { rel: Rel; level: Level } | undefined {
    for (let l: Level | null = this; l; l = l.parent) {
      for (const rel of l.rels) {
        if (rel.refName === refName && (!schemaQualified || rel.bareTable)) return { rel, level: l };
      }
    }
    return undefined;
  }
}

/** A relation over a table of the version's schema. */
export function tableRel(
  table: LogicalTable,
  refName: string,
  bareTable: boolean,
  qualifiedOnly = false,
): Rel {
  return {
    refName,
    table,
    columns: table.columns.map((c) => c.name),
    physical: table.physicalColumns,
    bareTable,
    qualifiedOnly,
  };
}

/** A relation whose columns are named as the rewritten SQL names them (subquery, CTE): no mapping. */
export function derivedRel(refName: string | null, columns: readonly string[] | null): Rel {
  return {
    refName,
    table: null,
    columns,
    physical: columns ? new Set(columns) : null,
    bareTable: false,
    qualifiedOnly: false,
  };
}

/** The physical name a column of this relation has, or undefined when the version does not map it. */
export function physicalName(rel: Rel, column: string): string | null | undefined {
  if (!rel.table) return rel.columns?.includes(column) ? column : undefined;
  return rel.table.column(column)?.physical;
}

export function needsRewrite(rel: Rel, column: string): boolean {
  return rel.table?.rewrites === true && physicalName(rel, column) !== column;
}
