import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema } from './schema.ts';

/** A config that does not validate; `key` names the offending key path (`throttle.min_batch`). */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly source: string,
    message: string,
  ) {
    super(`invalid config key '${key}' (${source}): ${message}`);
    this.name = 'ConfigError';
  }
}

type LeafKind = 'string' | 'number' | 'string[]' | 'json';

export interface ConfigKey {
  /** Dotted path in the YAML file, e.g. `throttle.min_batch`. */
  path: string;
  /** `SHIFTGATE_THROTTLE_MIN_BATCH` */
  env: string;
  /** `--throttle-min-batch` */
  flag: string;
  kind: LeafKind;
  nullable: boolean;
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; nullable: boolean } {
  let nullable = false;
  let s = schema as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } };
  for (;;) {
    const t = s.def.type;
    if (t === 'nullable') nullable = true;
    if (t === 'default' || t === 'prefault' || t === 'nullable' || t === 'optional') {
      s = s.def.innerType as never;
    } else if (t === 'pipe') {
      s = s.def.in as never;
    } else {
      return { inner: s as unknown as z.ZodType, nullable };
    }
  }
}

function collectKeys(schema: z.ZodType, prefix: string[], out: ConfigKey[]): void {
  const { inner, nullable } = unwrap(schema);
  const def = (
    inner as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } }
  ).def;
  if (def.type === 'object' && def.shape) {
    for (const [name, child] of Object.entries(def.shape)) collectKeys(child, [...prefix, name], out);
    return;
  }
  const element = def.element ? unwrap(def.element).inner : null;
  const elementType = (element as unknown as { def: { type: string } } | null)?.def.type;
  const kind: LeafKind =
    def.type === 'number'
      ? 'number'
      : def.type === 'array'
        ? elementType === 'string'
          ? 'string[]'
          : 'json'
        : 'string';
  out.push({
    path: prefix.join('.'),
    env: `SHIFTGATE_${prefix.join('_').toUpperCase()}`,
    flag: `--${prefix.join('-').replaceAll('_', '-')}`,
    kind,
    nullable,
  });
}

/** Every leaf key of the config with its environment variable and CLI flag. */
export const configKeys: readonly ConfigKey[] = (() => {
  const out: ConfigKey[] = [];
  collectKeys(configSchema, [], out);
  return out;
})();

function coerce(key: ConfigKey, raw: string, source: string): unknown {
  if (key.nullable && (raw === '' || raw === 'null')) return null;
  if (key.kind === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new ConfigError(key.path, source, `expected a number, got '${raw}'`);
    return n;
  }
  if (key.kind === 'string[]')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (key.kind === 'json') {
    // Lists of objects (`proxy.version_rules`) come as JSON; the schema checks their shape.
    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      throw new ConfigError(key.path, source, `expected JSON, got '${raw}' (${(err as Error).message})`);
    }
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

export interface LoadOptions {
  /** YAML file; a missing file is an error only when it was named explicitly. */
  file?: string | undefined;
  explicitFile?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Flag values by config path (already matched against `configKeys`). */
  flags?: Record<string, string>;
}

/**
 * Loads the config with precedence flag > environment > file > default.
 *
 * @example
 * const config = loadConfig({ file: 'config/shiftgate.yaml', flags: { listen: '127.0.0.1:6432' } });
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const source = options.file ?? '(defaults)';
  if (options.file) {
    let text: string | undefined;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      if (options.explicitFile) throw new ConfigError('(file)', options.file, (err as Error).message);
    }
    if (text !== undefined) {
      const parsed = parseYaml(text) as unknown;
      if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
        throw new ConfigError('(root)', options.file, 'expected a mapping of keys');
      }
      raw = (parsed ?? {}) as Record<string, unknown>;
    }
  }
  for (const key of configKeys) {
    const fromEnv = env[key.env];
    if (fromEnv !== undefined) setPath(raw, key.path, coerce(key, fromEnv, `environment ${key.env}`));
    const fromFlag = options.flags?.[key.path];
    if (fromFlag !== undefined) setPath(raw, key.path, coerce(key, fromFlag, `flag ${key.flag}`));
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.join('.') || (issue as { keys?: string[] }).keys?.join(', ') || '(root)';
    throw new ConfigError(path, source, issue.message);
  }
  return result.data;
}
