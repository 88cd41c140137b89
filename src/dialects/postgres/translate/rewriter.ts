import type {
  ColumnRef,
  CopyStmt,
  DefElem,
  DeleteStmt,
  FuncCall,
  InsertStmt,
  Node,
  OnConflictClause,
  RangeVar,
  RawStmt,
  SelectStmt,
  SubLink,
  TypeCast,
  UpdateStmt,
  WithClause,
} from 'libpg-query';
import type { CopyHeaderMatch } from '../../../proxy/statement-router.ts';
import { TranslationError, type TranslationErrorKind } from '../../../versions/translation-error.ts';
import type { LogicalTable, VersionSchema } from '../../../versions/version-schema.ts';
import { catalogView, type DefinitionHost, definitionCall, regclassOutput } from './catalog-views.ts';
import { quoteIdent } from './ident.ts';
import { nameParts, nextToken, parenList, Tok, type Token, targetEnd, wordIs } from './lexer.ts';
import { type NameLiteralHost, nameLiteralCall, nameLiteralCast } from './name-literals.ts';
import { outputName } from './output-name.ts';
import type { StatementPlan, TableUse, TextEdit } from './plan.ts';
import { derivedRel, Level, needsRewrite, physicalName, type Rel, tableRel } from './scope.ts';
import { defaultResolution, type TableResolution, UNKNOWN } from './search-path.ts';

/**
 * The AST walk that turns statements written for one schema version into
 * edits on the original text. It resolves every table and column reference
 * the way the server would on the version's logical schema, and edits only
 * the identifiers whose physical name differs (plus `*` expansions, output
 * aliases and INSERT column lists). Whatever it cannot resolve with
 * certainty on a migrating table it refuses with a TranslationError.
 *
 * @example
 * const { edits, statements } = rewriteStatements(schema, bytes, parseSync(sql).stmts ?? []);
 */
export function rewriteStatements(
  schema: VersionSchema,
  bytes: Uint8Array,
  stmts: readonly RawStmt[],
  resolution: TableResolution = defaultResolution(schema),
): { edits: TextEdit[]; statements: StatementPlan[] } {
  const rewriter = new Rewriter(schema, bytes, resolution);
  const statements = stmts.map((raw) => rewriter.statement(raw));
  return { edits: rewriter.sortedEdits(), statements };
}

type Outputs = string[] | null;

const isStar = (ref: ColumnRef) => {
  const last = ref.fields?.at(-1);
  return last !== undefined && 'A_Star' in last;
};

function fieldNames(ref: ColumnRef): (string | null)[] {
  return (ref.fields ?? []).map((f) => ('String' in f ? (f.String.sval ?? '') : null));
}

function strings(list: Node[] | undefined): string[] | null {
  if (!list?.length) return null;
  return list.map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
}

/** The name of a one-part column reference (`ORDER BY name`), else undefined. */
function singleName(node: Node | undefined): string | undefined {
  if (!node || !('ColumnRef' in node)) return undefined;
  const names = fieldNames(node.ColumnRef);
  return names.length === 1 && names[0] !== null ? names[0] : undefined;
}

/** `name` as a word of `text` (an identifier, bare in any case or quoted), not part of a longer one. */
function mentionsWord(text: string, name: string): boolean {
  const lower = text.toLowerCase();
  const word = name.toLowerCase();
  for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + 1)) {
    const before = lower.charCodeAt(at - 1);
    const after = lower.charCodeAt(at + word.length);
    if (!isIdentChar(before) && !isIdentChar(after)) return true;
  }
  return false;
}

function isIdentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24 || c >= 0x80;
}

/** A COPY's HEADER option: absent or false, true, or MATCH (the server's defGetCopyHeaderChoice). */
function headerChoice(options: Node[] | undefined): 'none' | 'true' | 'match' {
  let choice: 'none' | 'true' | 'match' = 'none';
  for (const o of options ?? []) {
    if (!('DefElem' in o) || o.DefElem.defname !== 'header') continue;
    const arg = o.DefElem.arg;
    if (!arg) choice = 'true';
    else if ('Boolean' in arg) choice = arg.Boolean.boolval ? 'true' : 'none';
    else if ('Integer' in arg) choice = arg.Integer.ival ? 'true' : 'none';
    else if ('String' in arg) {
      const v = (arg.String.sval ?? '').toLowerCase();
      choice = v === 'match' ? 'match' : ['false', 'off', '0', 'no'].includes(v) ? 'none' : 'true';
    }
  }
  return choice;
}

function unknownRel(refName: string | null, bareTable = false): Rel {
  return { refName, table: null, columns: null, physical: null, bareTable, qualifiedOnly: false };
}

function renameColumns(outputs: Outputs, alias: { colnames?: Node[] } | undefined): Outputs {
  const names = strings(alias?.colnames);
  if (!names) return outputs;
  if (!outputs) return null;
  return outputs.map((o, i) => names[i] ?? o);
}

class Rewriter {
  private readonly edits: (TextEdit & { seq: number })[] = [];
  private readonly editAt = new Map<string, string>();
  /** Column references whose last part was renamed, with the physical name (for output names). */
  private readonly renamed = new Map<object, string>();
  /**
   * Bare names in ORDER BY / DISTINCT ON / GROUP BY that mean an input column, with the output
   * names of their SELECT (null: unknown): a physical name equal to one of them is qualified,
   * because the server would bind it to that output column instead.
   */
  private readonly outputBound = new Map<ColumnRef, Outputs>();
  private tables = new Map<string, TableUse>();
  /** The statement's COPY header check, when it has one. */
  private copyHeader: CopyHeaderMatch | undefined;

  constructor(
    private readonly v: VersionSchema,
    private readonly b: Uint8Array,
    /** Where unqualified table names go under the session's search_path. */
    private readonly res: TableResolution,
  ) {}

  sortedEdits(): TextEdit[] {
    return this.edits
      .sort((x, y) => x.start - y.start || x.end - y.end || x.seq - y.seq)
      .map(({ start, end, text }) => ({ start, end, text }));
  }

  statement(raw: RawStmt): StatementPlan {
    this.tables = new Map();
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : this.b.length;
    const node = raw.stmt;
    const kind = node ? (Object.keys(node)[0] ?? 'Unknown') : 'Empty';
    this.copyHeader = undefined;
    const outputColumns = node ? this.topLevel(node) : null;
    const plan: StatementPlan = { kind, start, end, tables: [...this.tables.values()], outputColumns };
    return this.copyHeader ? { ...plan, copyHeader: this.copyHeader } : plan;
  }

  // ---- statements ----------------------------------------------------------

  private topLevel(node: Node): Outputs {
    if ('SelectStmt' in node) return this.select(node.SelectStmt, null);
    if ('InsertStmt' in node) return this.insert(node.InsertStmt, null);
    if ('UpdateStmt' in node) return this.update(node.UpdateStmt, null);
    if ('DeleteStmt' in node) return this.delete(node.DeleteStmt, null);
    if ('ExplainStmt' in node) {
      if (node.ExplainStmt.query) this.topLevel(node.ExplainStmt.query);
      return null;
    }
    if ('PrepareStmt' in node) return node.PrepareStmt.query ? this.topLevel(node.PrepareStmt.query) : null;
    if ('DeclareCursorStmt' in node) {
      return node.DeclareCursorStmt.query ? this.topLevel(node.DeclareCursorStmt.query) : null;
    }
    if ('CreateTableAsStmt' in node && node.CreateTableAsStmt.objtype === 'OBJECT_TABLE') {
      if (node.CreateTableAsStmt.query) this.topLevel(node.CreateTableAsStmt.query);
      return null;
    }
    if ('CopyStmt' in node) {
      this.copy(node.CopyStmt);
      return null;
    }
    if ('TruncateStmt' in node) {
      this.renameOnly(node.TruncateStmt.relations);
      return null;
    }
    if ('LockStmt' in node) {
      this.renameOnly(node.LockStmt.relations);
      return null;
    }
    if ('DoStmt' in node) this.refuseBody(node.DoStmt.args, 'a DO block');
    if ('CreateFunctionStmt' in node) {
      const f = node.CreateFunctionStmt;
      this.refuseBody(f.options, f.is_procedure ? 'a procedure body' : 'a function body');
    }
    this.refuseIfTouching(node);
    return null;
  }

  /**
   * A DO block or a function body in a string is code the proxy does not
   * translate: the server would run it on physical names. It is refused
   * when it names a table this version sees differently (a plain word
   * match: comments and strings count too, which only errs on the side of
   * refusing). C and internal functions name a library symbol, not SQL.
   */
  private refuseBody(options: Node[] | undefined, what: string): void {
    let texts: string[] = [];
    for (const o of options ?? []) {
      if (!('DefElem' in o)) continue;
      const arg = o.DefElem.arg;
      if (o.DefElem.defname === 'language' && arg && 'String' in arg) {
        if (['c', 'internal'].includes((arg.String.sval ?? '').toLowerCase())) return;
      } else if (o.DefElem.defname === 'as' && arg) {
        if ('String' in arg) texts = [arg.String.sval ?? ''];
        else if ('List' in arg) texts = strings(arg.List.items) ?? [];
      }
    }
    for (const text of texts) {
      const name = this.v.migratingNames.find((n) => mentionsWord(text, n));
      if (name !== undefined) {
        this.fail(
          'unsupported',
          name,
          `${what} is not translated, and it names a table that this version sees differently from the database`,
          undefined,
        );
      }
    }
  }

  /** Output columns of a statement used as a query (subquery, CTE body, COPY source). */
  private query(node: Node | undefined, parent: Level | null): Outputs {
    if (!node) return null;
    if ('SelectStmt' in node) return this.select(node.SelectStmt, parent);
    if ('InsertStmt' in node) return this.insert(node.InsertStmt, parent);
    if ('UpdateStmt' in node) return this.update(node.UpdateStmt, parent);
    if ('DeleteStmt' in node) return this.delete(node.DeleteStmt, parent);
    this.refuseIfTouching(node);
    return null;
  }

  private select(stmt: SelectStmt, parent: Level | null, afterLeft?: (left: Outputs) => void): Outputs {
    const level = new Level(parent);
    if (stmt.withClause) this.with(stmt.withClause, level);
    if (stmt.op !== undefined && stmt.op !== 'SETOP_NONE') {
      const left = stmt.larg ? this.select(stmt.larg, level) : null;
      afterLeft?.(left);
      if (stmt.rarg) this.select(stmt.rarg, level);
      // ORDER BY of a set operation names output columns, which keep the version's names.
      for (const s of stmt.sortClause ?? []) {
        const n = 'SortBy' in s ? s.SortBy.node : s;
        if (singleName(n) === undefined) this.expr(n, level);
      }
      this.expr(stmt.limitCount, level);
      this.expr(stmt.limitOffset, level);
      return left;
    }
    let outputs: Outputs;
    if (stmt.valuesLists) {
      this.expr(stmt.valuesLists, level);
      const first = stmt.valuesLists[0];
      const width = first && 'List' in first ? (first.List.items?.length ?? 0) : 0;
      outputs = Array.from({ length: width }, (_, i) => `column${i + 1}`);
    } else {
      for (const item of stmt.fromClause ?? []) this.fromItem(item, level);
      outputs = this.targets(stmt.targetList ?? [], level);
      this.expr(stmt.whereClause, level);
      for (const g of stmt.groupClause ?? []) this.groupItem(g, level, outputs);
      this.expr(stmt.havingClause, level);
      this.expr(stmt.windowClause, level);
    }
    // ORDER BY and DISTINCT ON bind a bare name to an output column first (the server's
    // findTargetlistEntrySQL92), and output columns keep the version's names: such a name stays.
    // Any other bare name is an input column, which must not become an output's name once rewritten.
    for (const s of [...(stmt.sortClause ?? []), ...(stmt.distinctClause ?? [])]) {
      const n = 'SortBy' in s ? s.SortBy.node : s;
      const name = singleName(n);
      if (name !== undefined && outputs?.includes(name)) continue;
      if (name !== undefined && n && 'ColumnRef' in n) this.outputBound.set(n.ColumnRef, outputs);
      this.expr(n, level);
    }
    this.expr(stmt.limitCount, level);
    this.expr(stmt.limitOffset, level);
    return outputs;
  }

  /**
   * One GROUP BY item. ROLLUP, CUBE, GROUPING SETS and an unadorned `(a, b)` hold
   * grouping terms that the server resolves one by one, like top-level ones.
   */
  private groupItem(node: Node, level: Level, outputs: Outputs): void {
    if ('GroupingSet' in node) {
      for (const n of node.GroupingSet.content ?? []) this.groupItem(n, level, outputs);
      return;
    }
    if ('RowExpr' in node && node.RowExpr.row_format === 'COERCE_IMPLICIT_CAST') {
      for (const n of node.RowExpr.args ?? []) this.groupItem(n, level, outputs);
      return;
    }
    const name = singleName(node);
    if (name === undefined || !('ColumnRef' in node)) {
      this.expr(node, level);
      return;
    }
    // A bare name binds to a column of this level's FROM first, then to an output name,
    // then to an outer column (the server's findTargetlistEntrySQL92 for GROUP BY).
    const local = level.rels.filter((r) => !r.qualifiedOnly);
    if (local.some((r) => !r.columns || r.columns.includes(name))) {
      this.expr(node, level);
      return;
    }
    const hidden = local.find((r) => r.physical?.has(name));
    if (outputs === null) {
      if (hidden || this.outerCandidate(level.parent, name)) {
        this.fail(
          'unsupported',
          name,
          'GROUP BY may name an output column or a column of the table, and the output columns are unknown: group by the expression',
          node.ColumnRef,
        );
      }
      this.expr(node, level);
      return;
    }
    const at = outputs.indexOf(name);
    if (at < 0) {
      // An outer column: once rewritten it must not become an output's name either.
      this.outputBound.set(node.ColumnRef, outputs);
      this.expr(node, level);
      return;
    }
    // The version's output name. Where the table physically has a column of that name, the
    // server would group by that column: the output's position says what the version means.
    if (!hidden) return;
    if (outputs.lastIndexOf(name) !== at) {
      this.fail('ambiguous_column', name, 'GROUP BY names more than one output column', node.ColumnRef);
    }
    const [part] = this.parts(node.ColumnRef.location ?? -1, 1, name);
    this.edit(part!.start, part!.end, String(at + 1));
  }

  private with(clause: WithClause, level: Level): void {
    const ctes = new Map<string, { columns: readonly string[] | null }>();
    level.ctes = ctes;
    for (const item of clause.ctes ?? []) {
      if (!('CommonTableExpr' in item)) continue;
      const cte = item.CommonTableExpr;
      const name = cte.ctename ?? '';
      const aliases = strings(cte.aliascolnames);
      const q = cte.ctequery;
      let out: Outputs;
      if (clause.recursive && q && 'SelectStmt' in q && (q.SelectStmt.op ?? 'SETOP_NONE') !== 'SETOP_NONE') {
        // The recursive term sees the CTE with the non-recursive term's columns.
        out = this.select(q.SelectStmt, level, (left) => ctes.set(name, { columns: aliases ?? left }));
      } else {
        out = this.query(q, level);
      }
      ctes.set(name, { columns: aliases ?? out });
    }
  }

  private insert(stmt: InsertStmt, parent: Level | null): Outputs {
    const level = new Level(parent);
    if (stmt.withClause) this.with(stmt.withClause, level);
    const rv = stmt.relation ?? {};
    const target = this.rangeVar(rv, level, 'target');
    const t = target.table;
    const named: string[] = [];
    for (const c of stmt.cols ?? []) {
      if (!('ResTarget' in c)) continue;
      named.push(c.ResTarget.name ?? '');
      if (t?.rewrites) this.targetColumn(t, c.ResTarget.name ?? '', c.ResTarget.location ?? -1);
    }
    // The source is processed first: its width decides how many columns a missing list names.
    const sourceOutputs = stmt.selectStmt ? this.query(stmt.selectStmt, level) : null;
    if (t?.rewrites) {
      if (!stmt.cols?.length && stmt.selectStmt && !t.sameColumns) {
        if (sourceOutputs === null) {
          this.fail(
            'unsupported',
            t.name,
            'an INSERT without a column list needs a source of known width',
            rv,
          );
        }
        const listed = t.columns.slice(0, sourceOutputs.length);
        const text = listed.map((c) => quoteIdent(this.physicalOrFail(t, c.name, c.physical, rv))).join(', ');
        this.insertAt(this.targetEnd(rv), ` (${text})`);
      }
      for (const h of t.hidden) {
        if (h.omittable) continue;
        this.fail(
          'unsupported',
          `${t.name}.${h.physical}`,
          'the column is NOT NULL without a default in the database and this version cannot supply it',
          rv,
        );
      }
    }
    if (stmt.onConflictClause) this.onConflict(stmt.onConflictClause, target, level);
    if (!stmt.returningClause) return null;
    const returning = new Level(level);
    returning.rels.push(target);
    return this.targets(stmt.returningClause.exprs ?? [], returning);
  }

  private onConflict(oc: OnConflictClause, target: Rel, level: Level): void {
    const t = target.table;
    const inferScope = new Level(level);
    inferScope.rels.push(target);
    if (oc.infer) {
      const elems = oc.infer.indexElems ?? [];
      if (t?.rewrites && elems.some((e) => 'IndexElem' in e && e.IndexElem.name !== undefined)) {
        // Index elements carry no location: find them in the parenthesized list.
        const list = parenList(this.b, oc.infer.location ?? -1);
        if (!list || list.items.length !== elems.length) {
          this.fail('unsupported', t.name, 'cannot locate the ON CONFLICT column list', undefined);
        }
        elems.forEach((e, i) => {
          const name = 'IndexElem' in e ? e.IndexElem.name : undefined;
          if (name !== undefined) this.targetColumn(t, name, list.items[i]!.start);
        });
      }
      for (const e of elems) if ('IndexElem' in e) this.expr(e.IndexElem.expr, inferScope);
      this.expr(oc.infer.whereClause, inferScope);
    }
    const scope = new Level(level);
    scope.rels.push(target, t ? tableRel(t, 'excluded', false, true) : unknownRel('excluded'));
    this.setList(oc.targetList, t, scope);
    this.expr(oc.whereClause, scope);
  }

  private update(stmt: UpdateStmt, parent: Level | null): Outputs {
    const level = new Level(parent);
    if (stmt.withClause) this.with(stmt.withClause, level);
    const target = this.rangeVar(stmt.relation ?? {}, level, 'target');
    level.rels.push(target);
    for (const item of stmt.fromClause ?? []) this.fromItem(item, level);
    this.setList(stmt.targetList, target.table, level);
    this.expr(stmt.whereClause, level);
    return stmt.returningClause ? this.targets(stmt.returningClause.exprs ?? [], level) : null;
  }

  private delete(stmt: DeleteStmt, parent: Level | null): Outputs {
    const level = new Level(parent);
    if (stmt.withClause) this.with(stmt.withClause, level);
    level.rels.push(this.rangeVar(stmt.relation ?? {}, level, 'target'));
    for (const item of stmt.usingClause ?? []) this.fromItem(item, level);
    this.expr(stmt.whereClause, level);
    return stmt.returningClause ? this.targets(stmt.returningClause.exprs ?? [], level) : null;
  }

  /** `SET col = expr, (a, b) = (...)` of UPDATE and ON CONFLICT DO UPDATE. */
  private setList(list: Node[] | undefined, t: LogicalTable | null, level: Level): void {
    for (const item of list ?? []) {
      if (!('ResTarget' in item)) continue;
      const rt = item.ResTarget;
      if (t?.rewrites) this.targetColumn(t, rt.name ?? '', rt.location ?? -1);
      const val = rt.val;
      if (val && 'MultiAssignRef' in val) {
        // The parser repeats the shared source on every column of the group; walk it once.
        if (val.MultiAssignRef.colno === 1) this.expr(val.MultiAssignRef.source, level);
      } else this.expr(val, level);
    }
  }

  private copy(stmt: CopyStmt): void {
    if (stmt.query) {
      this.query(stmt.query, null);
      return;
    }
    const rv = stmt.relation;
    const t = rv ? this.managedTable(rv) : undefined;
    if (!rv || !t) return;
    const cols = strings(stmt.attlist);
    const header = headerChoice(stmt.options);
    // A header line carries column names: the version's, not the physical ones.
    const renamed = t.rewrites && (cols ? cols.some((c) => t.column(c)?.physical !== c) : !t.sameColumns);
    if (renamed && header !== 'none') {
      if (stmt.is_from && header === 'match') this.copyHeader = this.headerMatch(stmt, t, cols, rv);
      if (!stmt.is_from) {
        this.copyAsSelect(rv, t, cols);
        return;
      }
    }
    const last = this.renameTable(rv, t, false);
    if (!t.rewrites) return;
    if (cols) {
      const list = parenList(this.b, last.end);
      if (!list || list.items.length !== cols.length) {
        this.fail('unsupported', t.name, 'cannot locate the COPY column list', rv);
      }
      for (const [i, c] of cols.entries()) this.targetColumn(t, c, list.items[i]!.start);
    } else if (!t.sameColumns) {
      const text = t.columns
        .map((c) => quoteIdent(this.physicalOrFail(t, c.name, c.physical, rv)))
        .join(', ');
      this.insertAt(last.end, ` (${text})`);
    }
    if (stmt.is_from) {
      for (const h of t.hidden) {
        if (!h.omittable) {
          this.fail(
            'unsupported',
            `${t.name}.${h.physical}`,
            'COPY FROM cannot supply this NOT NULL column',
            rv,
          );
        }
      }
    }
    if (stmt.whereClause) {
      const level = new Level(null);
      level.rels.push(tableRel(t, t.name, true));
      this.expr(stmt.whereClause, level);
    }
  }

  /**
   * `HEADER MATCH` becomes `HEADER true` (the server skips the line) and the
   * check moves to the proxy, which knows the version's names: a header
   * the server would have checked against physical names is checked
   * against the names the client wrote. Only data from the client can be
   * seen on the way; a server-side file or program cannot.
   */
  private headerMatch(stmt: CopyStmt, t: LogicalTable, cols: string[] | null, rv: RangeVar): CopyHeaderMatch {
    if (stmt.filename !== undefined || stmt.is_program) {
      this.fail(
        'unsupported',
        t.name,
        'HEADER MATCH on a server-side file would check the header against the physical column names, which differ in this version: use COPY FROM STDIN (psql \\copy), or HEADER true',
        rv,
      );
    }
    let option: DefElem | undefined;
    const text = (name: string): string | undefined => {
      for (const o of stmt.options ?? []) {
        if (!('DefElem' in o) || o.DefElem.defname !== name) continue;
        if (name === 'header') option = o.DefElem;
        const arg = o.DefElem.arg;
        if (arg && 'String' in arg) return arg.String.sval ?? '';
      }
      return undefined;
    };
    text('header');
    const keyword = nextToken(this.b, option?.location ?? -1);
    const value = keyword.kind === Tok.Word ? nextToken(this.b, keyword.end) : null;
    if (!value || (value.kind !== Tok.Word && value.kind !== Tok.String)) {
      this.fail('unsupported', t.name, 'cannot locate the HEADER MATCH option', rv);
    }
    this.edit(value.start, value.end, 'true');
    const csv = text('format')?.toLowerCase() === 'csv';
    const quote = text('quote') ?? '"';
    return {
      table: rv.relname ?? t.name,
      columns: cols ?? t.columns.map((c) => c.name),
      format: csv ? 'csv' : 'text',
      delimiter: text('delimiter') ?? (csv ? ',' : '\t'),
      quote,
      escape: text('escape') ?? quote,
      nullString: text('null') ?? (csv ? '' : '\\N'),
    };
  }

  /**
   * `COPY t [(cols)] TO ... HEADER` as `COPY (SELECT <physical> AS <logical>, ...
   * FROM t) TO ...`: a table's COPY names its header after the physical
   * columns, a query's after its output names.
   */
  private copyAsSelect(rv: RangeVar, t: LogicalTable, cols: string[] | null): void {
    const count = 1 + (rv.schemaname ? 1 : 0) + (rv.catalogname ? 1 : 0);
    const parts = this.parts(rv.location ?? -1, count, t.name);
    let end = parts.at(-1)!.end;
    if (cols) {
      const list = parenList(this.b, end);
      if (!list || list.items.length !== cols.length) {
        this.fail('unsupported', t.name, 'cannot locate the COPY column list', rv);
      }
      end = list.end;
    }
    const select = (cols ?? t.columns.map((c) => c.name)).map((name) => {
      const c = t.column(name);
      if (!c) {
        if (t.physicalColumns.has(name))
          this.fail('undefined_column', `${t.name}.${name}`, 'the column does not exist', rv);
        return quoteIdent(name);
      }
      const phys = this.physicalOrFail(t, name, c.physical, rv);
      return phys === name ? quoteIdent(phys) : `${quoteIdent(phys)} AS ${quoteIdent(name)}`;
    });
    const schema = rv.schemaname ? `${quoteIdent(rv.schemaname)}.` : '';
    const from = `${schema}${this.physicalRef(t, rv.schemaname !== undefined)}`;
    this.edit(parts[0]!.start, end, `(SELECT ${select.join(', ')} FROM ${from})`);
  }

  /** TRUNCATE, LOCK: table names only, no aliases allowed. */
  private renameOnly(relations: Node[] | undefined): void {
    for (const n of relations ?? []) {
      if (!('RangeVar' in n)) continue;
      const t = this.managedTable(n.RangeVar);
      if (t) this.renameTable(n.RangeVar, t, false);
    }
  }

  /** Any other statement: fine unless it names a table this version sees differently. */
  private refuseIfTouching(node: Node): void {
    const kind = Object.keys(node)[0] ?? 'statement';
    const what = `${kind.replace(/Stmt$/, '')} statement`;
    const visit = (x: unknown): void => {
      if (Array.isArray(x)) {
        for (const y of x) visit(y);
        return;
      }
      if (x === null || typeof x !== 'object') return;
      const o = x as Record<string, unknown>;
      if (typeof o.relname === 'string') {
        const t = this.managedTable(o as RangeVar);
        if (t?.rewrites) this.fail('unsupported', t.name, `${what} is not supported on a migrating table`, o);
      }
      for (const v of Object.values(o)) if (v !== null && typeof v === 'object') visit(v);
    };
    if ('DropStmt' in node) {
      // DROP names its objects as lists of strings, not RangeVars.
      for (const obj of node.DropStmt.objects ?? []) {
        const parts = 'List' in obj ? strings(obj.List.items) : null;
        const name = parts?.at(-1);
        const schema = parts && parts.length > 1 ? parts.at(-2) : undefined;
        if (name === undefined || (schema !== undefined && schema !== this.v.schema)) continue;
        if (schema === undefined && this.res.resolve(name).logical !== this.v.schema) {
          if (this.res.resolve(name).physical !== this.v.schema) continue;
        }
        if (this.v.table(name)?.rewrites || this.v.isHiddenTable(name)) {
          this.fail('unsupported', name, `${what} is not supported on a migrating table`, undefined);
        }
      }
    }
    visit(node);
  }

  // ---- FROM ------------------------------------------------------------------

  private fromItem(node: Node, level: Level): void {
    if ('RangeVar' in node) {
      level.rels.push(this.rangeVar(node.RangeVar, level, 'from'));
    } else if ('RangeSubselect' in node) {
      const rs = node.RangeSubselect;
      // A non-LATERAL subquery sees outer levels and CTEs, not its FROM siblings.
      const scope = rs.lateral ? level : new Level(level.parent, level.ctes);
      const out = this.query(rs.subquery, scope);
      level.rels.push(derivedRel(rs.alias?.aliasname ?? null, renameColumns(out, rs.alias)));
    } else if ('JoinExpr' in node) {
      this.join(node.JoinExpr, level);
    } else if ('RangeFunction' in node) {
      const rf = node.RangeFunction;
      this.expr(rf.functions, level);
      const first = rf.functions?.[0];
      const call = first && 'List' in first ? first.List.items?.[0] : undefined;
      const fname = call && 'FuncCall' in call ? strings(call.FuncCall.funcname)?.at(-1) : undefined;
      const cols = strings(rf.alias?.colnames);
      level.rels.push(derivedRel(rf.alias?.aliasname ?? fname ?? null, cols));
    } else if ('RangeTableSample' in node) {
      const ts = node.RangeTableSample;
      if (ts.relation) this.fromItem(ts.relation, level);
      this.expr(ts.args, level);
      this.expr(ts.repeatable, level);
    } else {
      // XMLTABLE, JSON_TABLE and the like: expressions in scope, columns unknown.
      this.expr(node, level);
      const inner = Object.values(node)[0] as { alias?: { aliasname?: string } } | undefined;
      level.rels.push(unknownRel(inner?.alias?.aliasname ?? null));
    }
  }

  private join(j: NonNullable<Extract<Node, { JoinExpr: unknown }>['JoinExpr']>, level: Level): void {
    const start = level.rels.length;
    if (j.larg) this.fromItem(j.larg, level);
    if (j.rarg) this.fromItem(j.rarg, level);
    const inner = level.rels.slice(start);
    const migrating = inner.find((r) => r.table && !r.table.sameColumns);
    if (j.isNatural || j.usingClause?.length) {
      level.mergedJoin = true;
      if (j.isNatural && migrating) {
        this.fail('unsupported', migrating.table!.name, 'NATURAL JOIN with a migrating table', undefined);
      }
      for (const col of strings(j.usingClause) ?? []) {
        for (const r of inner) {
          const t = r.table;
          if (!t?.rewrites) continue;
          if (needsRewrite(r, col) || (t.column(col) === undefined && t.physicalColumns.has(col))) {
            this.fail(
              'unsupported',
              `${t.name}.${col}`,
              'JOIN ... USING on a renamed or hidden column',
              undefined,
            );
          }
        }
      }
    }
    if (j.quals) {
      const q = new Level(level.parent, level.ctes);
      q.rels.push(...inner);
      this.expr(j.quals, q);
    }
    if (j.alias || j.join_using_alias) {
      if (migrating)
        this.fail('unsupported', migrating.table!.name, 'an aliased JOIN over a migrating table', undefined);
      if (j.alias) level.rels.splice(start, inner.length, unknownRel(j.alias.aliasname ?? null));
      if (j.join_using_alias) level.rels.push(unknownRel(j.join_using_alias.aliasname ?? null));
    }
  }

  /** A table reference: the CTE, the version's table (renamed in place) or an unknown relation. */
  private rangeVar(rv: RangeVar, level: Level, mode: 'from' | 'target'): Rel {
    const name = rv.relname ?? '';
    const alias = rv.alias?.aliasname;
    if (mode === 'from' && !rv.schemaname && !rv.catalogname) {
      const cte = level.cte(name);
      if (cte) return derivedRel(alias ?? name, renameColumns(cte.columns as string[] | null, rv.alias));
    }
    const view = mode === 'from' ? catalogView(this.v, rv) : null;
    if (view !== null) return this.catalogRel(rv, view);
    const t = this.managedTable(rv);
    if (!t) return unknownRel(alias ?? name, alias === undefined);
    if (rv.alias?.colnames?.length && !t.sameColumns) {
      this.fail('unsupported', name, 'column aliases on a migrating table (list the columns instead)', rv);
    }
    this.renameTable(rv, t, alias === undefined);
    return tableRel(t, alias ?? name, alias === undefined);
  }

  /** A catalog relation replaced by the version's view of it (catalog-views.ts), keeping its name or alias. */
  private catalogRel(rv: RangeVar, view: string): Rel {
    const name = rv.relname ?? '';
    if (rv.inh !== true) this.fail('unsupported', name, 'ONLY on a catalog that shows migrating tables', rv);
    const parts = this.parts(rv.location ?? -1, 1 + (rv.schemaname ? 1 : 0), name);
    const alias = rv.alias ? '' : ` AS ${quoteIdent(name)}`;
    this.edit(parts[0]!.start, parts.at(-1)!.end, `(${view})${alias}`);
    return unknownRel(rv.alias?.aliasname ?? name, rv.alias === undefined);
  }

  /** The version's table a RangeVar names; refuses one this version must not see. */
  private managedTable(rv: RangeVar): LogicalTable | undefined {
    if (rv.catalogname || (rv.schemaname && rv.schemaname !== this.v.schema)) return undefined;
    const name = rv.relname ?? '';
    if (!rv.schemaname && this.res.key !== '' && this.elsewhere(rv, name)) return undefined;
    const t = this.v.table(name);
    if (t) {
      if (t.physical === null) {
        this.fail('unsupported', name, 'the table was dropped by a completed migration', rv);
      }
      this.tables.set(t.name, { logical: t.name, physical: t.physical, migrating: t.rewrites });
      return t;
    }
    if (this.v.isHiddenTable(name)) this.fail('undefined_table', name, 'the relation does not exist', rv);
    return undefined;
  }

  /**
   * True when the session's search_path sends the unqualified `name` to
   * another schema's relation (or to none): not the version's table. When
   * the server would find the migration schema's physical table instead,
   * the name is qualified with the schema the version means.
   */
  private elsewhere(rv: RangeVar, name: string): boolean {
    const { logical, physical } = this.res.resolve(name);
    if (logical === this.v.schema) return false;
    if (logical === UNKNOWN) {
      this.fail(
        'unsupported',
        name,
        `cannot tell which schema "${name}" means: the session's search_path changed in a way Shiftgate could not follow, and "${name}" exists in several schemas; qualify the name or SET search_path again`,
        rv,
      );
    }
    if (logical === null) {
      if (physical !== null) this.fail('undefined_table', name, 'the relation does not exist', rv);
      return true;
    }
    if (physical !== logical) {
      const at = this.parts(rv.location ?? -1, 1, name)[0]!;
      this.edit(at.start, at.end, `${quoteIdent(logical)}.${quoteIdent(name)}`);
    }
    return true;
  }

  /** The physical name of `t` as the statement must write it: qualified when the search_path would find another table first. */
  private physicalRef(t: LogicalTable, qualified: boolean): string {
    const name = quoteIdent(t.physical ?? t.name);
    if (
      qualified ||
      this.res.key === '' ||
      this.res.resolve(t.physical ?? t.name).physical === this.v.schema
    ) {
      return name;
    }
    return `${quoteIdent(this.v.schema)}.${name}`;
  }

  /**
   * Puts the physical name in place of the logical one; with `alias`, keeps
   * the logical name as an alias (`accounts AS users`) so every qualified
   * reference in the statement stays valid. Returns the name's last token.
   */
  private renameTable(rv: RangeVar, t: LogicalTable, alias: boolean): Token {
    const parts = this.parts(
      rv.location ?? -1,
      1 + (rv.schemaname ? 1 : 0) + (rv.catalogname ? 1 : 0),
      t.name,
    );
    const last = parts.at(-1)!;
    if (t.physical !== null && t.physical !== t.name) {
      this.edit(last.start, last.end, this.physicalRef(t, parts.length > 1));
      if (alias) {
        // `users *` (inheritance) keeps its star before the alias.
        const next = nextToken(this.b, last.end);
        this.insertAt(next.kind === Tok.Star ? next.end : last.end, ` AS ${quoteIdent(t.name)}`);
      }
    }
    return last;
  }

  /** Where an INSERT's column list goes: after the table name and its `AS alias`. */
  private targetEnd(rv: RangeVar): number {
    const parts = this.parts(rv.location ?? -1, 1 + (rv.schemaname ? 1 : 0) + (rv.catalogname ? 1 : 0), '');
    const end = parts.at(-1)!.end;
    const as = nextToken(this.b, end);
    return as.kind === Tok.Word && wordIs(this.b, as, 'as') ? nextToken(this.b, as.end).end : end;
  }

  // ---- target lists ------------------------------------------------------------

  private targets(list: Node[], level: Level): Outputs {
    let outputs: Outputs = [];
    for (const [i, item] of list.entries()) {
      if (!('ResTarget' in item)) continue;
      const rt = item.ResTarget;
      const val = rt.val;
      if (val && 'ColumnRef' in val && isStar(val.ColumnRef)) {
        const cols = this.expandStar(val.ColumnRef, level);
        outputs = outputs && cols ? [...outputs, ...cols] : null;
        continue;
      }
      // Before the walk: its text goes around whatever the walk puts around the cast's operand.
      regclassOutput(this.nameHost(), val, rt.name ?? outputName(val));
      this.expr(val, level);
      if (rt.name !== undefined) {
        outputs?.push(rt.name);
        continue;
      }
      const logical = outputName(val);
      const physical = outputName(val, (ref) => this.renamed.get(ref));
      if (logical !== physical) {
        // Keep the result column named as the version expects it, after the whole target:
        // from its start, so parentheses around the reference stay inside (`(name) AS full_name`),
        // to its end, which the next target's start fixes when there is one.
        const after = list[i + 1];
        const next = after && 'ResTarget' in after ? (after.ResTarget.location ?? -1) : -1;
        this.insertAt(targetEnd(this.b, rt.location ?? 0, next), ` AS ${quoteIdent(logical)}`);
      }
      outputs?.push(logical);
    }
    return outputs;
  }

  /** `*` and `t.*` in a target list: the version's visible columns, in its order, under its names. */
  private expandStar(ref: ColumnRef, level: Level): Outputs {
    const names = fieldNames(ref);
    if (names.length === 1) {
      const rels = level.rels.filter((r) => !r.qualifiedOnly);
      const all = rels.every((r) => r.columns) ? rels.flatMap((r) => r.columns ?? []) : null;
      const migrating = rels.find((r) => r.table && !r.table.sameColumns);
      if (!migrating) return all;
      if (level.mergedJoin) {
        this.fail(
          'unsupported',
          migrating.table!.name,
          '* over a JOIN ... USING / NATURAL JOIN (list the columns)',
          ref,
        );
      }
      const single = rels.length === 1;
      const pieces = rels.map((r) => {
        if (!single && r.refName === null) {
          this.fail('unsupported', migrating.table!.name, '* next to a subquery without alias', ref);
        }
        const prefix = single ? '' : `${quoteIdent(r.refName!)}.`;
        return r.table && !r.table.sameColumns ? this.columnList(r.table, prefix, ref) : `${prefix}*`;
      });
      const star = this.parts(ref.location ?? -1, 1, '*')[0]!;
      this.edit(star.start, star.end, pieces.filter((p) => p !== '').join(', '));
      return all;
    }
    const qualifier = names.at(-2) ?? '';
    const found = level.findRel(qualifier, names.length >= 3);
    if (!found) return null;
    const { rel } = found;
    if (!rel.table || rel.table.sameColumns) return rel.columns ? [...rel.columns] : null;
    const parts = this.parts(ref.location ?? -1, names.length, qualifier);
    const text = this.columnList(rel.table, `${quoteIdent(rel.refName!)}.`, ref);
    this.edit(parts[0]!.start, parts.at(-1)!.end, text);
    return [...(rel.columns ?? [])];
  }

  private columnList(t: LogicalTable, prefix: string, at: object): string {
    return t.columns
      .map((c) => {
        const phys = this.physicalOrFail(t, c.name, c.physical, at);
        return phys === c.name
          ? `${prefix}${quoteIdent(phys)}`
          : `${prefix}${quoteIdent(phys)} AS ${quoteIdent(c.name)}`;
      })
      .join(', ');
  }

  /** A column named as a write target (INSERT list, SET, ON CONFLICT, COPY list). */
  private targetColumn(t: LogicalTable, name: string, location: number): void {
    const c = t.column(name);
    if (!c) {
      if (t.physicalColumns.has(name))
        this.fail('undefined_column', `${t.name}.${name}`, 'the column does not exist', location);
      return;
    }
    const phys = this.physicalOrFail(t, name, c.physical, location);
    if (phys === name) return;
    const [part] = this.parts(location, 1, name);
    this.edit(part!.start, part!.end, quoteIdent(phys));
  }

  // ---- expressions ----------------------------------------------------------------

  /** Walks any subtree, resolving column references and descending into subqueries. */
  private expr(node: unknown, level: Level): void {
    if (Array.isArray(node)) {
      for (const n of node) this.expr(n, level);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'ColumnRef') this.columnRef(v as ColumnRef, level);
      else if (k === 'SubLink') {
        const s = v as SubLink;
        this.expr(s.testexpr, level);
        this.query(s.subselect, level);
      } else if (k === 'SelectStmt') this.select(v as SelectStmt, level);
      else if (v !== null && typeof v === 'object') {
        if (k === 'TypeCast') nameLiteralCast(this.nameHost(), v as TypeCast);
        else if (k === 'FuncCall') {
          nameLiteralCall(this.nameHost(), v as FuncCall);
          definitionCall(this.nameHost(), v as FuncCall);
        }
        this.expr(v, level);
      }
    }
  }

  private columnRef(ref: ColumnRef, level: Level): void {
    const names = fieldNames(ref);
    if (names.at(-1) === null) {
      // `t.*` inside an expression is a whole-row value: its shape is physical.
      const qualifier = names.at(-2);
      const rels =
        qualifier === undefined || qualifier === null
          ? level.rels
          : [level.findRel(qualifier, names.length >= 3)?.rel].filter((r) => r !== undefined);
      const migrating = rels.find((r) => r.table && !r.table.sameColumns);
      if (migrating)
        this.fail('unsupported', migrating.table!.name, 'a whole-row reference (list the columns)', ref);
      return;
    }
    if (names.length === 1) {
      this.unqualified(ref, names[0]!, level);
      return;
    }
    const col = names.at(-1)!;
    const qualifier = names.at(-2)!;
    const schema = names.length >= 3 ? names.at(-3) : undefined;
    const found = level.findRel(qualifier, schema !== undefined);
    // Not a relation in scope: a composite field (`col.field`) or an error the server reports.
    if (!found) return;
    const { rel } = found;
    const t = rel.table;
    if (!t?.rewrites) return;
    if (schema !== undefined && schema !== this.v.schema) return;
    const c = t.column(col);
    if (!c) {
      if (t.physicalColumns.has(col))
        this.fail('undefined_column', `${qualifier}.${col}`, 'the column does not exist', ref);
      return;
    }
    const phys = this.physicalOrFail(t, col, c.physical, ref);
    const parts = this.parts(ref.location ?? -1, names.length, col);
    const last = parts.at(-1)!;
    if (phys !== col) {
      this.edit(last.start, last.end, quoteIdent(phys));
      this.renamed.set(ref, phys);
    }
    if (schema !== undefined && t.physical !== t.name) {
      // `public.users.id` on `accounts AS users`: only the alias names it now.
      this.edit(parts[0]!.start, parts.at(-2)!.end, quoteIdent(rel.refName!));
    }
  }

  private unqualified(ref: ColumnRef, name: string, level: Level): void {
    let hiddenSeen = false;
    for (let l: Level | null = level; l; l = l.parent) {
      const visible = l.rels.filter((r) => !r.qualifiedOnly);
      const candidates = visible.filter((r) => r.columns?.includes(name));
      const unknown = visible.filter((r) => r.columns === null);
      if (candidates.length > 1) {
        if (candidates.some((r) => needsRewrite(r, name))) {
          this.fail('ambiguous_column', name, 'the column reference is ambiguous', ref);
        }
        return;
      }
      const rel = candidates[0];
      if (rel) {
        if (unknown.length > 0 && needsRewrite(rel, name)) {
          const other = unknown[0]!.refName ?? 'a subquery';
          this.fail(
            'unsupported',
            name,
            `cannot tell whether it is a column of ${rel.refName} or of ${other}: qualify it`,
            ref,
          );
        }
        this.mapUnqualified(ref, name, rel, l, level);
        return;
      }
      const hiddenHere = visible.some((r) => r.table?.physicalColumns.has(name));
      hiddenSeen ||= hiddenHere;
      if (unknown.length > 0) {
        // It may be a column of a relation whose columns are unknown; then nothing else may claim it.
        const outer = this.outerCandidate(l.parent, name);
        if (hiddenHere || outer) {
          this.fail(
            'unsupported',
            name,
            `cannot tell whether it is a column of ${unknown[0]!.refName ?? 'a subquery'}: qualify it`,
            ref,
          );
        }
        return;
      }
    }
    if (hiddenSeen) this.fail('undefined_column', name, 'the column does not exist', ref);
    const whole = level.findRel(name, false);
    if (whole?.rel.table && !whole.rel.table.sameColumns) {
      this.fail('unsupported', name, 'a whole-row reference to a migrating table (list the columns)', ref);
    }
  }

  private outerCandidate(from: Level | null, name: string): boolean {
    for (let l = from; l; l = l.parent) {
      if (l.rels.some((r) => !r.qualifiedOnly && r.columns?.includes(name) && needsRewrite(r, name)))
        return true;
    }
    return false;
  }

  private mapUnqualified(ref: ColumnRef, name: string, rel: Rel, relLevel: Level, level: Level): void {
    const phys = this.physicalOrFail(rel.table, name, physicalName(rel, name), ref);
    // Would the physical name bind to another relation first (a hidden or renamed-onto column)?
    let captured = false;
    for (let l: Level | null = level; l && !captured; l = l.parent) {
      captured = l.rels.some((r) => r !== rel && !r.qualifiedOnly && r.physical?.has(phys) === true);
      if (l === relLevel) break;
    }
    const outputs = this.outputBound.get(ref);
    if (outputs !== undefined && phys !== name && (outputs === null || outputs.includes(phys)))
      captured = true;
    if (!captured && phys === name) return;
    const part = this.parts(ref.location ?? -1, 1, name)[0]!;
    let text = quoteIdent(phys);
    if (captured) {
      if (rel.refName === null || level.findRel(rel.refName, false)?.rel !== rel) {
        this.fail(
          'unsupported',
          name,
          'the column would bind to another relation and cannot be qualified',
          ref,
        );
      }
      text = `${quoteIdent(rel.refName)}.${text}`;
    }
    this.edit(part.start, part.end, text);
    if (phys !== name) this.renamed.set(ref, phys);
  }

  // ---- helpers -----------------------------------------------------------------------

  private names: (NameLiteralHost & DefinitionHost) | undefined;

  private nameHost(): NameLiteralHost & DefinitionHost {
    this.names ??= {
      version: this.v,
      bytes: this.b,
      table: (rv) => this.managedTable(rv),
      physical: (t, qualified) => this.physicalRef(t, qualified),
      edit: (start, end, text) => this.edit(start, end, text),
      insert: (at, text) => this.insertAt(at, text),
      fail: (kind, object, reason, at) => this.fail(kind, object, reason, at),
    };
    return this.names;
  }

  private physicalOrFail(
    t: LogicalTable | null,
    column: string,
    physical: string | null | undefined,
    at: object | number | undefined,
  ): string {
    if (physical === null) {
      this.fail(
        'unsupported',
        `${t?.name ?? '?'}.${column}`,
        'the column was dropped by a completed migration',
        at,
      );
    }
    return physical ?? column;
  }

  private parts(location: number, count: number, object: string): Token[] {
    const parts = location >= 0 ? nameParts(this.b, location, count) : null;
    if (!parts)
      this.fail('unsupported', object, 'cannot locate the identifier in the statement text', location);
    return parts;
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

  private fail(
    kind: TranslationErrorKind,
    object: string,
    reason: string,
    at: object | number | undefined,
  ): never {
    let position = -1;
    if (typeof at === 'number') position = at;
    else if (at && 'location' in at && typeof at.location === 'number') position = at.location;
    throw new TranslationError(kind, this.v.name, object, reason, position);
  }
}
