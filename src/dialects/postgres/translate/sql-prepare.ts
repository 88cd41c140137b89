import { parseSync, type RawStmt } from 'libpg-query';

/**
 * What a query string does to the session's SQL-level prepared statements
 * (PREPARE / EXECUTE / DEALLOCATE / DISCARD), statement by statement, read
 * with the server's own parser. Text that does not parse does nothing (the
 * server refuses it too).
 */
export type SqlPrepareOp =
  /** `text`: the whole PREPARE statement as the client wrote it (the version's names). */
  | { kind: 'prepare'; name: string; text: string }
  | { kind: 'execute'; name: string }
  /** `name` null: DEALLOCATE ALL or DISCARD ALL. */
  | { kind: 'deallocate'; name: string | null };

export function sqlPrepareOps(sql: string): SqlPrepareOp[] {
  let stmts: RawStmt[];
  try {
    stmts = parseSync(sql).stmts ?? [];
  } catch {
    return [];
  }
  const bytes = Buffer.from(sql, 'utf8');
  const ops: SqlPrepareOp[] = [];
  for (const raw of stmts) {
    const node = raw.stmt;
    if (!node) continue;
    if ('PrepareStmt' in node) {
      const start = raw.stmt_location ?? 0;
      const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
      ops.push({
        kind: 'prepare',
        name: node.PrepareStmt.name ?? '',
        text: bytes.toString('utf8', start, end),
      });
    } else if ('ExecuteStmt' in node) {
      ops.push({ kind: 'execute', name: node.ExecuteStmt.name ?? '' });
    } else if ('DeallocateStmt' in node) {
      ops.push({ kind: 'deallocate', name: node.DeallocateStmt.name ?? null });
    } else if ('DiscardStmt' in node && node.DiscardStmt.target === 'DISCARD_ALL') {
      ops.push({ kind: 'deallocate', name: null });
    }
  }
  return ops;
}
