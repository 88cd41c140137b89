import { type NameResolution, NO_HOMONYMS } from './name-resolution.ts';
import type { VersionSchema } from './version-schema.ts';

/**
 * The name of the version before the first migration of the history: what
 * sessions bind to when no migration has completed yet. Parentheses keep it
 * apart from every migration file name.
 */
export const INITIAL_VERSION = '(initial)';

/**
 * Every schema version a session can be bound to, oldest first, each with
 * its logical-to-physical mapping. Built by `buildVersionMap`; immutable, so
 * a proxy swaps the whole map when the state store changes.
 *
 * @example
 * const map = buildVersionMap(physical, history);
 * const schema = map.version(session.version) ?? map.version(map.latestCompleted);
 */
export class VersionMap {
  private readonly byName: ReadonlyMap<string, VersionSchema>;

  constructor(
    /** Oldest first; the first is INITIAL_VERSION. */
    readonly versions: readonly VersionSchema[],
    /** The newest version (the in-flight migration's, if any). */
    readonly latest: string,
    /** The newest version whose migration completed (or INITIAL_VERSION). */
    readonly latestCompleted: string,
    /** What unqualified names may also mean (search_path): other schemas' same-named relations. */
    readonly nameResolution: NameResolution = NO_HOMONYMS,
  ) {
    this.byName = new Map(versions.map((v) => [v.name, v]));
  }

  version(name: string): VersionSchema | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
}
