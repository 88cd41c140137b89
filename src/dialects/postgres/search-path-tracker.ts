import { parseSync } from 'libpg-query';
import type { SessionSqlContext } from '../../proxy/session.ts';
import { type PathChange, searchPathChanges } from './translate/search-path-change.ts';

/** No SET LOCAL in force. */
const NONE = Symbol('none');
type Value = string | null | undefined;

interface Request {
  changes: PathChange[];
  /** The session-level value before this request's changes. */
  before: Value;
  failed: boolean;
  /** How a transaction-control statement in it ends the transaction, when one does. */
  ends: 'commit' | 'rollback' | 'savepoint' | 'unknown' | null;
}

const IDLE = 0x49;
const FAILED = 0x45;
const TRANSACTION_END = /^\s*(?:commit|end|rollback|abort|release|prepare|savepoint)\b/i;

/**
 * Follows a PostgreSQL session's search_path through the statements it
 * sends, as the server applies them: a change counts from the moment it is
 * sent (statements pipelined behind it resolve under it), is undone when
 * its request fails, and a change made inside a transaction block is undone
 * when the block rolls back, SET LOCAL lasting only to its end. When the
 * proxy cannot know the value (a value only the server computes, a rollback
 * to a savepoint after a change), it says so: `searchPath` becomes
 * undefined until the next plain SET. The session's role and database
 * defaults are the translator's to apply (null).
 *
 * Only statements that mention search_path, RESET ALL or DISCARD ALL are
 * parsed; the rest cost a byte scan.
 */
export class SearchPathTracker {
  private session: Value = null;
  private local: Value | typeof NONE = NONE;
  /** The session value when the open transaction block began, once a change happened in it. */
  private atBlockStart: Value | typeof NONE = NONE;
  private readonly requests: Request[] = [];
  private open: Request | null = null;
  /** Inside a transaction block, as the last ReadyForQuery said. */
  private inBlock = false;
  private lastStatus = IDLE;

  constructor(private readonly context: SessionSqlContext) {}

  /** A Query's text or a Parse's statement (its bytes [start, end) of `raw`). */
  observe(raw: Buffer, start: number, end: number): void {
    const watchEnd = this.atBlockStart !== NONE && TRANSACTION_END.test(raw.toString('latin1', start, end));
    if (!watchEnd && !mentionsPathChange(raw, start, end)) return;
    let stmts: ReturnType<typeof parseSync>['stmts'];
    try {
      stmts = parseSync(raw.toString('utf8', start, end)).stmts ?? [];
    } catch {
      return; // the server refuses it too
    }
    const request = this.current();
    for (const s of stmts) {
      const t = s.stmt && 'TransactionStmt' in s.stmt ? s.stmt.TransactionStmt.kind : undefined;
      if (t === 'TRANS_STMT_COMMIT' || t === 'TRANS_STMT_PREPARE') request.ends ??= 'commit';
      else if (t === 'TRANS_STMT_ROLLBACK') request.ends = request.ends === null ? 'rollback' : 'unknown';
      else if (t === 'TRANS_STMT_ROLLBACK_TO') request.ends = 'savepoint';
      for (const change of searchPathChanges(s.stmt)) {
        request.changes.push(change);
        this.apply(change);
      }
    }
  }

  /** The end of a request the server answers with one ReadyForQuery (a Query, or a batch up to Sync). */
  endRequest(): void {
    this.requests.push(this.open ?? { changes: [], before: this.session, failed: false, ends: null });
    this.open = null;
  }

  onError(): void {
    const first = this.requests[0];
    if (first) first.failed = true;
  }

  /** The ReadyForQuery that answers the oldest request, with the transaction status it reports. */
  onReadyForQuery(status: number): void {
    const request = this.requests.shift() ?? { changes: [], before: this.session, failed: false, ends: null };
    const changed = request.changes.length > 0;
    if (request.failed && changed) {
      // The server undid the request's changes; later pipelined ones build on a value the proxy no longer knows.
      const later = this.requests.some((r) => r.changes.length > 0) || (this.open?.changes.length ?? 0) > 0;
      this.session = later ? undefined : request.before;
    }
    const idle = status === IDLE;
    if (!this.inBlock) {
      // A block opened by this request remembers the value from before it; one opened and closed
      // in it ("BEGIN; SET ...; ROLLBACK") ends as its last transaction statement says.
      if (!idle && changed) this.atBlockStart = request.before;
      else if (idle && changed && request.ends === 'rollback') this.session = request.before;
    } else if (request.ends === 'savepoint' && this.atBlockStart !== NONE) {
      this.session = undefined;
    }
    if (idle) {
      if (this.inBlock && this.atBlockStart !== NONE) {
        // COMMIT of a failed block rolls it back.
        const ends = this.lastStatus === FAILED ? 'rollback' : request.ends;
        if (ends === 'rollback') this.session = this.atBlockStart;
        else if (ends !== 'commit') this.session = undefined;
      }
      this.atBlockStart = NONE;
      this.local = NONE;
    }
    this.inBlock = !idle;
    this.lastStatus = status;
    this.publish();
  }

  private current(): Request {
    this.open ??= { changes: [], before: this.session, failed: false, ends: null };
    return this.open;
  }

  private apply(change: PathChange): void {
    if (this.inBlock && this.atBlockStart === NONE) this.atBlockStart = this.session;
    if (change.kind === 'reset-all') {
      this.session = null;
      this.local = NONE;
    } else if (change.kind === 'unknown') {
      this.session = undefined;
    } else if (change.local) {
      this.local = change.value;
    } else {
      this.session = change.value;
      this.local = NONE;
    }
    this.publish();
  }

  private publish(): void {
    this.context.searchPath = this.local !== NONE ? this.local : this.session;
  }
}

/**
 * True when the text may change search_path: it names it (in any case), or
 * holds RESET ALL / DISCARD ALL. A byte scan: `_` is rare enough that
 * checking around each one is cheap.
 */
function mentionsPathChange(raw: Buffer, start: number, end: number): boolean {
  for (let at = raw.indexOf(0x5f, start); at >= 0 && at < end; at = raw.indexOf(0x5f, at + 1)) {
    if (at - 6 >= start && at + 5 <= end && wordAt(raw, at - 6, 'search') && wordAt(raw, at + 1, 'path'))
      return true;
  }
  return containsWord(raw, start, end, 'reset') || containsWord(raw, start, end, 'discard');
}

function wordAt(raw: Buffer, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if ((raw[at + i]! | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** `word` at the start of the text or of a statement after `;`: how RESET ALL and DISCARD ALL are written. */
function containsWord(raw: Buffer, start: number, end: number, word: string): boolean {
  let at = start;
  for (;;) {
    while (at < end && (raw[at] === 0x20 || (raw[at]! >= 0x09 && raw[at]! <= 0x0d))) at++;
    if (at + word.length <= end && wordAt(raw, at, word)) return true;
    const next = raw.indexOf(0x3b, at);
    if (next < 0 || next >= end) return false;
    at = next + 1;
  }
}
