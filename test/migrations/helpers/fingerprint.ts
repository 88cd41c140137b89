/**
 * A schema fingerprint: everything a rollback must restore exactly (tables,
 * columns with types / defaults / nullability / comments, constraints,
 * indexes, triggers, functions, sequences, replica identity). Shiftgate's
 * own state tables (and the trigger function that announces their changes)
 * are left out; its other functions are kept in, so that a leftover sync
 * function shows up.
 */
import type pg from 'pg';

export async function fingerprint(client: pg.Client, schema = 'public'): Promise<unknown> {
  const q = async (sql: string) => (await client.query(sql, [schema])).rows;
  return {
    tables:
      await q(`SELECT c.relname, c.relkind, c.relreplident, obj_description(c.oid, 'pg_class') AS comment
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 1`),
    columns: await q(`SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                             pg_get_expr(d.adbin, d.adrelid) AS default, col_description(c.oid, a.attnum) AS comment,
                             a.attidentity, a.attgenerated,
                             row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS position
                        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
                       ORDER BY 1, position`),
    constraints:
      await q(`SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) AS def, con.convalidated
                            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
                            JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 ORDER BY 1, 2`),
    indexes: await q(`SELECT i.tablename, i.indexname, i.indexdef, x.indisvalid
                        FROM pg_indexes i JOIN pg_class ic ON ic.relname = i.indexname
                        JOIN pg_namespace n ON n.oid = ic.relnamespace AND n.nspname = i.schemaname
                        JOIN pg_index x ON x.indexrelid = ic.oid
                       WHERE i.schemaname = $1 ORDER BY 1, 2`),
    triggers: await q(`SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) AS def
                         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1, 2`),
    functions: await q(`SELECT n.nspname, p.proname, pg_get_functiondef(p.oid) AS def
                          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname IN ($1, 'shiftgate')
                           AND NOT (n.nspname = 'shiftgate' AND p.proname = 'announce_state_change')
                         ORDER BY 1, 2`),
  };
}

/** Names of objects Shiftgate creates temporarily; none may survive complete or rollback. */
export async function leftovers(client: pg.Client, schema = 'public'): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT c.relname || '.' || a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attname LIKE '\\_shiftgate%' AND NOT a.attisdropped
     UNION ALL
     SELECT conname FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
      WHERE n.nspname = $1 AND conname LIKE '\\_shiftgate%'
     UNION ALL
     SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname LIKE '\\_shiftgate%'
     UNION ALL
     SELECT tgname FROM pg_trigger WHERE tgname LIKE '\\_shiftgate%'
     UNION ALL
     SELECT 'function ' || proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'shiftgate' AND proname <> 'announce_state_change'`,
    [schema],
  );
  return r.rows.map((row) => row.name);
}
