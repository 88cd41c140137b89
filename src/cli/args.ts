import { configKeys } from '../config/load.ts';

export interface ParsedArgs {
  /** Config values given as flags, by config key path. */
  configFlags: Record<string, string>;
  /** `--config FILE` */
  configFile: string | undefined;
  /** Other `--name value` / `--name` options. */
  options: Record<string, string | true>;
  positional: string[];
}

/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set(['--force', '--watch', '--dry-run', '--help']);

/**
 * Parses `--flag value`, `--flag=value` and positionals. Every config key's
 * flag (`--throttle-min-batch`) is recognised from the config schema.
 */
export function parseArgs(argv: string[]): ParsedArgs {
  const byFlag = new Map(configKeys.map((k) => [k.flag, k.path]));
  const out: ParsedArgs = { configFlags: {}, configFile: undefined, options: {}, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    let value: string | true;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (BOOLEAN_FLAGS.has(name)) value = true;
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`${name} needs a value`);
      value = next;
      i++;
    }
    const path = byFlag.get(name);
    if (name === '--config') out.configFile = String(value);
    else if (path) out.configFlags[path] = String(value);
    else out.options[name.slice(2)] = value;
  }
  return out;
}
