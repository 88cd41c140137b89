/**
 * The `options` startup parameter: command-line style switches for the
 * backend (`-c name=value`, `--name=value`), separated by spaces, with a
 * backslash escaping the next character (libpq's quoting).
 */

function tokenize(options: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i]!;
    if (c === '\\' && i + 1 < options.length) {
      current += options[++i];
      inToken = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}

/** The value of `shiftgate.version` set through `options`, or null. */
export function versionFromOptions(options: string | undefined): string | null {
  if (!options) return null;
  const tokens = tokenize(options);
  let found: string | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const setting =
      t === '-c' ? tokens[++i] : t.startsWith('-c') ? t.slice(2) : t.startsWith('--') ? t.slice(2) : null;
    const m = setting ? /^shiftgate\.version=(.*)$/is.exec(setting) : null;
    if (m) found = m[1]!;
  }
  return found;
}

/** `options` with `-c shiftgate.version=<version>` appended, escaped for the backend. */
export function withVersionOption(options: string | undefined, version: string): string {
  const escaped = version.replace(/[\\ \t\n]/g, (c) => `\\${c}`);
  return `${options ? `${options} ` : ''}-c shiftgate.version=${escaped}`;
}
