/**
 * What decides which schema an unqualified table name means, beyond the
 * migration schema itself: relations of the same name in other schemas,
 * and the search_path sessions start with. Read from the database with
 * the physical schema; plain data, the translator does the resolving.
 */
export interface NameResolution {
  /** Schemas other than the migration schema that hold a relation of this name. */
  homonyms: ReadonlyMap<string, readonly string[]>;
  /**
   * search_path values a session starts with when its startup packet sets
   * none: the most specific entry for its role and database wins (role and
   * database, then role, then database, then every role), else `server`.
   * Values are in the server's text form (`"$user", public`).
   */
  searchPathDefaults: {
    server: string;
    settings: readonly { role: string | null; database: string | null; value: string }[];
  };
}

export const NO_HOMONYMS: NameResolution = {
  homonyms: new Map(),
  searchPathDefaults: { server: '"$user", public', settings: [] },
};

/** The search_path a session of `role` in `database` starts with. */
export function defaultSearchPath(
  resolution: NameResolution,
  role: string | null,
  database: string | null,
): string {
  const { settings, server } = resolution.searchPathDefaults;
  const find = (r: string | null, d: string | null) =>
    settings.find((s) => s.role === r && s.database === d)?.value;
  return (
    (role !== null && database !== null ? find(role, database) : undefined) ??
    (role !== null ? find(role, null) : undefined) ??
    (database !== null ? find(null, database) : undefined) ??
    find(null, null) ??
    server
  );
}
