import type { VersionMap } from '../versions/version-map.ts';
import type { ClientError } from './client-error.ts';
import type { SessionInfo } from './session.ts';

/** A result set the proxy answers itself (admin commands). Values are text; null is SQL NULL. */
export interface LocalResult {
  columns: string[];
  rows: (string | null)[][];
  /** Command tag for protocols that report one (`SHOW`, `SHIFTGATE START`). */
  tag: string;
}

/**
 * `COPY t FROM STDIN (HEADER MATCH)` on a table the session's version
 * names differently: the server would check the header line against the
 * physical names, so it is told `HEADER true` (skip the line) and the wire
 * session checks the line against these names instead, as the server would.
 */
export interface CopyHeaderMatch {
  /** The relation as the client named it, for the error's context line. */
  readonly table: string;
  /** The version's names of the copied columns, in order. */
  readonly columns: readonly string[];
  readonly format: 'text' | 'csv';
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  /** The NULL string: a header field equal to it is a null, never a name. */
  readonly nullString: string;
}

/** What to do with one client statement. */
export type Route =
  /** Send the statement upstream unchanged. */
  | { kind: 'forward' }
  /** Send this text instead (a translated statement). */
  | { kind: 'rewrite'; sql: string; copyHeader?: CopyHeaderMatch }
  /** Answer with this result set; nothing of the statement reaches the database. */
  | { kind: 'result'; result: LocalResult }
  /** Answer with this error; the session stays usable. */
  | { kind: 'error'; error: ClientError }
  /**
   * The session asks to be bound to `version` (a RESET resolves to the
   * version it connected with); the wire session applies the binding once
   * it knows the server agrees, and sends the statement upstream when the
   * dialect can run it.
   */
  | { kind: 'bind-version'; version: string | null };

/**
 * Decides, statement by statement, what the proxy does with client SQL:
 * admin commands, version binding and translation all live behind it, so
 * the wire sessions only apply decisions. Dialect-neutral.
 */
export interface StatementRouter {
  /** Changes whenever translation may change (a new version map): prepared statements are re-checked. */
  readonly generation: number;
  /**
   * A schema switch holds statements now: a prepared statement checked
   * while it does is checked again at its next use (a transaction exempt
   * from the hold now may not be at its next statement).
   */
  readonly switching?: boolean;
  /** The schema versions translation follows now; null before the first map (or without translation). */
  readonly versionMap?: VersionMap | null;
  /**
   * Cheap test on the raw statement bytes, run for every statement before
   * anything is decoded: false means "forward unchanged", and is the answer
   * for ordinary traffic when no migration is in flight. It must answer
   * from windows of at most PREFILTER_WINDOW bytes (true for a text only if
   * true for one of its windows), so a large statement can be scanned piece
   * by piece as it arrives (`PiecewisePrefilter`).
   */
  mayRoute(bytes: Buffer, start: number, end: number): boolean;
  /**
   * The decision; a promise when it has to do work first (starting a
   * migration) or wait (a schema switch on a table it names).
   */
  route(session: SessionInfo, sql: string): Route | Promise<Route>;
  /**
   * For a server error on (physical) `table` in a session bound to
   * `version`: the words that say a completed migration retired the schema
   * the session was written for, or null.
   */
  retirementNote?(version: string, table: string): string | null;
  /**
   * When `sql` must wait for a schema switch before it can be translated
   * (prepared statements checked again at their Bind ask this first): how
   * the wait ended, a ClientError when it timed out; null when it need not
   * wait.
   */
  holdFor?(session: SessionInfo, sql: string): Promise<ClientError | null> | null;
  /**
   * Binds a new session to its schema version: `requested` (a startup
   * parameter), else a config rule, else the latest completed version.
   * Throws a ClientError for an unknown version.
   */
  bindAtConnect(session: SessionInfo, requested: string | null): void;
  /**
   * The columns of the result the router answers `sql` with itself (an
   * admin command), known without running it; null for any other statement.
   */
  localResultColumns(sql: string): string[] | null;
}
