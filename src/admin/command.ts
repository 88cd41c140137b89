import { clientError } from '../proxy/client-error.ts';

/** One admin command, parsed. */
export type AdminCommand =
  | { kind: 'show-status' }
  | { kind: 'show-migrations' }
  | { kind: 'show-sessions' }
  | { kind: 'show-proxies' }
  | { kind: 'start'; name: string }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'set'; knob: string; value: string }
  | { kind: 'complete'; force: boolean }
  | { kind: 'rollback' };

export const ADMIN_SYNTAX = [
  'SHOW SHIFTGATE STATUS',
  'SHOW SHIFTGATE MIGRATIONS',
  'SHOW SHIFTGATE SESSIONS',
  'SHOW SHIFTGATE PROXIES',
  "SHIFTGATE START '<migration name>'",
  'SHIFTGATE PAUSE',
  'SHIFTGATE RESUME',
  'SHIFTGATE SET <knob> = <value>',
  'SHIFTGATE COMPLETE [FORCE]',
  'SHIFTGATE ROLLBACK',
];

/** Leading comments and blanks, as SQL clients send them (psql keeps `--` lines of a script). */
const LEADING_NOISE = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
/** Trailing semicolons, blanks and comments (`--`, `#` as MySQL clients write them, and block comments). */
const TRAILING_NOISE = /(?:\s|;|--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)*$/;
/** Admin commands are short; longer text is never one, and bounds the regular expressions' work. */
const MAX_COMMAND_LENGTH = 4096;
const ADMIN_START = /^(?:show\s+)?shiftgate\b/i;
const SHIFTGATE_WORD = /shiftgate/i;

/**
 * Cheap test on raw statement bytes: could this be an admin command? True
 * for every admin command, and only rarely for anything else (a statement
 * mentioning "shiftgate" anywhere). Runs on the hot path before any decode.
 */
export function mayBeAdminCommand(bytes: Buffer, start: number, end: number): boolean {
  // Look for "iftg" in either case; every admin command contains SHIFTGATE.
  for (let i = start; i + 3 < end; i++) {
    const c = bytes[i]! | 0x20;
    if (
      c === 0x69 &&
      (bytes[i + 1]! | 0x20) === 0x66 &&
      (bytes[i + 2]! | 0x20) === 0x74 &&
      (bytes[i + 3]! | 0x20) === 0x67
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Parses an admin command. Returns null when the text is not addressed to
 * Shiftgate at all; throws a syntax ClientError listing the valid commands
 * when it starts like one but is malformed.
 *
 * @example
 * parseAdminCommand("SHIFTGATE START 'add_email'") // { kind: 'start', name: 'add_email' }
 */
export function parseAdminCommand(sql: string): AdminCommand | null {
  // Runs on every routed statement: one scan rules out nearly all of them before the trimming below.
  if (!SHIFTGATE_WORD.test(sql)) return null;
  if (sql.length > MAX_COMMAND_LENGTH) {
    if (!ADMIN_START.test(sql.trimStart())) return null;
    throw clientError(
      'syntax',
      `Shiftgate command too long (${sql.length} characters)`,
      `valid commands: ${ADMIN_SYNTAX.join('; ')}`,
    );
  }
  const text = sql.replace(LEADING_NOISE, '').replace(TRAILING_NOISE, '');
  if (!ADMIN_START.test(text)) return null;
  const command = matchCommand(text);
  if (command) return command;
  throw clientError(
    'syntax',
    `unrecognised Shiftgate command: ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`,
    `valid commands: ${ADMIN_SYNTAX.join('; ')}`,
  );
}

function matchCommand(text: string): AdminCommand | null {
  const words = text.split(/\s+/);
  const upper = words.map((w) => w.toUpperCase());
  if (upper[0] === 'SHOW' && words.length === 3) {
    if (upper[2] === 'STATUS') return { kind: 'show-status' };
    if (upper[2] === 'MIGRATIONS') return { kind: 'show-migrations' };
    if (upper[2] === 'SESSIONS') return { kind: 'show-sessions' };
    if (upper[2] === 'PROXIES') return { kind: 'show-proxies' };
    return null;
  }
  if (upper[0] !== 'SHIFTGATE') return null;
  const verb = upper[1];
  if (words.length === 2) {
    if (verb === 'PAUSE') return { kind: 'pause' };
    if (verb === 'RESUME') return { kind: 'resume' };
    if (verb === 'COMPLETE') return { kind: 'complete', force: false };
    if (verb === 'ROLLBACK') return { kind: 'rollback' };
  }
  if (verb === 'COMPLETE' && words.length === 3 && upper[2] === 'FORCE')
    return { kind: 'complete', force: true };
  if (verb === 'START') {
    const m = /^shiftgate\s+start\s+(?:'((?:[^']|'')+)'|"((?:[^"]|"")+)"|([A-Za-z0-9_.-]+))$/i.exec(text);
    if (m) return { kind: 'start', name: (m[1] ?? m[2] ?? m[3])!.replace(/''/g, "'").replace(/""/g, '"') };
  }
  if (verb === 'SET') {
    const m = /^shiftgate\s+set\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|\bto\b)\s*'?([^';\s]+)'?$/i.exec(text);
    if (m) return { kind: 'set', knob: m[1]!.toLowerCase(), value: m[2]! };
  }
  return null;
}
