import { LatencyHistogram } from './latency-histogram.ts';

/** What the registry knows about one client session (the data behind SHOW SHIFTGATE SESSIONS). */
export interface SessionInfo {
  /** The proxy's session number; MySQL: the connection id its client sees, from the server's greeting on. */
  id: number;
  readonly dialect: string;
  readonly clientAddress: string;
  readonly connectedAt: Date;
  user: string | null;
  database: string | null;
  applicationName: string | null;
  /** Migration name the session is bound to; null = the schema before any migration. */
  boundVersion: string | null;
  /**
   * The version bound when the session connected (what its upstream session
   * was started with): RESET and DISCARD ALL return the binding to it.
   */
  startupVersion: string | null;
  /** How the server reads this session's SQL text; the translator depends on it. */
  readonly sqlContext: SessionSqlContext;
  /** Statements sent upstream (admin commands answered by the proxy are not counted). */
  statements: number;
  /** True once the session ran anything that was not an admin command. */
  ranClientStatements: boolean;
  /**
   * The server said a transaction block is open (or failed) at its last
   * ready point. Such a session may hold locks a schema switch waits for,
   * so its statements are never held back around the switch.
   */
  inTransaction: boolean;
  /** Transactions the server has reported ended so far: tells one transaction of the session from the next. */
  transactionsEnded: number;
  /** The server's id of the upstream connection (PostgreSQL backend pid), once known. */
  backendId: number | null;
  readonly latency: LatencyHistogram;
}

/**
 * Session settings that change what a statement's text means to the
 * server, beyond the version: which schema an unqualified table name
 * resolves to, and how string constants are read. Kept by the session as
 * the server applies them; read by the dialect's translator.
 */
export interface SessionSqlContext {
  /** search_path in the server's text form; null: the role / database default; undefined: not known. */
  searchPath: string | null | undefined;
  /** False when backslashes escape in plain string constants (`standard_conforming_strings = off`). */
  standardConformingStrings: boolean;
  /**
   * MySQL: whether sql_mode has ANSI_QUOTES (`"x"` an identifier). Absent:
   * the server's default (assumed without); null: the session changed
   * sql_mode and the proxy does not know to what.
   */
  ansiQuotes?: boolean | null;
}

/** A live client session, whatever its dialect. */
export interface ProxySession {
  readonly info: SessionInfo;
  /** True when no statement is in flight and no transaction is open. */
  isIdle(): boolean;
  /** Ask the session to close at its next idle point (SIGTERM drain). */
  drain(): void;
  /**
   * Resolves once every request in flight now has been answered; null when
   * none is. Requests sent later do not count.
   */
  requestsAnswered?(): Promise<void> | null;
  /** Close now; `reason` is told to the client when the protocol allows it. */
  terminate(reason: string): void;
  /** Resolves once both the client and the upstream connection are closed. */
  readonly closed: Promise<void>;
}

let nextSessionId = 1;

export function newSessionInfo(dialect: string, clientAddress: string): SessionInfo {
  return {
    id: nextSessionId++,
    dialect,
    clientAddress,
    connectedAt: new Date(),
    user: null,
    database: null,
    applicationName: null,
    boundVersion: null,
    startupVersion: null,
    sqlContext: { searchPath: null, standardConformingStrings: true },
    statements: 0,
    ranClientStatements: false,
    inTransaction: false,
    transactionsEnded: 0,
    backendId: null,
    latency: new LatencyHistogram(),
  };
}
