import type { SessionInfo } from '../../../proxy/session.ts';
import { defaultSearchPath, type NameResolution } from '../../../versions/name-resolution.ts';
import type { VersionSchema } from '../../../versions/version-schema.ts';

/**
 * Which schema an unqualified table name means for one session, as the
 * server decides it: the first schema of the session's search_path that
 * holds a relation of that name (pg_catalog first unless the path names
 * it, `$user` standing for the session's role). The translator rewrites a
 * name only when it means the version's table; a same-named table in
 * another schema that comes first is left alone, and is qualified when the
 * server would otherwise find the migration schema's physical table.
 */

/** Where an unqualified name goes: a schema name, null for nowhere, or UNKNOWN. */
export type Target = string | null;
export const UNKNOWN = '\u0000unknown';

export interface TableResolution {
  /** '' when every unqualified name means what it means with the default path; else a cache key part. */
  readonly key: string;
  /** The schema `name` means in the version's logical schema, and on the physical one. */
  resolve(name: string): { logical: Target; physical: Target };
}

/** The resolution every statement gets when nothing says otherwise: the migration schema, and nothing else. */
export function defaultResolution(v: VersionSchema): TableResolution {
  return {
    key: '',
    resolve: (name) => ({
      logical: v.table(name) ? v.schema : null,
      physical: v.hasPhysicalTable(name) ? v.schema : null,
    }),
  };
}

/** The session (its settings, role and database) a statement is translated for. */
export type PathContext = Pick<SessionInfo, 'sqlContext' | 'user' | 'database'>;

/**
 * Resolutions by (version, path), built once per version map. Paths that
 * change nothing for the version's tables share the default resolution and
 * its cached plans.
 */
export class PathResolver {
  private readonly memo = new Map<string, TableResolution>();

  constructor(private readonly names: NameResolution) {}

  for(v: VersionSchema, ctx: PathContext): TableResolution {
    // With no same-named relation elsewhere, only a path without the migration schema changes anything.
    const path = ctx.sqlContext.searchPath;
    const text =
      path === undefined ? undefined : (path ?? defaultSearchPath(this.names, ctx.user, ctx.database));
    const memoKey = `${v.name}\u0000${text ?? UNKNOWN}\u0000${ctx.user ?? ''}`;
    let found = this.memo.get(memoKey);
    if (!found) {
      if (this.memo.size > 1000) this.memo.clear();
      found = this.build(v, text === undefined ? null : searchPathSchemas(text, ctx.user));
      this.memo.set(memoKey, found);
    }
    return found;
  }

  private build(v: VersionSchema, path: string[] | null): TableResolution {
    const base = defaultResolution(v);
    const where = (name: string, inOwn: boolean): Target => {
      const others = this.names.homonyms.get(name);
      if (path === null) return others?.length ? UNKNOWN : inOwn ? v.schema : null;
      for (const s of path) {
        if (s === v.schema ? inOwn : others?.includes(s)) return s;
      }
      return null;
    };
    const differs = new Map<string, { logical: Target; physical: Target }>();
    for (const name of new Set([...v.migratingNames, ...this.names.homonyms.keys()])) {
      const own = base.resolve(name);
      const target = {
        logical: where(name, own.logical !== null),
        physical: where(name, own.physical !== null),
      };
      if (target.logical !== own.logical || target.physical !== own.physical) differs.set(name, target);
    }
    if (differs.size === 0) return base;
    const key = [...differs].map(([n, t]) => `${n}=${t.logical}/${t.physical}`).join(',');
    return { key, resolve: (name) => differs.get(name) ?? base.resolve(name) };
  }
}

/**
 * The schemas a search_path value names, in order, as the server reads it
 * (SplitIdentifierString): comma-separated, unquoted names folded to lower
 * case, `"$user"` the role, pg_catalog searched first unless listed.
 *
 * @example
 * searchPathSchemas('"$user", public', 'app') // ['pg_catalog', 'app', 'public']
 */
export function searchPathSchemas(value: string, user: string | null): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /\s/.test(value[i]!)) i++;
    let name = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length) {
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += value[i++];
      }
    } else {
      while (i < value.length && value[i] !== ',' && !/\s/.test(value[i]!)) name += value[i++];
      name = name.toLowerCase();
    }
    while (i < value.length && value[i] !== ',') i++;
    i++;
    if (name === '$user') {
      if (user !== null) out.push(user);
    } else if (name !== '') out.push(name);
  }
  return out.includes('pg_catalog') ? out : ['pg_catalog', ...out];
}
