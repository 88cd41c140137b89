import { clientError } from './client-error.ts';

const SET_VERSION =
  /^\s*set\s+(session\s+|local\s+)?shiftgate\.version\s*(?:=|\bto\b)\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)"|(default)|([A-Za-z0-9_.-]+))\s*;?\s*$/i;
const RESET_VERSION = /^\s*reset\s+shiftgate\.version\s*;?\s*$/i;
const SHOW_VERSION = /^\s*show\s+shiftgate\.version\s*;?\s*$/i;

/** True for `SHOW shiftgate.version`, which the proxy answers with the session's bound version. */
export function isVersionShow(sql: string): boolean {
  return SHOW_VERSION.test(sql);
}

/**
 * Recognises `SET [SESSION] shiftgate.version = '<name>'` (also `TO`, a bare
 * or double-quoted name, `DEFAULT`) and `RESET shiftgate.version`. Returns
 * the requested version (null = back to the binding the session had when it
 * connected, as RESET does on the server), or undefined
 * when the statement is something else. `SET LOCAL` is refused: a binding
 * lasts for the session.
 *
 * @example
 * parseVersionSet("SET shiftgate.version = 'add_email'") // { version: 'add_email' }
 */
export function parseVersionSet(sql: string): { version: string | null } | undefined {
  if (RESET_VERSION.test(sql)) return { version: null };
  const m = SET_VERSION.exec(sql);
  if (!m) return undefined;
  if (m[1]?.trim().toLowerCase() === 'local') {
    throw clientError(
      'notSupported',
      'SET LOCAL shiftgate.version is not supported',
      'a session binds to a version for its life: use SET shiftgate.version',
    );
  }
  if (m[4]) return { version: null };
  const version =
    m[2] !== undefined ? m[2].replaceAll("''", "'") : m[3] !== undefined ? m[3].replaceAll('""', '"') : m[5]!;
  return { version };
}
