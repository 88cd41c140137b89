/**
 * `KILL [HARD | SOFT] [CONNECTION | QUERY] <id>` names a connection id the
 * proxy handed out, not an upstream thread id: the relay rewrites the id
 * before the statement goes upstream, where the server still decides
 * whether the client may kill that connection.
 */

/** What a COM_QUERY text means for KILL handling. */
export type KillMatch =
  | { kind: 'none' }
  /** A KILL of a connection id: `rewrite` puts the upstream thread id in its place. */
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
