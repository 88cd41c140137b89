import { LRUCache } from 'lru-cache';
import type { DialectName } from 'sql-parser-cst';
import { log } from '../../../proxy/log.ts';
import { TranslationError } from '../../../versions/translation-error.ts';
import type { VersionMap } from '../../../versions/version-map.ts';
import type { VersionSchema } from '../../../versions/version-schema.ts';
import { moveEdits, movePosition } from '../../postgres/translate/literal-shape.ts';
import type { StatementPlan, TextEdit, TranslationPlan } from '../../postgres/translate/plan.ts';
import { contextKey, defaultMysqlContext, type MysqlSqlContext } from './context.ts';
import type { CstNode } from './cst.ts';
import { parseCstStatements } from './cst-parser.ts';
import { mysqlMayTouch } from './fast-path.ts';
import { parseJoinedUpdates } from './joined-update.ts';
import { mysqlLiteralShape, sameShape, textHash } from './literal-shape.ts';
import { parserText } from './parser-text.ts';
import { type CharEdit, type MysqlStatementPlan, rewriteMysqlStatements } from './rewriter.ts';

/** Plain counters for metrics: the proxy reads them, nothing here resets them. */
export interface MysqlTranslatorCounters {
  /** Plans (or refusals) served from the cache. */
  hits: number;
  /** Statements parsed and rewritten. */
  misses: number;
  /** Statements passed without parsing: they cannot touch a migrating table. */
  fastPath: number;
  /** Statements refused with a TranslationError (cached refusals included). */
  refused: number;
}

export interface MysqlTranslatorOptions {
  /** Cached plans per translator (all versions together). Default 10 000. */
  maxEntries?: number;
  /** Bound on the cached text (keys and rewritten SQL, in UTF-16 code units). Default 64 Mi. */
  maxTextSize?: number;
  /** The server flavour the parser follows. Default `mariadb`. */
  dialect?: 'mysql' | 'mariadb';
}

/**
 * The MySQL translator a proxy session calls for every COM_QUERY and
 * COM_STMT_PREPARE text: fast path, then the rewrite of a statement of the
 * same literal shape, then the plan cache keyed by (version, context,
 * text), then parse + rewrite. Placeholders (`?`) are never added,
 * removed or reordered, so a prepared statement keeps its parameters.
 * Plans have the PostgreSQL translator's shape (edits at UTF-8 byte
 * offsets of the original text).
 *
 * @example
 * const translator = new MysqlTranslator(map);
 * const plan = translator.translate(session.version, sql, context); // throws TranslationError
 * upstream.query(plan.sql);
 */
export class MysqlTranslator {
  private map: VersionMap;
  private readonly cache: LRUCache<string, TranslationPlan | TranslationError>;
  /**
   * Rewrites by literal shape (the hash of the text with its constants
   * blanked out, and of its version and context), so a statement that
   * differs from a translated one only in its constants reuses its edits
   * instead of being parsed.
   */
  private readonly shapes: LRUCache<number, ShapedRewrite>;
  private readonly dialect: DialectName;
  readonly counters: MysqlTranslatorCounters = { hits: 0, misses: 0, fastPath: 0, refused: 0 };

  constructor(map: VersionMap, options: MysqlTranslatorOptions = {}) {
    this.map = map;
    this.dialect = options.dialect ?? 'mariadb';
    const maxSize = options.maxTextSize ?? 64 * 1024 * 1024;
    this.cache = new LRUCache({
      max: options.maxEntries ?? 10_000,
      maxSize,
      maxEntrySize: Math.max(1, Math.floor(maxSize / 8)),
      sizeCalculation: (value, key) =>
        key.length + (value instanceof TranslationError ? 0 : value.sql.length) + 1,
    });
    this.shapes = new LRUCache({
      max: options.maxEntries ?? 10_000,
      maxSize,
      maxEntrySize: Math.max(1, Math.floor(maxSize / 8)),
      sizeCalculation: (value) => value.text.length + value.edits.reduce((n, e) => n + e.text.length + 2, 1),
    });
  }

  /** Swaps in a new version map (a migration started, completed or rolled back); cached plans are dropped. */
  setVersionMap(map: VersionMap): void {
    this.map = map;
    this.cache.clear();
    this.shapes.clear();
  }

  get versionMap(): VersionMap {
    return this.map;
  }

  /** Number of cached plans, for metrics. */
  get cached(): number {
    return this.cache.size;
  }

  /** Translates `sql` for `version` as the session's server reads it (`context`; the defaults without). */
  translate(version: string, sql: string, context?: MysqlSqlContext): TranslationPlan {
    const found = this.lookUp(version, sql, context);
    if (found === null) return passThrough(version, sql, true);
    if ('plan' in found) return found.plan;
    const statements = found.sibling.statements.map((st) => ({
      ...st,
      start: movePosition(st.start, found.sibling.spans, found.spans),
      end: movePosition(st.end, found.sibling.spans, found.spans),
    }));
    return planOf(version, sql, found.edits, statements);
  }

  /**
   * The text to send in place of `sql`, or null when it goes as it is: what
   * the proxy needs of `translate`, without building a plan for a
   * statement served by its shape (the common case of constants in the text).
   */
  rewrite(version: string, sql: string, context?: MysqlSqlContext): string | null {
    const found = this.lookUp(version, sql, context);
    if (found === null) return null;
    if ('plan' in found) return found.plan.rewritten ? found.plan.sql : null;
    const out = applyCharEdits(sql, found.edits);
    return out === sql ? null : out;
  }

  /**
   * Null on the fast path; else the cached or new plan, or the edits of a
   * statement of the same shape moved onto this text's constants. Throws
   * the refusal, cached or new.
   */
  private lookUp(version: string, sql: string, context: MysqlSqlContext | undefined): Found | null {
    const schema = this.map.version(version);
    if (!schema) {
      this.counters.refused++;
      throw new TranslationError(
        'unknown_version',
        version,
        version,
        'no such schema version (rolled back, or never started)',
      );
    }
    if (!mysqlMayTouch(schema, sql)) {
      this.counters.fastPath++;
      return null;
    }
    const ctx = context ?? defaultMysqlContext(schema.schema);
    const prefix = cacheKeyPrefix(version, ctx);
    // Text with constants is looked up by its shape first: its own text is rarely seen twice
    // (ids inlined by the client), so a look-up by text would cost a hash of it for nothing.
    // Not kept by text, as on PostgreSQL: texts that differ only in their constants would each
    // take a cache entry and evict one, which costs more than moving the edits.
    const shape = mysqlLiteralShape(sql, ctx, prefix.seed);
    const sibling = shape ? this.shapes.get(shape.hash) : undefined;
    if (
      shape &&
      sibling &&
      sibling.prefix === prefix.text &&
      sameShape(sibling.text, sibling.spans, sql, shape.spans)
    ) {
      const edits = moveEdits(sibling.edits, sibling.spans, shape.spans);
      if (edits) {
        this.counters.hits++;
        return { sibling, spans: shape.spans, edits };
      }
    }
    const key = prefix.text + sql;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.counters.hits++;
      if (cached instanceof TranslationError) {
        this.counters.refused++;
        throw cached;
      }
      return { plan: cached };
    }
    this.counters.misses++;
    let rewrite: Rewrite;
    try {
      rewrite = rewriteUncached(schema, sql, ctx, this.dialect);
    } catch (e) {
      if (e instanceof TranslationError) {
        this.counters.refused++;
        this.cache.set(key, e);
      }
      throw e;
    }
    const plan = planOf(version, sql, rewrite.edits, rewrite.statements);
    this.cache.set(key, plan);
    // Refusals are not shared by shape: a constant may hold what refused it (`'/*!'`).
    if (shape && !rewrite.passedUnparsed && !copiesConstant(rewrite.copied, shape.spans)) {
      const { edits, statements } = rewrite;
      this.shapes.set(shape.hash, { prefix: prefix.text, text: sql, spans: shape.spans, edits, statements });
    }
    return { plan };
  }
}

/** What the translator found for a text: a plan, or a sibling's edits moved onto its constants. */
type Found = { plan: TranslationPlan } | { sibling: ShapedRewrite; spans: number[]; edits: CharEdit[] };

/**
 * Parse + rewrite with no cache and no fast path: the pure core, for tests
 * and benchmarks. Text the parser cannot read is refused (syntax error,
 * 1064) when it may name a migrating table, since nothing can say what it
 * would touch, and passed through otherwise so the server answers it in
 * its own words.
 */
export function translateMysqlUncached(
  schema: VersionSchema,
  sql: string,
  context: MysqlSqlContext = defaultMysqlContext(schema.schema),
  dialect: DialectName = 'mariadb',
): TranslationPlan {
  const rewrite = rewriteUncached(schema, sql, context, dialect);
  return planOf(schema.name, sql, rewrite.edits, rewrite.statements);
}

/** A translation in UTF-16 positions of the text, before it becomes a plan. */
interface Rewrite {
  readonly edits: readonly CharEdit[];
  readonly statements: readonly MysqlStatementPlan[];
  /** Ranges of the text the plan copies (output names): where constants must not differ. */
  readonly copied: readonly [number, number][];
  /** Passed through because the parser could not read it (and it names no migrating table). */
  readonly passedUnparsed: boolean;
}

/**
 * What the shape cache keeps of a translation: its text and key prefix (to
 * tell a statement of its shape from one whose hash is only the same),
 * where its constants were, and its edits.
 */
interface ShapedRewrite {
  readonly prefix: string;
  readonly text: string;
  readonly edits: readonly CharEdit[];
  readonly statements: readonly MysqlStatementPlan[];
  readonly spans: number[];
}

function rewriteUncached(
  schema: VersionSchema,
  sql: string,
  context: MysqlSqlContext,
  dialect: DialectName,
): Rewrite {
  const touches = mysqlMayTouch(schema, sql);
  const text = parserText(sql, context);
  if (touches && text.problem !== null)
    throw new TranslationError(
      'unsupported',
      schema.name,
      'statement',
      `${text.problem}; it cannot be translated`,
    );
  if (touches && text.executableComment) {
    throw new TranslationError(
      'unsupported',
      schema.name,
      'statement',
      'executable comments (/*! ... */) hold SQL the translation cannot see; write the SQL out',
    );
  }
  const parseText = (t: string) => parseCstStatements(t, { dialect, paramTypes: ['?'] });
  let statements: CstNode[];
  try {
    statements = parseText(text.text);
  } catch (e) {
    if (!touches) return { edits: [], statements: [], copied: [], passedUnparsed: true };
    const joined = joinedUpdatesOrNull(text.text, parseText);
    if (joined) return rewriteParsed(schema, context, sql, joined);
    const kind = statementKeyword(text.text);
    if (kind !== null && !TRANSLATED_KEYWORDS.has(kind)) {
      throw new TranslationError(
        'unsupported',
        schema.name,
        'statement',
        `${kind} statements that name a migrating table cannot be translated`,
      );
    }
    const first = String((e as Error).message).split('\n')[0];
    throw new TranslationError(
      'syntax_error',
      schema.name,
      'statement',
      `the translator cannot parse it (${first}); it may name a migrating table, so it was not sent`,
    );
  }
  return rewriteParsed(schema, context, sql, statements);
}

/** The statements with joined UPDATEs read in pieces (see joined-update.ts), or null when that does not help. */
function joinedUpdatesOrNull(text: string, parseText: (t: string) => CstNode[]): CstNode[] | null {
  try {
    return parseJoinedUpdates(text, parseText);
  } catch {
    return null;
  }
}

function rewriteParsed(
  schema: VersionSchema,
  context: MysqlSqlContext,
  sql: string,
  statements: CstNode[],
): Rewrite {
  try {
    return { ...rewriteMysqlStatements(schema, context, sql, statements), passedUnparsed: false };
  } catch (e) {
    if (e instanceof TranslationError) throw e;
    // A translator bug must not take the session down nor let the statement through unrewritten.
    log.error('MySQL translator failed', { version: schema.name, error: String(e) });
    throw new TranslationError(
      'unsupported',
      schema.name,
      'statement',
      `internal translator error: ${String(e)}`,
    );
  }
}

/** True when a copied range holds a constant (spans: [start, end) pairs). */
function copiesConstant(copied: readonly [number, number][], spans: readonly number[]): boolean {
  for (const [a, b] of copied) {
    for (let i = 0; i < spans.length; i += 2) if (spans[i]! < b && spans[i + 1]! > a) return true;
  }
  return false;
}

/** The plan of `sql` with these edits: the rewritten text, and edits and ranges in UTF-8 bytes. */
function planOf(
  version: string,
  sql: string,
  charEdits: readonly CharEdit[],
  statements: readonly MysqlStatementPlan[],
): TranslationPlan {
  const out = applyCharEdits(sql, charEdits);
  const toBytes = byteOffsets(sql);
  const edits: TextEdit[] = charEdits.map((e) => ({
    start: toBytes(e.start),
    end: toBytes(e.end),
    text: e.text,
  }));
  const plans: StatementPlan[] = statements.map((st) => ({
    ...st,
    start: toBytes(st.start),
    end: toBytes(st.end),
  }));
  return {
    version,
    original: sql,
    sql: out,
    rewritten: out !== sql,
    edits,
    statements: plans,
    fastPath: false,
  };
}

/** Statement kinds the rewriter translates; a text of another kind that names a migrating table is refused as such. */
const TRANSLATED_KEYWORDS = new Set([
  'SELECT',
  'INSERT',
  'REPLACE',
  'UPDATE',
  'DELETE',
  'WITH',
  'VALUES',
  'TABLE',
]);

/** The first keyword of the text after comments and parentheses, upper-cased; null when there is none. */
function statementKeyword(text: string): string | null {
  const m = /^(?:\s+|\(|--[ \t][^\n]*\n?|#[^\n]*\n?|\/\*(?:[^*]|\*(?!\/))*\*\/)*([A-Za-z]+)/.exec(text);
  return m ? m[1]!.toUpperCase() : null;
}

function applyCharEdits(sql: string, edits: readonly CharEdit[]): string {
  if (edits.length === 0) return sql;
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += sql.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + sql.slice(at);
}

/** UTF-16 position to UTF-8 byte offset of the same text (identity for ASCII). */
function byteOffsets(sql: string): (position: number) => number {
  if (!/[^\u0000-\u007f]/.test(sql)) return (p) => p;
  return (p) => Buffer.byteLength(sql.slice(0, p), 'utf8');
}

/** What a cache key of one version in one context begins with, and its hash (a literal shape's seed). */
interface KeyPrefix {
  readonly text: string;
  readonly seed: number;
}

const keyPrefixes = new WeakMap<MysqlSqlContext, Map<string, KeyPrefix>>();

/**
 * The key prefix of `version` read in `context`, built once per context
 * object and version (a session keeps its context object until its
 * database or sql_mode changes): not a string built per statement.
 * Exported for tests (the seed the literal shapes of a version are hashed with).
 */
export function cacheKeyPrefix(version: string, context: MysqlSqlContext): KeyPrefix {
  let byVersion = keyPrefixes.get(context);
  if (byVersion === undefined) {
    byVersion = new Map();
    keyPrefixes.set(context, byVersion);
  }
  let prefix = byVersion.get(version);
  if (prefix === undefined) {
    const text = `${version}\u0000${contextKey(context)}\u0000`;
    prefix = { text, seed: textHash(text) };
    byVersion.set(version, prefix);
  }
  return prefix;
}

function passThrough(version: string, sql: string, fastPath: boolean): TranslationPlan {
  return { version, original: sql, sql, rewritten: false, edits: [], statements: [], fastPath };
}
