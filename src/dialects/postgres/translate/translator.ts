import { loadModule, parseSync, type RawStmt } from 'libpg-query';
import { LRUCache } from 'lru-cache';
import { log } from '../../../proxy/log.ts';
import { TranslationError } from '../../../versions/translation-error.ts';
import type { VersionMap } from '../../../versions/version-map.ts';
import type { VersionSchema } from '../../../versions/version-schema.ts';
import { pgMayTouch } from './fast-path.ts';
import { literalShape, moveEdits, movePosition } from './literal-shape.ts';
import { constantsMayNameTables } from './name-literals.ts';
import { applyEdits, type TranslationPlan } from './plan.ts';
import { rewriteStatements } from './rewriter.ts';
import { defaultResolution, type PathContext, PathResolver, type TableResolution } from './search-path.ts';
import { changesSearchPath } from './search-path-change.ts';
import { standardStrings } from './string-rules.ts';

const COPY_WORD = /\bcopy\b/i;

/** Plain counters for metrics: the proxy reads them, nothing here resets them. */
export interface TranslatorCounters {
  /** Plans (or refusals) served from the cache. */
  hits: number;
  /** Statements parsed and rewritten. */
  misses: number;
  /** Statements passed without parsing: they cannot touch a migrating table. */
  fastPath: number;
  /** Statements refused with a TranslationError (cached refusals included). */
  refused: number;
}

export interface TranslatorOptions {
  /** Cached plans per translator (all versions together). Default 10 000. */
  maxEntries?: number;
  /**
   * Bound on the cached text (keys and rewritten SQL, in UTF-16 code units)
   * so a few huge statements cannot hold memory. Default 64 Mi; a single
   * plan larger than an eighth of it is not cached at all.
   */
  maxTextSize?: number;
}

/**
 * Statements of the shapes clients send most, parsed at load. V8 compiles
 * the parser's WebAssembly lazily, function by function, on first use:
 * without this warm-up the first client statements that need translating,
 * which arrive all at once when a migration starts, pay for that compilation
 * together, and on a busy machine the proxy stalls for a few hundred ms
 * right after SHIFTGATE START.
 */
const WARM_UP = [
  'SELECT a, b.c, count(*) AS n FROM t JOIN u AS b ON b.id = t.id WHERE t.x = $1 AND b.y IN (1, 2) GROUP BY 1, 2 ORDER BY n DESC LIMIT 10',
  "SELECT * FROM s.t WHERE id = ANY($1::int[]) OR name LIKE 'x%' FOR UPDATE",
  'WITH w AS (SELECT id FROM t WHERE flag) SELECT coalesce(max(id), 0) FROM w UNION ALL SELECT 1',
  'INSERT INTO t (a, b) VALUES ($1, $2), (3, DEFAULT) ON CONFLICT (a) DO UPDATE SET b = excluded.b RETURNING *',
  'UPDATE t SET amount = amount + $1, note = $2 WHERE id = $3 RETURNING id',
  'DELETE FROM t USING u WHERE t.id = u.id AND u.gone',
  'BEGIN',
  'COMMIT',
  'SET search_path TO app, public',
];
let warmed = false;

/**
 * Loads the PostgreSQL parser (WebAssembly) once per process and warms it
 * up (see WARM_UP); translate() needs it. Idempotent.
 */
export async function loadPgParser(): Promise<void> {
  await loadModule();
  if (warmed) return;
  warmed = true;
  // A few rounds, so the hottest functions also reach the optimising tier before traffic needs them.
  for (let round = 0; round < 5; round++) for (const sql of WARM_UP) parseSync(sql);
}

/**
 * The PostgreSQL translator a proxy session calls for every query string
 * (simple Query, extended Parse, PREPARE): fast path, then the plan cache
 * keyed by (version, text), then parse + rewrite. Parameters (`$1`) are
 * never added, removed or renumbered, so a Parse message keeps its
 * parameter types.
 *
 * @example
 * await loadPgParser();
 * const translator = new PgTranslator(map);
 * const plan = translator.translate(session.version, sql); // throws TranslationError (0A000, 42703, ...)
 * upstream.query(plan.sql);
 */
export class PgTranslator {
  private map: VersionMap;
  private readonly cache: LRUCache<string, TranslationPlan | TranslationError>;
  /**
   * Plans by literal shape (the text with its constants blanked out), so a
   * statement that differs from a translated one only in its constants
   * reuses that plan's edits instead of being parsed.
   */
  private readonly shapes: LRUCache<string, { outcome: TranslationPlan | TranslationError; spans: number[] }>;
  readonly counters: TranslatorCounters = { hits: 0, misses: 0, fastPath: 0, refused: 0 };

  private paths: PathResolver;

  constructor(map: VersionMap, options: TranslatorOptions = {}) {
    this.map = map;
    this.paths = new PathResolver(map.nameResolution);
    const maxShapeSize = options.maxTextSize ?? 64 * 1024 * 1024;
    this.shapes = new LRUCache({
      max: options.maxEntries ?? 10_000,
      maxSize: maxShapeSize,
      maxEntrySize: Math.max(1, Math.floor(maxShapeSize / 8)),
      sizeCalculation: (value, key) =>
        key.length + (value.outcome instanceof TranslationError ? 0 : value.outcome.sql.length) + 1,
    });
    const maxSize = options.maxTextSize ?? 64 * 1024 * 1024;
    this.cache = new LRUCache({
      max: options.maxEntries ?? 10_000,
      maxSize,
      maxEntrySize: Math.max(1, Math.floor(maxSize / 8)),
      sizeCalculation: (value, key) =>
        key.length + (value instanceof TranslationError ? 0 : value.sql.length) + 1,
    });
  }

  /** Swaps in a new version map (a migration started, completed or rolled back); cached plans are dropped. */
  setVersionMap(map: VersionMap): void {
    this.map = map;
    this.paths = new PathResolver(map.nameResolution);
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

  /**
   * Translates `sql` for `version` as the session's server reads it
   * (`context`: its search_path and string rules; the defaults without).
   */
  translate(version: string, sql: string, context?: PathContext): TranslationPlan {
    if (context && !context.sqlContext.standardConformingStrings && sql.includes('\\')) {
      const original = Buffer.from(sql, 'utf8');
      const standard = standardStrings(original);
      if (standard)
        return onOriginal(this.translate(version, standard.toString('utf8'), context), sql, original);
    }
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
    if (!pgMayTouch(schema, sql)) {
      this.counters.fastPath++;
      return passThrough(version, sql, true);
    }
    const resolution = context ? this.paths.for(schema, context) : defaultResolution(schema);
    const scope = resolution.key === '' ? version : `${version}\u0000\u0004${resolution.key}`;
    const key = `${scope}\u0000${sql}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.counters.hits++;
      if (cached instanceof TranslationError) {
        this.counters.refused++;
        throw cached;
      }
      return cached;
    }
    const bytes = Buffer.from(sql, 'utf8');
    // Where constants may name tables, they decide the rewrite: no sharing by shape. Nor for COPY,
    // whose options (HEADER 'match', DELIMITER ';') are constants that decide the header check.
    const shape = constantsMayNameTables(sql) || COPY_WORD.test(sql) ? null : literalShape(bytes);
    const shapeKey = shape ? `${scope}\u0000\u0003${shape.key}` : null;
    const sibling = shapeKey ? this.shapes.get(shapeKey) : undefined;
    if (shape && sibling) {
      if (sibling.outcome instanceof TranslationError) {
        this.counters.hits++;
        this.counters.refused++;
        throw sibling.outcome;
      }
      const plan = replan(sibling.outcome, sibling.spans, shape.spans, sql, bytes);
      if (plan) {
        this.counters.hits++;
        return plan;
      }
    }
    this.counters.misses++;
    let plan: TranslationPlan;
    try {
      plan = translateUncached(schema, sql, resolution);
    } catch (e) {
      if (e instanceof TranslationError) {
        this.counters.refused++;
        this.cache.set(key, e);
        if (shape && shapeKey) this.shapes.set(shapeKey, { outcome: e, spans: shape.spans });
      }
      throw e;
    }
    this.cache.set(key, plan);
    if (shape && shapeKey) this.shapes.set(shapeKey, { outcome: plan, spans: shape.spans });
    return plan;
  }
}

/**
 * Parse + rewrite with no cache and no fast path: the pure core, for tests
 * and benchmarks. Text that does not parse is refused with the parser's
 * own syntax error (42601) when it may name a migrating table (nothing can
 * say what it would touch), and passed through otherwise, so the server
 * reports the syntax error in its own words.
 */
export function translateUncached(
  schema: VersionSchema,
  sql: string,
  resolution: TableResolution = defaultResolution(schema),
): TranslationPlan {
  let stmts: RawStmt[];
  try {
    stmts = parseSync(sql).stmts ?? [];
  } catch (e) {
    if (!schema.mayTouch(sql)) return passThrough(schema.name, sql, false);
    const details = (e as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    throw new TranslationError(
      'syntax_error',
      schema.name,
      'statement',
      `${details?.message ?? String(e)}; it may name a migrating table, so it was not sent`,
      details?.cursorPosition ?? -1,
    );
  }
  const bytes = Buffer.from(sql, 'utf8');
  let rewritten: ReturnType<typeof rewriteStatements>;
  try {
    refuseSearchPathChangeWithUse(schema, sql, stmts);
    rewritten = rewriteStatements(schema, bytes, stmts, resolution);
  } catch (e) {
    if (e instanceof TranslationError) throw e;
    // A translator bug must not take the session down nor let the statement through unrewritten.
    log.error('translator failed', { version: schema.name, error: String(e) });
    throw new TranslationError(
      'unsupported',
      schema.name,
      'statement',
      `internal translator error: ${String(e)}`,
    );
  }
  const { edits, statements } = rewritten;
  const headers = statements.filter((s) => s.copyHeader !== undefined);
  if (headers.length > 1) {
    throw new TranslationError(
      'unsupported',
      schema.name,
      'COPY',
      'one query string can hold only one COPY FROM STDIN with HEADER MATCH on a migrating table: send each COPY as a query of its own',
    );
  }
  const out = edits.length === 0 ? sql : applyEdits(bytes, edits);
  const plan: TranslationPlan = {
    version: schema.name,
    original: sql,
    sql: out,
    rewritten: out !== sql,
    edits,
    statements,
    fastPath: false,
  };
  return headers[0] ? { ...plan, copyHeader: headers[0].copyHeader } : plan;
}

/** A plan made on the standard-strings reading of `sql`, applied to its original bytes. */
function onOriginal(plan: TranslationPlan, sql: string, original: Buffer): TranslationPlan {
  return {
    ...plan,
    original: sql,
    sql: plan.edits.length > 0 ? applyEdits(original, plan.edits) : sql,
  };
}

/**
 * A text that changes search_path and also names a migrating table: the
 * statements after the change would resolve names under a path the
 * translator did not use, so the change must come as a statement of its own.
 */
function refuseSearchPathChangeWithUse(schema: VersionSchema, sql: string, stmts: readonly RawStmt[]): void {
  if (stmts.length < 2 || !/search_path|\b(?:reset|discard)\b/i.test(sql)) return;
  if (!stmts.some((s) => changesSearchPath(s.stmt))) return;
  throw new TranslationError(
    'unsupported',
    schema.name,
    'search_path',
    'a query string that changes search_path cannot also use a migrating table; send the SET as a statement of its own',
  );
}

function passThrough(version: string, sql: string, fastPath: boolean): TranslationPlan {
  return { version, original: sql, sql, rewritten: false, edits: [], statements: [], fastPath };
}

/** The plan of a same-shape sibling moved onto `sql`; null when its edits touch a constant. */
function replan(
  sibling: TranslationPlan,
  from: number[],
  to: number[],
  sql: string,
  bytes: Uint8Array,
): TranslationPlan | null {
  const edits = moveEdits(sibling.edits, from, to);
  if (!edits) return null;
  return {
    ...sibling,
    original: sql,
    sql: edits.length > 0 ? applyEdits(bytes, edits) : sql,
    edits,
    statements: sibling.statements.map((st) => ({
      ...st,
      start: movePosition(st.start, from, to),
      end: movePosition(st.end, from, to),
    })),
  };
}
