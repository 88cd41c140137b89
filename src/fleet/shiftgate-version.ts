import { readFileSync } from 'node:fs';

/**
 * The version of Shiftgate running here, from its package.json (found at the
 * same relative place from src/ and from the built dist/), for heartbeats.
 */
export function shiftgateVersion(): string {
  try {
    const file = new URL('../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
