import type pg from 'pg';
import type { NameResolution } from '../../versions/name-resolution.ts';

type Queryable = Pick<pg.Client, 'query'>;

/**
 * What an unqualified name may mean besides a table of `schema`: relations
 * named like `names` in other schemas (pg_catalog included, which every
 * search_path searches first unless it names it; other sessions' temporary
 * schemas left out), and the search_path defaults that ALTER ROLE /
 * ALTER DATABASE ... SET stored, over the server's own default.
 */
export async function readNameResolution(
  client: Queryable,
  schema: string,
  names: readonly string[],
): Promise<NameResolution> {
  const homonyms = await client.query<{ name: string; schemas: string[] }>(
    `SELECT c.relname AS name, array_agg(n.nspname::text ORDER BY n.nspname) AS schemas
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = ANY($1::text[]) AND n.nspname <> $2
        AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast%'
        AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      GROUP BY c.relname`,
    [names, schema],
  );
  const settings = await client.query<{ role: string | null; database: string | null; value: string }>(
    `SELECT r.rolname AS role, d.datname AS database, substr(s.setting, 13) AS value
       FROM pg_db_role_setting x
       LEFT JOIN pg_roles r ON r.oid = x.setrole
       LEFT JOIN pg_database d ON d.oid = x.setdatabase
      CROSS JOIN LATERAL unnest(x.setconfig) AS s(setting)
      WHERE s.setting LIKE 'search_path=%'`,
  );
  // The value a session gets from the configuration when no role or database setting applies.
  const server = await client.query<{ value: string }>(
    `SELECT CASE WHEN source IN ('database', 'user', 'database user', 'client', 'session')
                 THEN boot_val ELSE reset_val END AS value
       FROM pg_settings WHERE name = 'search_path'`,
  );
  return {
    homonyms: new Map(homonyms.rows.map((r) => [r.name, r.schemas])),
    searchPathDefaults: { server: server.rows[0]?.value ?? '"$user", public', settings: settings.rows },
  };
}
