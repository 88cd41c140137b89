import type { Node } from 'libpg-query';
import { quoteIdent } from './ident.ts';

/**
 * What a parsed statement does to the session's search_path: SET [LOCAL],
 * RESET, SET ... TO DEFAULT, RESET ALL, DISCARD ALL and
 * `set_config('search_path', ...)`. Values are in the server's text form,
 * null meaning the role / database default.
 */
export type PathChange =
  | { kind: 'set'; value: string | null; local: boolean }
  /** RESET ALL, DISCARD ALL: every setting back to its default. */
  | { kind: 'reset-all' }
  /** A change whose value only the server knows (a parameter, an expression). */
  | { kind: 'unknown' };

/** The search_path changes of one statement, in order; empty for most. */
export function searchPathChanges(stmt: Node | undefined): PathChange[] {
  if (!stmt) return [];
  if ('VariableSetStmt' in stmt) {
    const v = stmt.VariableSetStmt;
    if (v.kind === 'VAR_RESET_ALL') return [{ kind: 'reset-all' }];
    if (v.name?.toLowerCase() !== 'search_path') return [];
    const local = v.is_local === true;
    if (v.kind === 'VAR_SET_DEFAULT' || v.kind === 'VAR_RESET') return [{ kind: 'set', value: null, local }];
    if (v.kind !== 'VAR_SET_VALUE') return [{ kind: 'unknown' }];
    // Each item is one schema name, however it was written (`'a, b'` names one schema).
    const names = (v.args ?? []).map((a) => ('A_Const' in a ? a.A_Const.sval?.sval : undefined));
    if (names.some((n) => n === undefined)) return [{ kind: 'unknown' }];
    return [{ kind: 'set', value: (names as string[]).map(quoteIdent).join(', '), local }];
  }
  if ('DiscardStmt' in stmt) return stmt.DiscardStmt.target === 'DISCARD_ALL' ? [{ kind: 'reset-all' }] : [];
  const out: PathChange[] = [];
  findSetConfig(stmt, out);
  return out;
}

export function changesSearchPath(stmt: Node | undefined): boolean {
  return searchPathChanges(stmt).length > 0;
}

/** `set_config('search_path', value, is_local)` calls anywhere in the statement. */
function findSetConfig(node: unknown, out: PathChange[]): void {
  if (Array.isArray(node)) {
    for (const n of node) findSetConfig(n, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const call = (node as { FuncCall?: { funcname?: Node[]; args?: Node[] } }).FuncCall;
  if (call) {
    const name = call.funcname?.at(-1);
    if (name && 'String' in name && name.String.sval?.toLowerCase() === 'set_config') {
      const [setting, value, local] = call.args ?? [];
      const settingName = setting && 'A_Const' in setting ? setting.A_Const.sval?.sval : undefined;
      if (settingName === undefined) out.push({ kind: 'unknown' });
      else if (settingName.toLowerCase() === 'search_path') {
        const text = value && 'A_Const' in value ? value.A_Const.sval?.sval : undefined;
        const isLocal = local && 'A_Const' in local ? constantBoolean(local.A_Const) : undefined;
        out.push(
          text === undefined || isLocal === undefined
            ? { kind: 'unknown' }
            : { kind: 'set', value: text, local: isLocal },
        );
      }
    }
  }
  for (const v of Object.values(node)) if (v && typeof v === 'object') findSetConfig(v, out);
}

function constantBoolean(c: {
  boolval?: { boolval?: boolean };
  sval?: { sval?: string };
}): boolean | undefined {
  if (c.boolval) return c.boolval.boolval === true;
  const s = c.sval?.sval?.toLowerCase();
  if (s === undefined) return undefined;
  if (['t', 'true', 'on', 'yes', '1'].includes(s)) return true;
  if (['f', 'false', 'off', 'no', '0'].includes(s)) return false;
  return undefined;
}
