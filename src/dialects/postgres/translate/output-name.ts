import type { Node } from 'libpg-query';

/**
 * The column name PostgreSQL gives a target without an alias (the server's
 * FigureColname in parse_target.c), computed on the raw parse tree. The
 * rewriter compares it before and after renaming column references: when a
 * rename would change what the client sees (`name` becoming `full_name`, or
 * `name::text` becoming `full_name::text`) it adds `AS "name"`.
 *
 * `rename` returns the physical name that a column reference now ends with,
 * or undefined when it was not renamed.
 */
export function outputName(node: Node | undefined, rename?: (ref: object) => string | undefined): string {
  return figure(node, rename)[0];
}

type Figure = [name: string, strength: number];
const UNKNOWN: Figure = ['?column?', 0];

const SQL_VALUE_FUNCTION: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIME_N: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp',
  SVFOP_CURRENT_ROLE: 'current_role',
  SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user',
  SVFOP_SESSION_USER: 'session_user',
  SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
};

function lastString(list: Node[] | undefined): string | undefined {
  const last = list?.at(-1);
  return last && 'String' in last ? last.String.sval : undefined;
}

function figure(node: Node | undefined, rename?: (ref: object) => string | undefined): Figure {
  if (!node) return UNKNOWN;
  if ('ColumnRef' in node) {
    const renamed = rename?.(node.ColumnRef);
    if (renamed !== undefined) return [renamed, 2];
    const name = lastString(node.ColumnRef.fields);
    return name === undefined ? UNKNOWN : [name, 2];
  }
  if ('A_Indirection' in node) {
    const name = lastString(node.A_Indirection.indirection);
    return name === undefined ? figure(node.A_Indirection.arg, rename) : [name, 2];
  }
  if ('FuncCall' in node) {
    const name = lastString(node.FuncCall.funcname);
    return name === undefined ? UNKNOWN : [name, 2];
  }
  if ('TypeCast' in node) {
    const inner = figure(node.TypeCast.arg, rename);
    if (inner[1] > 1) return inner;
    const type = lastString(node.TypeCast.typeName?.names);
    return type === undefined ? inner : [type, 1];
  }
  if ('CollateClause' in node) return figure(node.CollateClause.arg, rename);
  if ('A_Expr' in node) return node.A_Expr.kind === 'AEXPR_NULLIF' ? ['nullif', 2] : UNKNOWN;
  if ('CaseExpr' in node) {
    const inner = figure(node.CaseExpr.defresult, rename);
    return inner[1] > 1 ? inner : ['case', 1];
  }
  if ('A_ArrayExpr' in node) return ['array', 2];
  if ('RowExpr' in node) return ['row', 2];
  if ('CoalesceExpr' in node) return ['coalesce', 2];
  if ('MinMaxExpr' in node) return [node.MinMaxExpr.op === 'IS_GREATEST' ? 'greatest' : 'least', 2];
  if ('GroupingFunc' in node) return ['grouping', 2];
  if ('SQLValueFunction' in node) {
    const name = SQL_VALUE_FUNCTION[node.SQLValueFunction.op ?? ''];
    return name === undefined ? UNKNOWN : [name, 2];
  }
  if ('SubLink' in node) {
    const type = node.SubLink.subLinkType;
    if (type === 'EXISTS_SUBLINK') return ['exists', 2];
    if (type === 'ARRAY_SUBLINK') return ['array', 2];
    if (type === 'EXPR_SUBLINK') {
      const sub = node.SubLink.subselect;
      const first = sub && 'SelectStmt' in sub ? sub.SelectStmt.targetList?.[0] : undefined;
      if (first && 'ResTarget' in first) {
        // The subquery's own output name, which the rewriter keeps logical.
        return first.ResTarget.name !== undefined ? [first.ResTarget.name, 2] : figure(first.ResTarget.val);
      }
    }
    return UNKNOWN;
  }
  return UNKNOWN;
}
