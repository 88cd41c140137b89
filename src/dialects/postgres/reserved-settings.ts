/**
 * Shiftgate's own session settings on PostgreSQL (`shiftgate.*`) are the
 * proxy's, not the client's: the sync triggers read `shiftgate.version` to
 * tell which schema version a write comes from, so a client that changed it
 * behind the proxy's back (`set_config`, a SET inside a function or a
 * multi-statement query, `ALTER ROLE ... SET`) would have its writes synced
 * as another version's. The one form the proxy accepts is a standalone
 * `SET shiftgate.version`, which it intercepts and follows; every other
 * change to a `shiftgate.*` setting is refused before it reaches the server.
 *
 * NOTE: this reads the statement text. A name built at run time
 * (`set_config('shift' || 'gate.version', ...)`, dynamic SQL in PL/pgSQL)
 * is not seen; it cannot happen by accident.
 */
import { parseSync } from 'libpg-query';

const RESERVED_PREFIX = 'shiftgate.';
/** Changes of a shiftgate.* setting inside a function body or DO block, read as text. */
const BODY_CHANGE =
  /set_config\s*\(\s*(?:e?'|\$[a-z0-9_]*\$)\s*shiftgate\.|\b(?:set|reset)\s+(?:session\s+|local\s+)?"?shiftgate"?\s*\./i;

function reserved(name: unknown): name is string {
  return typeof name === 'string' && name.toLowerCase().startsWith(RESERVED_PREFIX);
}

function constantText(node: unknown): string | null {
  const c = (node as { A_Const?: { sval?: { sval?: string } } } | undefined)?.A_Const;
  return c?.sval?.sval ?? null;
}

function functionName(call: { funcname?: { String?: { sval?: string } }[] }): string {
  return call.funcname?.at(-1)?.String?.sval?.toLowerCase() ?? '';
}

/** Every string constant below `node` (function bodies, DO blocks). */
function strings(node: unknown, out: string[]): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const v of node) strings(v, out);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) strings(v, out);
  return out;
}

/** The first reserved setting `node` changes, or null. */
function findChange(node: unknown): string | null {
  if (Array.isArray(node)) {
    for (const v of node) {
      const found = findChange(v);
      if (found) return found;
    }
    return null;
  }
  if (!node || typeof node !== 'object') return null;
  for (const [key, value] of Object.entries(node)) {
    // `setstmt` is the VariableSetStmt of ALTER ROLE / DATABASE / SYSTEM ... SET, stored unwrapped.
    if ((key === 'VariableSetStmt' || key === 'setstmt') && reserved((value as { name?: string }).name)) {
      return (value as { name: string }).name;
    }
    if (key === 'FuncCall' && functionName(value as never) === 'set_config') {
      const first = constantText((value as { args?: unknown[] }).args?.[0]);
      if (reserved(first)) return first;
    }
    if (key === 'DoStmt' || key === 'CreateFunctionStmt') {
      const body = strings(value, []).find((s) => BODY_CHANGE.test(s));
      if (body) return 'shiftgate.*';
    }
    const found = findChange(value);
    if (found) return found;
  }
  return null;
}

/**
 * The `shiftgate.*` setting `sql` would change, or null when it changes
 * none (or does not parse: the server then refuses it itself).
 *
 * @example
 * reservedSettingChange("SELECT set_config('shiftgate.version', 'x', false)") // 'shiftgate.version'
 */
export function reservedSettingChange(sql: string): string | null {
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch {
    return null;
  }
  return findChange(tree);
}
