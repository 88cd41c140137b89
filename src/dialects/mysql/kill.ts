/**
 * `KILL [HARD | SOFT] [CONNECTION | QUERY] <id>` may name either of the two
 * id spaces a client sees: the connection id of the handshake, which the
 * proxy hands out, and the server's thread ids (CONNECTION_ID(), SHOW
 * PROCESSLIST). Proxy ids come from a range the server never reaches, so
 * the number alone says which one is meant: a proxy id is rewritten to its
 * upstream thread id, a server thread id goes upstream unchanged. Either
 * way the server still decides whether the client may kill that thread.
 */

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

/** The connection id a client of proxy session number `sessionNumber` (1, 2, ...) sees. */
export function proxyConnectionId(sessionNumber: number): number {
  return PROXY_CONNECTION_ID_BASE + ((sessionNumber - 1) % PROXY_CONNECTION_ID_SPAN) + 1;
}

/** True for ids the proxy hands out; anything else is a server thread id. */
export function isProxyConnectionId(id: number): boolean {
  return id > PROXY_CONNECTION_ID_BASE && id <= 0xffffffff;
}

/** What a COM_QUERY text means for KILL handling. */
export type KillMatch =
  | { kind: 'none' }
  /** A KILL of a connection id (proxy or server): `rewrite` puts an upstream thread id in its place. */
  | { kind: 'kill'; connectionId: number; rewrite(upstreamId: number): string }
  /** A KILL naming a connection id in a form the proxy cannot rewrite safely. */
  | { kind: 'unsupported' };

const COMMENT = String.raw`(?:/\*(?!!)[\s\S]*?\*/|#[^\n]*(?:\n|$)|--(?:\s[^\n]*)?(?:\n|$)|\s)*`;
const SIMPLE_KILL = new RegExp(
  String.raw`^(${COMMENT}KILL\s+(?:(?:HARD|SOFT)\s+)?(?:(?:CONNECTION|QUERY)\s+)?)(\d+)(${COMMENT};?${COMMENT})$`,
  'i',
);
/** KILL forms that name no connection id: `KILL USER name`, `KILL QUERY ID query_id`. */
const KILL_WITHOUT_CONNECTION_ID = new RegExp(
  String.raw`^${COMMENT}KILL\s+(?:(?:HARD|SOFT)\s+)?(?:USER\b|(?:CONNECTION\s+|QUERY\s+)?ID\b)`,
  'i',
);
/** KILL at the start of any statement of a multi-statement text, or inside an executable comment. */
const KILL_ANYWHERE =
  /(?:^|;|\/\*!\d*)\s*(?:\/\*(?!!)[\s\S]*?\*\/\s*)*KILL\s+(?:(?:HARD|SOFT)\s+)?(?:(?:CONNECTION|QUERY)\s+)?\d/i;
/** Texts longer than this are not searched for a second-statement KILL. */
const KILL_SCAN_LIMIT = 64 * 1024;

/**
 * False when a COM_QUERY text of `bytes` UTF-8 bytes is too long for
 * `matchKill` to take for a KILL (it is forwarded as it is): UTF-8 needs at
 * most 3 bytes per UTF-16 code unit, and an invalid byte decodes to one.
 */
export function mayBeKill(bytes: number): boolean {
  return bytes <= 3 * KILL_SCAN_LIMIT;
}

/**
 * @example
 * const m = matchKill('KILL QUERY 7');
 * if (m.kind === 'kill') m.rewrite(4242); // 'KILL QUERY 4242'
 */
export function matchKill(sql: string): KillMatch {
  // Fast path: nearly every statement is not a KILL.
  if (sql.length > KILL_SCAN_LIMIT || !/kill/i.test(sql)) return { kind: 'none' };
  const simple = SIMPLE_KILL.exec(sql);
  if (simple) {
    const [, head, id, tail] = simple;
    return {
      kind: 'kill',
      connectionId: Number(id),
      rewrite: (upstreamId: number) => `${head}${upstreamId >>> 0}${tail}`,
    };
  }
  if (KILL_WITHOUT_CONNECTION_ID.test(sql)) return { kind: 'none' };
  return KILL_ANYWHERE.test(sql) ? { kind: 'unsupported' } : { kind: 'none' };
}
