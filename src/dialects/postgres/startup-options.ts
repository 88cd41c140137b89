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

/** Every `name=value` switch in `options`, in order. */
function settings(options: string | undefined): { name: string; value: string }[] {
  if (!options) return [];
  const tokens = tokenize(options);
  const out: { name: string; value: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const setting =
      t === '-c' ? tokens[++i] : t.startsWith('-c') ? t.slice(2) : t.startsWith('--') ? t.slice(2) : null;
    const eq = setting?.indexOf('=') ?? -1;
    if (setting && eq > 0)
      out.push({ name: setting.slice(0, eq).toLowerCase(), value: setting.slice(eq + 1) });
  }
  return out;
}

/** The last value `options` gives setting `name`, or null. */
export function optionValue(options: string | undefined, name: string): string | null {
  return (
    settings(options)
      .filter((s) => s.name === name)
      .at(-1)?.value ?? null
  );
}

/** The value of `shiftgate.version` set through `options`, or null. */
export function versionFromOptions(options: string | undefined): string | null {
  return optionValue(options, 'shiftgate.version');
}

/** `shiftgate.*` settings other than the version in `options`: the proxy's own, never the client's. */
export function reservedOptions(options: string | undefined): string[] {
  return settings(options)
    .map((s) => s.name)
    .filter((name) => name.startsWith('shiftgate.') && name !== 'shiftgate.version');
}

/** `options` with `-c shiftgate.version=<version>` appended, escaped for the backend. */
export function withVersionOption(options: string | undefined, version: string): string {
  const escaped = version.replace(/[\\ \t\n]/g, (c) => `\\${c}`);
  return `${options ? `${options} ` : ''}-c shiftgate.version=${escaped}`;
}
