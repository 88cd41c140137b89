/**
 * `KILL [HARD | SOFT] [CONNECTION | QUERY] <id>` may name either of the two
 * id spaces a client sees: the connection id of the handshake, which the
 * proxy hands out, and the server's thread ids (CONNECTION_ID(), SHOW
 * PROCESSLIST). Proxy ids come from a range the server never reaches, so
 * the number alone says which one is meant: a proxy id is rewritten to its
 * upstream thread id (that of a session on another proxy of the fleet as
 * that proxy's heartbeat lists it), a server thread id goes upstream
 * unchanged. Either way the KILL runs on the client's own upstream
 * connection, so the server still decides whether the client may kill that
 * thread.
 */
import { statementSpans } from './statement-text.ts';

/**
 * Proxy connection ids start here. NOTE: servers count thread ids up from 1
 * per start, so ids from 2^31 on are free unless a server has accepted two
 * billion connections since it started; the session logs a warning when an
 * upstream thread id reaches the range. Ids stay below 2^32 because the
 * handshake carries 4 bytes, and mysql2 and the mariadb connector read them
 * unsigned.
 */
export const PROXY_CONNECTION_ID_BASE = 0x80000000;
const PROXY_CONNECTION_ID_SPAN = 0x7fffffff;

/**
 * The connection id the client of upstream thread `threadId` sees. Derived
 * from the server's thread id, so no two live sessions of any proxies in
 * front of one server share it (a fleet, `proxy.workers`) without the
 * proxies agreeing on anything.
 */
export function proxyConnectionId(threadId: number): number {
  return PROXY_CONNECTION_ID_BASE + ((threadId - 1) % PROXY_CONNECTION_ID_SPAN) + 1;
}

/** True for ids the proxy hands out; anything else is a server thread id. */
export function isProxyConnectionId(id: number): boolean {
  return id > PROXY_CONNECTION_ID_BASE && id <= 0xffffffff;
}

/** What a COM_QUERY text means for KILL handling. */
export type KillMatch =
  | { kind: 'none' }
  | {
      /** One or more KILLs of a connection id (proxy or server), in any statements of the text. */
      kind: 'kill';
      /** The ids, in text order. */
      connectionIds: number[];
      /** The KILL is the text's only statement. */
      alone: boolean;
      /**
       * The text with each id replaced by what `upstreamIdOf` gives for it;
       * null leaves that id as written. Nothing else changes, byte for byte.
       */
      rewrite(upstreamIdOf: (connectionId: number) => number | null): string;
    }
  /** A KILL naming a connection id in a form the proxy cannot rewrite safely. */
  | { kind: 'unsupported' };

/** Blanks and comments between tokens (at least one). Executable comments are statement text, not blanks. */
const GAP = String.raw`(?:\s|/\*(?!M?!)[\s\S]*?\*/|#[^\n]*(?:\n|$)|--(?:\s[^\n]*)?(?:\n|$))+`;
const KILL_HEAD = `KILL${GAP}(?:(?:HARD|SOFT)${GAP})?(?:(?:CONNECTION|QUERY)${GAP})?`;
/** One statement (as `statementSpans` cuts it: from its first token) that is a KILL of a literal id. */
const STATEMENT_KILL = new RegExp(String.raw`^(${KILL_HEAD})(\d+)(?:${GAP})?$`, 'i');
/** KILL forms that name no connection id: `KILL USER name`, `KILL QUERY ID query_id`. */
const KILL_WITHOUT_CONNECTION_ID = new RegExp(
  String.raw`^KILL${GAP}(?:(?:HARD|SOFT)${GAP})?(?:USER\b|(?:(?:CONNECTION|QUERY)${GAP})?ID\b)`,
  'i',
);
/** A KILL whose id is an expression that may hold a literal id (`KILL 1+2`, `KILL (5)`, `KILL -5`). */
const KILL_OF_EXPRESSION = new RegExp(String.raw`^${KILL_HEAD}[\d(+\-]`, 'i');
/** KILL inside an executable comment (`/*! KILL 5 *\/`), which the server runs. */
const EXECUTABLE_KILL = /\/\*M?!\d*(?:\s|\/\*[\s\S]*?\*\/)*KILL\b/i;
/** Texts longer than this are not searched for KILL. */
const KILL_SCAN_LIMIT = 64 * 1024;

const NONE: KillMatch = { kind: 'none' };
const UNSUPPORTED: KillMatch = { kind: 'unsupported' };

/**
 * False when a COM_QUERY text of `bytes` UTF-8 bytes is too long for
 * `matchKill` to take for a KILL (it is forwarded as it is): UTF-8 needs at
 * most 3 bytes per UTF-16 code unit, and an invalid byte decodes to one.
 */
export function mayBeKill(bytes: number): boolean {
  return bytes <= 3 * KILL_SCAN_LIMIT;
}

/**
 * Finds the KILLs of a literal connection id in every statement of a
 * COM_QUERY text (multi-statement texts included), so each id can be put
 * in the space the server knows. `backslashEscapes` is false under
 * NO_BACKSLASH_ESCAPES, for cutting the text into statements.
 *
 * @example
 * const m = matchKill('SELECT 1; KILL QUERY 7');
 * if (m.kind === 'kill') m.rewrite(() => 4242); // 'SELECT 1; KILL QUERY 4242'
 */
export function matchKill(sql: string, backslashEscapes = true): KillMatch {
  // Fast path: nearly every statement is not a KILL.
  if (sql.length > KILL_SCAN_LIMIT || !/kill/i.test(sql)) return NONE;
  const spans = statementSpans(sql, backslashEscapes);
  const found: { id: number; start: number; end: number }[] = [];
  for (const [start, end] of spans) {
    const statement = sql.slice(start, end);
    const kill = STATEMENT_KILL.exec(statement);
    if (kill) {
      const at = start + kill[1]!.length;
      found.push({ id: Number(kill[2]), start: at, end: at + kill[2]!.length });
      continue;
    }
    if (KILL_WITHOUT_CONNECTION_ID.test(statement)) continue;
    if (KILL_OF_EXPRESSION.test(statement) || EXECUTABLE_KILL.test(statement)) return UNSUPPORTED;
  }
  if (found.length === 0) return NONE;
  return {
    kind: 'kill',
    connectionIds: found.map((f) => f.id),
    alone: spans.length === 1,
    rewrite(upstreamIdOf) {
      let out = '';
      let from = 0;
      for (const f of found) {
        const upstreamId = upstreamIdOf(f.id);
        if (upstreamId === null) continue;
        out += `${sql.slice(from, f.start)}${upstreamId >>> 0}`;
        from = f.end;
      }
      return out + sql.slice(from);
    },
  };
}
