import { TranslationError, type TranslationErrorKind } from '../../../versions/translation-error.ts';
import type { LogicalTable, VersionSchema } from '../../../versions/version-schema.ts';
import type { MysqlSqlContext } from './context.ts';
import {
  type CstNode,
  child,
  children,
  identChain,
  identName,
  isNode,
  keywords,
  listItems,
  rangeOf,
} from './cst.ts';
import { mysqlMayTouch } from './fast-path.ts';
import { columnOf, fold, hasPhysicalColumn, isHiddenTableName, sameTableName, tableOf } from './names.ts';
import { quoteIdent } from './quote.ts';
import {
  bindsPhysically,
  derivedRel,
  hasColumn,
  Level,
  needsRewrite,
  physicalName,
  type Rel,
  tableRel,
} from './scope.ts';

/** An edit in UTF-16 positions of the statement text; the translator turns them into byte edits. */
export interface CharEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface MysqlStatementPlan {
  /** The parser's node type: `select_stmt`, `insert_stmt`, ... */
  readonly kind: string;
  /** Range of the statement in the text, in UTF-16 positions (the translator converts to bytes). */
  readonly start: number;
  readonly end: number;
  readonly tables: readonly { logical: string; physical: string; migrating: boolean }[];
  /** The result column names the client sees, for a SELECT (or RETURNING); null when unknown or none. */
  readonly outputColumns: readonly string[] | null;
}

/** Which clause an expression sits in: ORDER BY, GROUP BY and HAVING may name output columns. */
type Clause = 'select' | 'order' | 'group' | 'having' | 'other';

interface ExprContext {
  readonly clause: Clause;
  /** The query block's output names (for ORDER BY / GROUP BY / HAVING); null when unknown. */
  readonly outputs?: Outputs | null;
  /** INSERT ... ON DUPLICATE KEY UPDATE: what VALUES(col) names. */
  readonly valuesTarget?: Rel;
}

/** A query block's result columns, and which of them are plain columns of the same name. */
interface Outputs {
  readonly names: readonly string[];
  readonly plain: ReadonlySet<string>;
}

const NOT_EXPRESSIONS = new Set([
  'keyword',
  'parameter',
  'variable',
  'string_literal',
  'number_literal',
  'boolean_literal',
  'null_literal',
  'blob_literal',
  'datetime_literal',
  'interval_unit',
  'data_type_name',
  'modified_data_type',
  'all_columns',
]);

/**
 * The CST walk that turns MySQL statements written for one schema version
 * into edits on the original text. It resolves table and column references
 * the way the server would on the version's logical schema and edits only
 * identifiers whose physical name differs (plus `*` expansions, output
 * aliases that keep the client's column names, and INSERT column lists).
 * Whatever it cannot resolve with certainty on a migrating table it refuses
 * with a TranslationError.
 *
 * @example
 * const { edits, statements } = rewriteMysqlStatements(schema, context, sql, parse(sql, options).statements);
 */
export function rewriteMysqlStatements(
  schema: VersionSchema,
  context: MysqlSqlContext,
  sql: string,
  statements: readonly CstNode[],
): { edits: CharEdit[]; statements: MysqlStatementPlan[]; copied: [number, number][] } {
  const rewriter = new Rewriter(schema, context, sql);
  refuseModeChangeWithUse(schema, sql, statements);
  const plans = statements.filter((s) => s.type !== 'empty').map((s) => rewriter.statement(s));
  return { edits: rewriter.sortedEdits(), statements: plans, copied: rewriter.copied };
}

/**
 * A text that changes sql_mode and also names a migrating table: the
 * statements after the change would tokenize under a mode (ANSI_QUOTES,
 * NO_BACKSLASH_ESCAPES) the translator did not read them with, so the
 * change must come as a statement of its own.
 */
function refuseModeChangeWithUse(schema: VersionSchema, sql: string, statements: readonly CstNode[]): void {
  if (statements.length < 2 || !/sql_mode/i.test(sql) || !mysqlMayTouch(schema, sql)) return;
  for (const st of statements) {
    if (st.type !== 'set_stmt' || !/sql_mode/i.test(sql.slice(...rangeOf(st)))) continue;
    throw new TranslationError(
      'unsupported',
      schema.name,
      'sql_mode',
      'a text that changes sql_mode cannot also use a migrating table; send the SET as a statement of its own',
      rangeOf(st)[0],
    );
  }
}

class Rewriter {
  private readonly edits: (CharEdit & { seq: number })[] = [];
  private readonly editAt = new Map<string, string>();
  private tables: { logical: string; physical: string; migrating: boolean }[] = [];
  private readonly lctn: number;
  /**
   * Ranges of the text that the plan copies (an unaliased expression's
   * column name, kept as an alias or reported as an output name): a
   * statement whose constants differ inside one of them needs a plan of its own.
   */
  readonly copied: [number, number][] = [];

  constructor(
    private readonly v: VersionSchema,
    private readonly ctx: MysqlSqlContext,
    private readonly src: string,
  ) {
    this.lctn = ctx.lowerCaseTableNames;
  }

  sortedEdits(): CharEdit[] {
    return this.edits
      .sort((a, b) => a.start - b.start || a.end - b.end || a.seq - b.seq)
      .map(({ start, end, text }) => ({ start, end, text }));
  }

  statement(node: CstNode): MysqlStatementPlan {
    this.tables = [];
    const [start, end] = rangeOf(node);
    let outputColumns: readonly string[] | null = null;
    switch (node.type) {
      case 'select_stmt':
      case 'compound_select_stmt':
        outputColumns = this.query(node, null).outputs?.names ?? null;
        break;
      case 'insert_stmt':
        outputColumns = this.insert(node);
        break;
      case 'update_stmt':
        this.update(node);
        break;
      case 'delete_stmt':
        this.delete(node);
        break;
      default:
        if (mysqlMayTouch(this.v, this.src.slice(start, end))) {
          this.fail(
            'unsupported',
            'statement',
            `${node.type
              .replace(/_stmt$/, '')
              .replaceAll('_', ' ')
              .toUpperCase()} statements that name a migrating table cannot be translated`,
            start,
          );
        }
    }
    return { kind: node.type, start, end, tables: this.tables, outputColumns };
  }

  // ---- query blocks ----------------------------------------------------------------

  /** A SELECT (or UNION, or parenthesized SELECT) under `parent`; its outputs and its own level. */
  private query(
    node: CstNode,
    parent: Level | null,
    compoundTail = false,
  ): { outputs: Outputs | null; level: Level | null } {
    if (node.type === 'paren_expr') {
      const inner = child(node, 'expr');
      return inner ? this.query(inner, parent) : { outputs: null, level: null };
    }
    if (node.type === 'compound_select_stmt') {
      const left = this.query(child(node, 'left')!, parent);
      this.query(child(node, 'right')!, parent, true);
      return { outputs: left.outputs, level: null };
    }
    if (node.type !== 'select_stmt') {
      this.walk(node, new Level(parent, this.lctn), { clause: 'other' });
      return { outputs: null, level: null };
    }
    return this.select(node, parent, compoundTail);
  }

  private select(
    node: CstNode,
    parent: Level | null,
    compoundTail: boolean,
  ): { outputs: Outputs | null; level: Level | null } {
    const clauses = children(node, 'clauses');
    const level = new Level(parent, this.lctn);
    const first = clauses[0];
    if (first?.type === 'paren_expr') {
      // `(SELECT ...) ORDER BY x LIMIT n`: the trailing clauses name the inner block's output columns.
      const inner = this.query(first, parent);
      return { outputs: inner.outputs, level: inner.level };
    }
    const ons: CstNode[] = [];
    for (const c of clauses) {
      if (c.type === 'with_clause') this.with(c, level);
      else if (c.type === 'from_clause') this.from(child(c, 'expr'), level, ons);
    }
    for (const on of ons) this.walk(on, level, { clause: 'other' });
    let outputs: Outputs | null = null;
    for (const c of clauses) {
      if (c.type === 'select_clause') outputs = this.selectList(child(c, 'columns'), level);
    }
    for (const c of clauses) {
      switch (c.type) {
        case 'with_clause':
        case 'from_clause':
        case 'select_clause':
          break;
        case 'order_by_clause':
          // A UNION's trailing ORDER BY names the union's output columns, which keep the version's names.
          if (!compoundTail) this.walk(c, level, { clause: 'order', outputs });
          break;
        case 'limit_clause':
          if (!compoundTail) this.walk(c, level, { clause: 'other' });
          break;
        case 'group_by_clause':
          this.walk(c, level, { clause: 'group', outputs });
          break;
        case 'having_clause':
          this.walk(c, level, { clause: 'having', outputs });
          break;
        case 'where_clause':
          this.walk(c, level, { clause: 'other' });
          break;
        default:
          this.walk(c, level, { clause: 'other' });
      }
    }
    return { outputs, level };
  }

  /** One query level's list of result columns: star expansion, renamed columns keep their names. */
  private selectList(list: CstNode | undefined, level: Level): Outputs | null {
    const names: string[] = [];
    const plain = new Set<string>();
    let known = true;
    for (const item of listItems(list)) {
      if (item.type === 'all_columns') {
        const cols = this.star(item, null, level);
        if (cols) names.push(...cols);
        else known = false;
        continue;
      }
      if (item.type === 'member_expr' && child(item, 'property')?.type === 'all_columns') {
        const chain = identChain(child(item, 'object')!);
        const cols = chain ? this.star(item, chain, level) : null;
        if (cols) names.push(...cols);
        else known = false;
        continue;
      }
      if (item.type === 'alias') {
        const expr = child(item, 'expr')!;
        const alias = identName(child(item, 'alias')!);
        this.walk(expr, level, { clause: 'select' });
        const chain = identChain(expr);
        if (chain && fold(identName(chain.at(-1)!)) === fold(alias)) plain.add(fold(alias));
        names.push(alias);
        continue;
      }
      const before = this.edits.length;
      this.walk(item, level, { clause: 'select' });
      const chain = identChain(item);
      const [start, end] = rangeOf(item);
      // The server names an unaliased column after its text as written: keep that name.
      const name = chain
        ? identName(chain.at(-1)!)
        : item.type === 'string_literal'
          ? String(item.value)
          : this.src.slice(start, end);
      if (chain) plain.add(fold(name));
      else this.copied.push([start, end]);
      if (this.edits.length > before) {
        if (name.length > 256)
          this.fail(
            'unsupported',
            name.slice(0, 40),
            'an unaliased result column this long (give it an alias)',
            start,
          );
        this.insertAt(end, ` AS ${quoteIdent(name)}`);
      }
      names.push(name);
    }
    return known ? { names, plain } : null;
  }

  /** `*` or `t.*`: expanded to the version's visible columns where a table needs it. */
  private star(item: CstNode, chain: CstNode[] | null, level: Level): string[] | null {
    const [start, end] = rangeOf(item);
    if (chain) {
      const q = chain.at(-1)!;
      const db = chain.length > 1 ? chain[0] : undefined;
      const found = level.findRel(identName(q), db !== undefined);
      if (!found) return null;
      const rel = found.rel;
      if (!rel.table || rel.table.sameColumns) {
        if (rel.qualifierRename !== null) this.edit(...rangeOf(q), quoteIdent(rel.qualifierRename));
        else if (db && rel.table && rel.table.physical !== rel.table.name)
          this.edit(rangeOf(db)[0], rangeOf(q)[1], quoteIdent(rel.refName!));
        return rel.columns ? [...rel.columns] : null;
      }
      this.edit(start, end, this.expansion(rel, true));
      return [...rel.columns!];
    }
    const rels = level.rels.filter((r) => !r.qualifiedOnly);
    const names: string[] = [];
    let known = true;
    for (const r of rels) {
      if (r.columns) names.push(...r.columns);
      else known = false;
    }
    if (!rels.some((r) => r.table && !r.table.sameColumns)) return known && !level.mergedJoin ? names : null;
    const migrating = rels.find((r) => r.table && !r.table.sameColumns)!;
    if (level.mergedJoin) {
      this.fail(
        'unsupported',
        migrating.table!.name,
        '* over a JOIN ... USING or a NATURAL JOIN with a migrating table (list the columns)',
        start,
      );
    }
    const qualify = rels.length > 1;
    const parts = rels.map((r) => {
      if (r.table) return this.expansion(r, qualify);
      if (r.refName === null)
        this.fail('unsupported', migrating.table!.name, '* next to a relation without a name', start);
      if (r.columns)
        return r.columns.map((c) => (qualify ? `${quoteIdent(r.refName!)}.` : '') + quoteIdent(c)).join(', ');
      return `${quoteIdent(r.refName)}.*`;
    });
    this.edit(start, end, parts.join(', '));
    return known ? names : null;
  }

  private expansion(rel: Rel, qualify: boolean): string {
    const t = rel.table!;
    const prefix = qualify ? `${quoteIdent(rel.qualifierRename ?? rel.refName!)}.` : '';
    return t.columns
      .map((c) => {
        const phys = this.physicalOrFail(t, c.name, c.physical, -1);
        return phys === c.name
          ? prefix + quoteIdent(phys)
          : `${prefix}${quoteIdent(phys)} AS ${quoteIdent(c.name)}`;
      })
      .join(', ');
  }

  private with(clause: CstNode, level: Level): void {
    for (const cte of listItems(child(clause, 'tables'))) {
      if (cte.type !== 'common_table_expr') continue;
      const name = identName(child(cte, 'table')!);
      const aliases = child(cte, 'columns') ? listItems(child(cte, 'columns')).map(identName) : null;
      // A recursive CTE sees itself: its columns are what its list names, else unknown until its body is read.
      level.ctes.set(name, { columns: aliases });
      const body = child(cte, 'expr');
      const out = body ? this.query(body, level).outputs : null;
      level.ctes.set(name, { columns: aliases ?? out?.names ?? null });
    }
  }

  // ---- FROM ---------------------------------------------------------------------------

  private from(node: CstNode | undefined, level: Level, ons: CstNode[]): void {
    if (!node) return;
    switch (node.type) {
      case 'join_expr': {
        this.from(child(node, 'left'), level, ons);
        this.from(child(node, 'right'), level, ons);
        const natural = keywords(node, 'operator').includes('NATURAL');
        const spec = child(node, 'specification');
        if (natural || spec?.type === 'join_using_specification') {
          level.mergedJoin = true;
          this.mergedColumns(node, spec, level, natural);
        } else if (spec) {
          ons.push(spec);
        }
        return;
      }
      case 'list_expr':
        for (const item of children(node, 'items')) this.from(item, level, ons);
        return;
      case 'paren_expr': {
        const inner = child(node, 'expr')!;
        if (inner.type === 'select_stmt' || inner.type === 'compound_select_stmt') {
          this.query(inner, level.parent);
          level.rels.push(derivedRel(null, null));
        } else {
          this.from(inner, level, ons);
        }
        return;
      }
      case 'alias': {
        const expr = child(node, 'expr')!;
        const alias = identName(child(node, 'alias')!);
        const columnAliases = child(node, 'columnAliases');
        if (expr.type === 'identifier' || expr.type === 'member_expr') {
          const rel = this.tableRef(expr, level, alias, false);
          if (columnAliases && rel.table && !rel.table.sameColumns) {
            this.fail(
              'unsupported',
              rel.table.name,
              'column aliases on a migrating table (list the columns instead)',
              rangeOf(node)[0],
            );
          }
          return;
        }
        const sub = expr.type === 'paren_expr' ? child(expr, 'expr') : undefined;
        if (
          sub &&
          (sub.type === 'select_stmt' || sub.type === 'compound_select_stmt' || sub.type === 'paren_expr')
        ) {
          // A derived table sees the levels outside its own FROM (LATERAL aside), not its siblings.
          const out = this.query(sub, level.parent);
          const names = columnAliases
            ? listItems(columnAliases).map(identName)
            : (out.outputs?.names ?? null);
          level.rels.push(derivedRel(alias, names));
          return;
        }
        this.walk(expr, level, { clause: 'other' });
        level.rels.push(derivedRel(alias, null));
        return;
      }
      case 'identifier':
      case 'member_expr':
        this.tableRef(node, level, null, false);
        return;
      default:
        // Table functions (JSON_TABLE) and whatever else: columns unknown.
        this.walk(node, level, { clause: 'other' });
        level.rels.push(derivedRel(null, null));
    }
  }

  /** JOIN ... USING / NATURAL JOIN: the join columns must mean the same physically. */
  private mergedColumns(join: CstNode, spec: CstNode | undefined, level: Level, natural: boolean): void {
    const migrating = level.rels.find((r) => r.table?.rewrites && !r.table.sameColumns);
    if (natural) {
      if (migrating)
        this.fail(
          'unsupported',
          migrating.table!.name,
          'a NATURAL JOIN with a migrating table (join ON its columns)',
          rangeOf(join)[0],
        );
      return;
    }
    for (const col of listItems(child(spec!, 'expr'))) {
      const name = identName(col);
      const renamed = level.rels.find((r) => hasColumn(r, name) && needsRewrite(r, name));
      if (renamed)
        this.fail(
          'unsupported',
          `${renamed.refName}.${name}`,
          'JOIN ... USING a renamed column (join ON it instead)',
          rangeOf(col)[0],
        );
    }
  }

  /**
   * A table reference: a CTE, a table of the version (renamed to its
   * physical name), or something the version map does not know.
   * `noAlias`: the statement cannot alias it (single-table DELETE, INSERT).
   */
  private tableRef(node: CstNode, level: Level, alias: string | null, noAlias: boolean): Rel {
    const chain = identChain(node);
    if (!chain || chain.length > 2) {
      const rel = derivedRel(alias, null);
      level.rels.push(rel);
      return rel;
    }
    const nameNode = chain.at(-1)!;
    const name = identName(nameNode);
    const db = chain.length === 2 ? identName(chain[0]!) : null;
    if (db === null) {
      const cte = level.cte(name);
      if (cte) {
        const rel = derivedRel(alias ?? name, cte.columns);
        level.rels.push(rel);
        return rel;
      }
    }
    const current = db ?? this.ctx.database;
    if (current === null || !sameTableName(current, this.v.schema, this.lctn)) {
      const rel: Rel = { ...derivedRel(alias ?? name, null), bareTable: alias === null };
      level.rels.push(rel);
      return rel;
    }
    const t = tableOf(this.v, name, this.lctn);
    if (!t) {
      if (isHiddenTableName(this.v, name, this.lctn))
        this.fail('undefined_table', name, "the table doesn't exist", rangeOf(nameNode)[0]);
      const rel: Rel = { ...derivedRel(alias ?? name, null), bareTable: alias === null };
      level.rels.push(rel);
      return rel;
    }
    const physical = t.physical;
    if (physical === null)
      this.fail('unsupported', name, 'the table was dropped by a completed migration', rangeOf(nameNode)[0]);
    this.tables.push({ logical: t.name, physical, migrating: t.rewrites });
    let qualifierRename: string | null = null;
    if (physical !== t.name) {
      this.edit(...rangeOf(nameNode), quoteIdent(physical));
      if (alias === null) {
        if (noAlias) qualifierRename = physical;
        else this.insertAt(rangeOf(node)[1], ` AS ${quoteIdent(name)}`);
      }
    }
    const rel = tableRel(t, alias ?? name, alias === null, { qualifierRename });
    level.rels.push(rel);
    return rel;
  }

  // ---- INSERT / REPLACE, UPDATE, DELETE ---------------------------------------------------

  private insert(node: CstNode): string[] | null {
    const clauses = children(node, 'clauses');
    const level = new Level(null, this.lctn);
    for (const c of clauses) if (c.type === 'with_clause') this.with(c, level);
    const head = clauses.find((c) => c.type === 'insert_clause')!;
    const tableNode = child(head, 'table')!;
    const target =
      tableNode.type === 'alias'
        ? this.tableRef(child(tableNode, 'expr')!, level, identName(child(tableNode, 'alias')!), false)
        : this.tableRef(tableNode, level, null, true);
    const t = target.table;
    const columns = child(head, 'columns');
    if (columns) {
      for (const col of listItems(columns)) this.targetColumn(col, target, level);
    } else if (t && !t.sameColumns && !clauses.some((c) => c.type === 'set_clause')) {
      // VALUES or SELECT in the version's column order: name those columns physically.
      const list = t.columns.map((c) =>
        quoteIdent(this.physicalOrFail(t, c.name, c.physical, rangeOf(tableNode)[0])),
      );
      this.insertAt(rangeOf(tableNode)[1], ` (${list.join(', ')})`);
    }
    let selectLevel: Level | null = null;
    let outputs: string[] | null = null;
    for (const c of clauses) {
      switch (c.type) {
        case 'insert_clause':
        case 'with_clause':
          break;
        case 'values_clause':
          this.walk(child(c, 'values'), level, { clause: 'other' });
          break;
        case 'set_clause':
          this.assignments(c, target, level, {});
          break;
        case 'select_stmt':
        case 'compound_select_stmt':
        case 'paren_expr':
          selectLevel = this.query(c, null).level;
          break;
        case 'row_alias_clause': {
          const alias = identName(child(c, 'rowAlias')!);
          if (child(c, 'columnAliases') && t && !t.sameColumns)
            this.fail(
              'unsupported',
              t.name,
              'column aliases of the row alias on a migrating table',
              rangeOf(c)[0],
            );
          if (t) level.rels.push(tableRel(t, alias, false, { qualifiedOnly: true }));
          else level.rels.push({ ...derivedRel(alias, null), qualifiedOnly: true });
          break;
        }
        case 'on_duplicate_key_update_clause': {
          const odku = new Level(null, this.lctn);
          odku.rels.push(...level.rels);
          // INSERT ... SELECT: the update may also name the SELECT's columns.
          if (selectLevel) odku.rels.push(...selectLevel.rels);
          this.assignments(c, target, odku, { valuesTarget: target });
          break;
        }
        case 'returning_clause':
          outputs = this.selectList(child(c, 'columns'), level)?.names.slice() ?? null;
          break;
        default:
          this.walk(c, level, { clause: 'other' });
      }
    }
    return outputs;
  }

  private update(node: CstNode): void {
    const clauses = children(node, 'clauses');
    const level = new Level(null, this.lctn);
    const ons: CstNode[] = [];
    for (const c of clauses) {
      if (c.type === 'with_clause') this.with(c, level);
      else if (c.type === 'update_clause') this.from(child(c, 'tables'), level, ons);
    }
    for (const on of ons) this.walk(on, level, { clause: 'other' });
    for (const c of clauses) {
      if (c.type === 'with_clause' || c.type === 'update_clause') continue;
      if (c.type === 'set_clause') this.assignments(c, null, level, {});
      else this.walk(c, level, { clause: 'other' });
    }
  }

  private delete(node: CstNode): void {
    const clauses = children(node, 'clauses');
    const level = new Level(null, this.lctn);
    const head = clauses.find((c) => c.type === 'delete_clause')!;
    const multi = clauses.some((c) => c.type === 'from_clause');
    const ons: CstNode[] = [];
    for (const c of clauses) {
      if (c.type === 'with_clause') this.with(c, level);
      else if (c.type === 'from_clause') this.from(child(c, 'expr'), level, ons);
    }
    if (multi) {
      // The targets name tables of the FROM clause by their alias, which a renamed table keeps.
      for (const target of listItems(child(head, 'tables'))) {
        const chain = identChain(
          target.type === 'member_expr' && child(target, 'property')?.type === 'all_columns'
            ? child(target, 'object')!
            : target,
        );
        if (!chain) continue;
        const found = level.findRel(identName(chain.at(-1)!), chain.length > 1);
        if (chain.length > 1 && found?.rel.table && found.rel.table.physical !== found.rel.table.name)
          this.fail(
            'unsupported',
            found.rel.table.name,
            'a database-qualified DELETE target that is renamed (name it by its alias)',
            rangeOf(target)[0],
          );
      }
    } else {
      for (const target of listItems(child(head, 'tables'))) {
        if (target.type === 'alias')
          this.tableRef(child(target, 'expr')!, level, identName(child(target, 'alias')!), false);
        else this.tableRef(target, level, null, true);
      }
    }
    for (const on of ons) this.walk(on, level, { clause: 'other' });
    for (const c of clauses) {
      if (c.type === 'with_clause' || c.type === 'from_clause' || c.type === 'delete_clause') continue;
      this.walk(c, level, { clause: 'other' });
    }
  }

  /** SET a = ..., b = ...: targets are columns (of `target` when given), values expressions. */
  private assignments(
    clause: CstNode,
    target: Rel | null,
    level: Level,
    context: { valuesTarget?: Rel },
  ): void {
    for (const a of listItems(child(clause, 'assignments'))) {
      if (a.type !== 'column_assignment') {
        this.walk(a, level, { clause: 'other' });
        continue;
      }
      const col = child(a, 'column')!;
      if (target && col.type === 'identifier') this.targetColumn(col, target, level);
      else this.walk(col, level, { clause: 'other' });
      this.walk(child(a, 'expr'), level, { clause: 'other', ...context });
    }
  }

  /** A column of the INSERT target, named unqualified. */
  private targetColumn(col: CstNode, target: Rel, level: Level): void {
    if (col.type !== 'identifier') {
      this.walk(col, level, { clause: 'other' });
      return;
    }
    const t = target.table;
    if (!t?.rewrites) return;
    const name = identName(col);
    const c = columnOf(t, name);
    if (!c) {
      if (hasPhysicalColumn(t, name))
        this.fail('undefined_column', name, 'Unknown column in the field list', rangeOf(col)[0]);
      return;
    }
    const phys = this.physicalOrFail(t, name, c.physical, rangeOf(col)[0]);
    if (fold(phys) !== fold(name)) this.edit(...rangeOf(col), quoteIdent(phys));
  }

  // ---- expressions -----------------------------------------------------------------------

  private walk(node: unknown, level: Level, c: ExprContext): void {
    if (Array.isArray(node)) {
      for (const n of node) this.walk(n, level, c);
      return;
    }
    if (!isNode(node) || NOT_EXPRESSIONS.has(node.type)) return;
    switch (node.type) {
      case 'identifier':
        this.unqualified(node, level, c);
        return;
      case 'member_expr': {
        const chain = identChain(node);
        if (chain) this.qualified(chain, level);
        else this.walk(child(node, 'object'), level, c);
        return;
      }
      case 'select_stmt':
      case 'compound_select_stmt':
        this.query(node, level);
        return;
      case 'func_call': {
        const name = child(node, 'name');
        const args = listItems(child(child(child(node, 'args') ?? node, 'expr') ?? node, 'args'));
        if (
          c.valuesTarget &&
          name &&
          fold(identName(name)) === 'values' &&
          args.length === 1 &&
          args[0]!.type === 'identifier'
        ) {
          this.targetColumn(args[0]!, c.valuesTarget, level);
          return;
        }
        for (const [key, value] of Object.entries(node))
          if (key !== 'name' && key !== 'range') this.walk(value, level, c);
        return;
      }
      case 'binary_expr':
        if (keywords(node, 'operator').includes('COLLATE')) {
          this.walk(child(node, 'left'), level, c);
          return;
        }
        break;
      case 'alias':
        this.walk(child(node, 'expr'), level, c);
        return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key !== 'range' && key !== 'type' && typeof value === 'object') this.walk(value, level, c);
    }
  }

  private qualified(chain: CstNode[], level: Level): void {
    if (chain.length > 3) return;
    const col = chain.at(-1)!;
    const q = chain.at(-2)!;
    const db = chain.length === 3 ? chain[0]! : undefined;
    const found = level.findRel(identName(q), db !== undefined);
    // Not a relation in scope: an error the server reports in its own words.
    if (!found) return;
    const { rel } = found;
    if (db && !sameTableName(identName(db), this.v.schema, this.lctn)) return;
    const t = rel.table;
    if (rel.qualifierRename !== null) this.edit(...rangeOf(q), quoteIdent(rel.qualifierRename));
    if (!t?.rewrites) return;
    const name = identName(col);
    const c = columnOf(t, name);
    if (!c) {
      if (hasPhysicalColumn(t, name))
        this.fail('undefined_column', `${identName(q)}.${name}`, 'Unknown column', rangeOf(col)[0]);
      return;
    }
    const phys = this.physicalOrFail(t, name, c.physical, rangeOf(col)[0]);
    if (fold(phys) !== fold(name)) this.edit(...rangeOf(col), quoteIdent(phys));
    if (db && t.physical !== t.name && rel.qualifierRename === null) {
      // `db.users.id` on `db.accounts AS users`: only the alias names it now.
      this.edit(rangeOf(db)[0], rangeOf(q)[1], quoteIdent(rel.refName!));
    }
  }

  private unqualified(ident: CstNode, level: Level, c: ExprContext): void {
    const name = identName(ident);
    const at = rangeOf(ident)[0];
    const outputs = c.outputs;
    const isOutput = outputs?.names.some((o) => fold(o) === fold(name)) === true;
    if (isOutput && c.clause === 'order') return; // ORDER BY prefers the output column, whose name stays.
    if (isOutput && (c.clause === 'group' || c.clause === 'having') && !outputs!.plain.has(fold(name))) {
      // The server prefers a table column here; one the translation renames makes the name ambiguous.
      const rel = level.rels.find((r) => !r.qualifiedOnly && hasColumn(r, name));
      if (rel && needsRewrite(rel, name))
        this.fail(
          'unsupported',
          name,
          'the name is both a result column alias and a column being renamed: qualify it',
          at,
        );
      return;
    }
    let hiddenSeen = false;
    for (let l: Level | null = level; l; l = l.parent) {
      const visible = l.rels.filter((r) => !r.qualifiedOnly);
      const candidates = visible.filter((r) => hasColumn(r, name));
      const unknown = visible.filter((r) => r.columns === null);
      if (candidates.length > 1) {
        if (candidates.some((r) => needsRewrite(r, name)))
          this.fail('ambiguous_column', name, 'Column is ambiguous', at);
        return;
      }
      const rel = candidates[0];
      if (rel) {
        if (unknown.length > 0 && needsRewrite(rel, name)) {
          this.fail(
            'unsupported',
            name,
            `cannot tell whether it is a column of ${rel.refName} or of ${unknown[0]!.refName ?? 'a derived table'}: qualify it`,
            at,
          );
        }
        this.mapUnqualified(ident, name, rel, l, level, c);
        return;
      }
      const hiddenHere = visible.some((r) => r.table && hasPhysicalColumn(r.table, name));
      hiddenSeen ||= hiddenHere;
      if (unknown.length > 0) {
        if (hiddenHere || this.outerCandidate(l.parent, name)) {
          this.fail(
            'unsupported',
            name,
            `cannot tell whether it is a column of ${unknown[0]!.refName ?? 'a derived table'}: qualify it`,
            at,
          );
        }
        return;
      }
    }
    if (hiddenSeen) this.fail('undefined_column', name, 'Unknown column', at);
  }

  private outerCandidate(from: Level | null, name: string): boolean {
    for (let l = from; l; l = l.parent) {
      if (l.rels.some((r) => !r.qualifiedOnly && hasColumn(r, name) && needsRewrite(r, name))) return true;
    }
    return false;
  }

  private mapUnqualified(
    ident: CstNode,
    name: string,
    rel: Rel,
    relLevel: Level,
    level: Level,
    c: ExprContext,
  ): void {
    const at = rangeOf(ident)[0];
    const phys = this.physicalOrFail(rel.table, name, physicalName(rel, name), at);
    const renamed = fold(phys) !== fold(name);
    // Would the physical name bind to another relation first (a hidden or renamed-onto column)?
    let captured = false;
    for (let l: Level | null = level; l && !captured; l = l.parent) {
      captured = l.rels.some((r) => r !== rel && !r.qualifiedOnly && bindsPhysically(r, phys));
      if (l === relLevel) break;
    }
    // ... or to a result column of that name (ORDER BY, GROUP BY, HAVING may name those).
    if (renamed && c.outputs !== undefined && c.clause !== 'select' && c.clause !== 'other') {
      if (c.outputs === null || c.outputs.names.some((o) => fold(o) === fold(phys))) captured = true;
    }
    if (!captured && !renamed) return;
    let text = quoteIdent(phys);
    if (captured) {
      const qualifier = rel.qualifierRename ?? rel.refName;
      if (qualifier === null || rel.refName === null || level.findRel(rel.refName, false)?.rel !== rel)
        this.fail(
          'unsupported',
          name,
          'the column would bind to another relation and cannot be qualified',
          at,
        );
      text = `${quoteIdent(qualifier)}.${text}`;
    }
    this.edit(...rangeOf(ident), text);
  }

  // ---- helpers ------------------------------------------------------------------------------

  private physicalOrFail(
    t: LogicalTable | null,
    column: string,
    physical: string | null | undefined,
    at: number,
  ): string {
    if (physical === null)
      this.fail(
        'unsupported',
        `${t?.name ?? '?'}.${column}`,
        'the column was dropped by a completed migration',
        at,
      );
    return physical ?? column;
  }

  private edit(start: number, end: number, text: string): void {
    const key = `${start}:${end}`;
    const prior = this.editAt.get(key);
    if (prior !== undefined) {
      if (prior !== text) this.fail('unsupported', text, 'conflicting rewrites of one identifier', start);
      return;
    }
    this.editAt.set(key, text);
    this.edits.push({ start, end, text, seq: this.edits.length });
  }

  private insertAt(at: number, text: string): void {
    this.edits.push({ start: at, end: at, text, seq: this.edits.length });
  }

  private fail(kind: TranslationErrorKind, object: string, reason: string, at: number): never {
    throw new TranslationError(kind, this.v.name, object, reason, at);
  }
}
