/**
 * Catalog reads that ORMs and psql send at boot or in migrations, in the
 * case table's format, checked by value against the version's plain
 * reference database. The statements are the ones the tools send, with
 * the table name filled in as the tool fills it in; where a tool passes an
 * OID it looked up before, the lookup is written in its place.
 *
 * Sources: Rails 7 PostgreSQL adapter (column_definitions, primary_keys,
 * data_source_sql); Django 4.2+ introspection (get_table_list,
 * get_table_description, get_relations, get_constraints); SQLAlchemy 1.4
 * PGDialect.get_columns; pgjdbc DatabaseMetaData.getColumns (Hibernate's
 * schema validation); psql 15 `\d` (its columns query); Sequelize
 * (describeTable, showAllTables, getForeignKeyReferencesQuery) and Knex
 * (columnInfo) over node-postgres; Prisma's schema describer (tables and
 * columns queries).
 *
 * Some answers are compared through a projection that leaves out what two
 * databases cannot share: the database's name (table_catalog) and the
 * constraint names derived from a table's creation name (a renamed table
 * keeps `orders_pkey` where the reference, created under the new name, has
 * `purchases_pkey`). Its serial sequence keeps its name too, and the
 * reference renames it back, as a completed rename_table leaves it.
 */
import { type Case, V0, V2, V3 } from './cases.ts';

const ATTRIBUTE = /\(SELECT a\.\* FROM pg_catalog\.pg_attribute a WHERE a\.attrelid NOT IN/;
const CLASS = /\(SELECT c\.\* FROM pg_catalog\.pg_class c WHERE c\.oid NOT IN/;
const IS_COLUMNS = /\(SELECT t\.\* FROM information_schema\.columns t WHERE NOT/;
const IS_TABLES = /\(SELECT t\.\* FROM information_schema\.tables t WHERE NOT/;

// ---- Rails 7 ---------------------------------------------------------------------------------
const railsColumns = (table: string) => `SELECT a.attname, format_type(a.atttypid, a.atttypmod),
       pg_get_expr(d.adbin, d.adrelid), a.attnotnull, a.atttypid, a.atttypmod,
       c.collname, col_description(a.attrelid, a.attnum) AS comment,
       attidentity AS identity,
       attgenerated as attgenerated
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  LEFT JOIN pg_type t ON a.atttypid = t.oid
  LEFT JOIN pg_collation c ON a.attcollation = c.oid AND a.attcollation <> t.typcollation
 WHERE a.attrelid = '"${table}"'::regclass
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

const railsPrimaryKeys = (table: string) => `SELECT a.attname
  FROM (
         SELECT indrelid, indkey, generate_subscripts(indkey, 1) idx
           FROM pg_index
          WHERE indrelid = '"${table}"'::regclass
            AND indisprimary
       ) i
  JOIN pg_attribute a
    ON a.attrelid = i.indrelid
   AND a.attnum = i.indkey[i.idx]
 ORDER BY i.idx`;

// Rails' indexes and foreign_keys also select OIDs and constraint names, which the projection leaves out.
const railsIndexes = (
  table: string,
) => `SELECT distinct i.relname, d.indisunique, d.indkey, pg_get_indexdef(d.indexrelid), t.oid,
                pg_catalog.obj_description(i.oid, 'pg_class') AS comment, d.indisvalid
FROM pg_class t
INNER JOIN pg_index d ON t.oid = d.indrelid
INNER JOIN pg_class i ON d.indexrelid = i.oid
LEFT JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE i.relkind IN ('i', 'I')
  AND d.indisprimary = 'f'
  AND t.relname = '${table}'
  AND n.nspname = ANY (current_schemas(false))
ORDER BY i.relname`;

const railsForeignKeys = (
  table: string,
) => `SELECT t2.oid::regclass::text AS to_table, a1.attname AS column, a2.attname AS primary_key, c.conname AS name, c.confupdtype AS on_update, c.confdeltype AS on_delete, c.convalidated AS valid, c.condeferrable AS deferrable, c.condeferred AS deferred, c.conkey, c.confkey, c.conrelid, c.confrelid
FROM pg_constraint c
JOIN pg_class t1 ON c.conrelid = t1.oid
JOIN pg_class t2 ON c.confrelid = t2.oid
JOIN pg_attribute a1 ON a1.attnum = c.conkey[1] AND a1.attrelid = t1.oid
JOIN pg_attribute a2 ON a2.attnum = c.confkey[1] AND a2.attrelid = t2.oid
JOIN pg_namespace t3 ON c.connamespace = t3.oid
WHERE c.contype = 'f'
  AND t1.relname = '${table}'
  AND t3.nspname = ANY (current_schemas(false))
ORDER BY c.conname`;

const railsDataSource = (table?: string) =>
  `SELECT c.relname FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY (current_schemas(false))${table ? ` AND c.relname = '${table}'` : ''} AND c.relkind IN ('r','p')`;

// ---- Django 4.2+ ---------------------------------------------------------------------------------
const DJANGO_TABLES = `
            SELECT
                c.relname,
                CASE
                    WHEN c.relispartition THEN 'p'
                    WHEN c.relkind IN ('m', 'v') THEN 'v'
                    ELSE 't'
                END,
                obj_description(c.oid, 'pg_class')
            FROM pg_catalog.pg_class c
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v')
                AND n.nspname NOT IN ('pg_catalog', 'pg_toast')
                AND pg_catalog.pg_table_is_visible(c.oid)
        `;

const djangoDescription = (table: string) => `
            SELECT
                a.attname AS column_name,
                NOT (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)) AS is_nullable,
                pg_get_expr(ad.adbin, ad.adrelid) AS column_default,
                CASE WHEN collname = 'default' THEN NULL ELSE collname END AS collation,
                a.attidentity != '' AS is_autofield,
                col_description(a.attrelid, a.attnum) AS column_comment
            FROM pg_attribute a
            LEFT JOIN pg_attrdef ad ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
            LEFT JOIN pg_collation co ON a.attcollation = co.oid
            JOIN pg_type t ON a.atttypid = t.oid
            JOIN pg_class c ON a.attrelid = c.oid
            JOIN pg_namespace n ON c.relnamespace = n.oid
            WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v')
                AND c.relname = '${table}'
                AND n.nspname NOT IN ('pg_catalog', 'pg_toast')
                AND pg_catalog.pg_table_is_visible(c.oid)
        `;

const djangoRelations = (table: string) => `
            SELECT a1.attname, c2.relname, a2.attname
            FROM pg_constraint con
            LEFT JOIN pg_class c1 ON con.conrelid = c1.oid
            LEFT JOIN pg_class c2 ON con.confrelid = c2.oid
            LEFT JOIN
                pg_attribute a1 ON c1.oid = a1.attrelid AND a1.attnum = con.conkey[1]
            LEFT JOIN
                pg_attribute a2 ON c2.oid = a2.attrelid AND a2.attnum = con.confkey[1]
            WHERE
                c1.relname = '${table}' AND
                con.contype = 'f' AND
                c1.relnamespace = c2.relnamespace AND
                pg_catalog.pg_table_is_visible(c1.oid)
        `;

const djangoConstraints = (table: string) => `
            SELECT
                c.conname,
                array(
                    SELECT attname
                    FROM unnest(c.conkey) WITH ORDINALITY cols(colid, arridx)
                    JOIN pg_attribute AS ca ON cols.colid = ca.attnum
                    WHERE ca.attrelid = c.conrelid
                    ORDER BY cols.arridx
                ),
                c.contype,
                (SELECT fkc.relname || '.' || fka.attname
                FROM pg_attribute AS fka
                JOIN pg_class AS fkc ON fka.attrelid = fkc.oid
                WHERE fka.attrelid = c.confrelid AND fka.attnum = c.confkey[1]),
                cl.reloptions
            FROM pg_constraint AS c
            JOIN pg_class AS cl ON c.conrelid = cl.oid
            WHERE cl.relname = '${table}' AND pg_catalog.pg_table_is_visible(cl.oid)
        `;

// ---- SQLAlchemy 1.4 (get_columns; its table_oid parameter is the get_table_oid lookup) -----------
const sqlalchemyColumns = (table: string) => `
            SELECT a.attname,
              pg_catalog.format_type(a.atttypid, a.atttypmod),
              (
                SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                FROM pg_catalog.pg_attrdef d
                WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
                AND a.atthasdef
              ) AS DEFAULT,
              a.attnotnull,
              a.attrelid as table_oid,
              pgd.description as comment,
              a.attgenerated as generated,
              (SELECT json_build_object(
                  'always', a.attidentity = 'a',
                  'start', s.seqstart,
                  'increment', s.seqincrement,
                  'minvalue', s.seqmin,
                  'maxvalue', s.seqmax,
                  'cache', s.seqcache,
                  'cycle', s.seqcycle)
              FROM pg_catalog.pg_sequence s
              JOIN pg_catalog.pg_class c on s.seqrelid = c."oid"
              WHERE c.relkind = 'S'
              AND a.attidentity != ''
              AND s.seqrelid = pg_catalog.pg_get_serial_sequence(
                  a.attrelid::regclass::text, a.attname
              )::regclass::oid
              ) as identity_options
            FROM pg_catalog.pg_attribute a
            LEFT JOIN pg_catalog.pg_description pgd ON (
                pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
            WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE (pg_catalog.pg_table_is_visible(c.oid)) AND c.relname = '${table}' AND c.relkind in ('r', 'v', 'm', 'f', 'p'))
            AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
        `;

// ---- pgjdbc getColumns (Hibernate schema validation) --------------------------------------------
const pgjdbcColumns = (table: string) =>
  `SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname LIKE 'public' AND c.relname LIKE '${table}') c WHERE true  ORDER BY nspname,c.relname,attnum `;

// ---- psql 15 \\d (the columns query; psql passes the OID its first query found) ----------------
const psqlColumns = (table: string) => `SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(${table})$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid)) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;`;

const psqlIndexes = (
  table: string,
) => `SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname = '${table}' AND pg_catalog.pg_table_is_visible(c.oid)) AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;`;

const psqlReferencedBy = (table: string) => `SELECT conname, conrelid::pg_catalog.regclass AS ontable,
       pg_catalog.pg_get_constraintdef(oid, true) AS condef
  FROM pg_catalog.pg_constraint c
 WHERE confrelid IN (SELECT pg_catalog.pg_partition_ancestors('${table}')
                     UNION ALL VALUES ('${table}'::pg_catalog.regclass))
       AND contype = 'f' AND conparentid = 0
ORDER BY conname;`;

// ---- SQLAlchemy 1.4 get_foreign_keys (condef parsed with a regular expression) ----------------------
const sqlalchemyForeignKeys = (table: string) => `
          SELECT r.conname,
                pg_catalog.pg_get_constraintdef(r.oid, true) as condef,
                n.nspname as conschema
          FROM  pg_catalog.pg_constraint r,
                pg_namespace n,
                pg_class c

          WHERE r.conrelid = '"${table}"'::regclass AND
                r.contype = 'f' AND
                c.oid = confrelid AND
                n.oid = c.relnamespace
          ORDER BY 1
        `;

// ---- Sequelize / Knex (node-postgres) ---------------------------------------------------------------
const sequelizeDescribe = (table: string) =>
  `SELECT pk.constraint_type as "Constraint",c.column_name as "Field", c.column_default as "Default",c.is_nullable as "Null", (CASE WHEN c.udt_name = 'hstore' THEN c.udt_name ELSE c.data_type END) || (CASE WHEN c.character_maximum_length IS NOT NULL THEN '(' || c.character_maximum_length || ')' ELSE '' END) as "Type", (SELECT array_agg(e.enumlabel) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON t.oid=e.enumtypid WHERE t.typname=c.udt_name) AS "special", (SELECT pgd.description FROM pg_catalog.pg_statio_all_tables AS st INNER JOIN pg_catalog.pg_description pgd on (pgd.objoid=st.relid) WHERE c.ordinal_position=pgd.objsubid AND c.table_name=st.relname) AS "Comment" FROM information_schema.columns c LEFT JOIN (SELECT tc.table_schema, tc.table_name, cu.column_name, tc.constraint_type FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.KEY_COLUMN_USAGE  cu ON tc.table_schema=cu.table_schema and tc.table_name=cu.table_name and tc.constraint_name=cu.constraint_name and tc.constraint_type='PRIMARY KEY') pk ON pk.table_schema=c.table_schema AND pk.table_name=c.table_name AND pk.column_name=c.column_name WHERE c.table_name = '${table}' AND c.table_schema = 'public'`;

const SEQUELIZE_TABLES =
  "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type LIKE '%TABLE' AND table_name != 'spatial_ref_sys';";

const sequelizeForeignKeys = (table: string) =>
  `SELECT DISTINCT tc.constraint_name as constraint_name, tc.constraint_schema as constraint_schema, tc.constraint_catalog as constraint_catalog, tc.table_name as table_name,tc.table_schema as table_schema,tc.table_catalog as table_catalog,tc.initially_deferred as initially_deferred,tc.is_deferrable as is_deferrable,kcu.column_name as column_name,ccu.table_schema  AS referenced_table_schema,ccu.table_catalog  AS referenced_table_catalog,ccu.table_name  AS referenced_table_name,ccu.column_name AS referenced_column_name FROM information_schema.table_constraints AS tc JOIN information_schema.key_column_usage AS kcu ON tc.constraint_name = kcu.constraint_name JOIN information_schema.constraint_column_usage AS ccu ON ccu.constraint_name = tc.constraint_name WHERE constraint_type = 'FOREIGN KEY' AND tc.table_name = '${table}'`;

const KNEX_COLUMNS =
  'select * from information_schema.columns where table_name = $1 and table_catalog = current_database() and table_schema = current_schema()';

// ---- Prisma schema describer ---------------------------------------------------------------------------
const PRISMA_TABLES = `SELECT
  tbl.relname AS table_name,
  namespace.nspname as namespace,
  (tbl.relhassubclass and tbl.relkind = 'p') as is_partition,
  (tbl.relhassubclass and tbl.relkind = 'r') as has_subclass,
  tbl.relkind = 'f' as is_foreign_table,
  tbl.relrowsecurity as has_row_level_security,
  reloptions,
  obj_description(tbl.oid, 'pg_class') as description
FROM pg_class AS tbl
INNER JOIN pg_namespace AS namespace ON namespace.oid = tbl.relnamespace
WHERE
  ( -- (relkind = 'r' and relispartition = 't') matches partition table "duplicates"
    (tbl.relkind = 'r' AND tbl.relispartition = 'f')
      OR -- when it's a partition
    tbl.relkind = 'p'
      OR -- when it's a foreign table
    tbl.relkind = 'f'
  )
  AND namespace.nspname = ANY ( $1 )
ORDER BY namespace, table_name;
`;

const PRISMA_COLUMNS = `
      SELECT
          oid.namespace,
          info.table_name,
          info.column_name,
          format_type(att.atttypid, att.atttypmod) as formatted_type,
          info.numeric_precision,
          info.numeric_scale,
          info.numeric_precision_radix,
          info.datetime_precision,
          info.data_type,
          info.udt_name as full_data_type,
          pg_get_expr(attdef.adbin, attdef.adrelid) AS column_default,
          info.is_nullable,
          info.is_identity,
          info.character_maximum_length
      FROM information_schema.columns info
      JOIN pg_attribute att ON att.attname = info.column_name
      JOIN (
           SELECT pg_class.oid, relname, pg_namespace.nspname as namespace
           FROM pg_class
           JOIN pg_namespace on pg_namespace.oid = pg_class.relnamespace
           AND pg_namespace.nspname = ANY ( $1 )
          ) as oid on oid.oid = att.attrelid 
            AND relname = info.table_name
            AND namespace = info.table_schema
      LEFT OUTER JOIN pg_attrdef attdef ON attdef.adrelid = att.attrelid AND attdef.adnum = att.attnum AND table_schema = namespace
      WHERE table_schema = ANY ( $1 ) 
      ORDER BY namespace, table_name, ordinal_position;
      `;

export const CATALOG_CASES: Case[] = [
  // Rails
  { v: V3, sql: railsColumns('users'), out: ATTRIBUTE },
  { v: V2, sql: railsColumns('users'), out: ATTRIBUTE },
  { v: V0, sql: railsColumns('users'), out: ATTRIBUTE },
  { v: V3, sql: railsColumns('purchases'), out: ATTRIBUTE },
  { v: V3, sql: railsPrimaryKeys('purchases'), out: ATTRIBUTE },
  { v: V3, sql: railsPrimaryKeys('users'), out: ATTRIBUTE },
  {
    v: V3,
    sql: `SELECT relname, indisunique, indkey, pg_get_indexdef, comment, indisvalid FROM (${railsIndexes('users')}) r`,
    out: CLASS,
  },
  {
    v: V2,
    sql: `SELECT relname, indisunique, indkey, pg_get_indexdef, comment, indisvalid FROM (${railsIndexes('users')}) r`,
    out: CLASS,
  },
  {
    v: V3,
    sql: `SELECT to_table, "column", primary_key, on_update, on_delete, valid, "deferrable", deferred FROM (${railsForeignKeys('purchases')}) r`,
    out: CLASS,
  },
  { v: V3, sql: railsDataSource('purchases'), out: CLASS },
  { v: V3, sql: railsDataSource('orders'), out: CLASS },
  { v: V2, sql: railsDataSource('tags'), out: CLASS },
  { v: V3, sql: railsDataSource(), out: CLASS },
  { v: V2, sql: railsDataSource(), out: CLASS },
  // Django
  { v: V3, sql: DJANGO_TABLES, out: CLASS },
  { v: V2, sql: DJANGO_TABLES, out: CLASS },
  { v: V3, sql: djangoDescription('users'), out: ATTRIBUTE },
  { v: V0, sql: djangoDescription('users'), out: ATTRIBUTE },
  { v: V3, sql: djangoDescription('purchases'), out: ATTRIBUTE },
  { v: V3, sql: djangoRelations('purchases'), out: ATTRIBUTE },
  { v: V3, sql: djangoConstraints('users'), out: ATTRIBUTE },
  // SQLAlchemy: without the table's OID, which two databases do not share.
  {
    v: V3,
    sql: `SELECT attname, format_type, "default", attnotnull, comment, generated, identity_options FROM (${sqlalchemyColumns('users')}) sa`,
    out: ATTRIBUTE,
  },
  {
    v: V2,
    sql: `SELECT attname, format_type, "default", attnotnull, comment, generated, identity_options FROM (${sqlalchemyColumns('users')}) sa`,
    out: ATTRIBUTE,
  },
  // pgjdbc (Hibernate)
  { v: V2, sql: pgjdbcColumns('users'), out: ATTRIBUTE },
  { v: V0, sql: pgjdbcColumns('users'), out: ATTRIBUTE },
  { v: V3, sql: pgjdbcColumns('users'), out: ATTRIBUTE },
  // psql \d
  { v: V3, sql: psqlColumns('users'), out: ATTRIBUTE },
  { v: V2, sql: psqlColumns('users'), out: ATTRIBUTE },
  { v: V3, sql: psqlIndexes('users'), out: CLASS },
  {
    v: V3,
    sql: "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('users', 'purchases', 'orders') AND indexname NOT LIKE '%pkey' ORDER BY indexname",
    out: /pg_catalog\.pg_indexes t WHERE NOT/,
  },
  {
    v: V3,
    sql: "SELECT count(*) FROM pg_catalog.pg_indexes WHERE tablename = 'orders'",
    out: /pg_catalog\.pg_indexes t WHERE NOT/,
  },
  {
    v: V2,
    sql: "SELECT tablename, indexdef FROM pg_catalog.pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
    out: /pg_catalog\.pg_indexes t WHERE NOT/,
  },
  { v: V0, sql: psqlIndexes('users'), out: CLASS },
  {
    v: V3,
    sql: `SELECT ontable, condef FROM (${psqlReferencedBy('users').replace(/;$/, '')}) psql`,
    out: /_sg_o\.r/,
    regclassAsText: true,
  },
  {
    v: V3,
    sql: "SELECT c.conrelid::regclass::text AS tbl, c.contype, c.confrelid::regclass::text FROM pg_constraint c WHERE c.conrelid = 'purchases'::regclass ORDER BY 2",
    out: /_sg_o\.r/,
  },
  {
    v: V3,
    sql: `SELECT condef, conschema FROM (${sqlalchemyForeignKeys('purchases')}) sa`,
    out: /_sg_s\.def/,
  },
  { v: V3, sql: psqlColumns('purchases'), out: ATTRIBUTE },
  // Sequelize, Knex
  { v: V3, sql: sequelizeDescribe('users'), out: IS_COLUMNS },
  { v: V2, sql: sequelizeDescribe('users'), out: IS_COLUMNS },
  { v: V0, sql: sequelizeDescribe('users'), out: IS_COLUMNS },
  { v: V3, sql: sequelizeDescribe('purchases'), out: IS_COLUMNS },
  { v: V3, sql: SEQUELIZE_TABLES, out: IS_TABLES },
  { v: V2, sql: SEQUELIZE_TABLES, out: IS_TABLES },
  {
    v: V3,
    sql: `SELECT table_name, column_name, referenced_table_name, referenced_column_name, initially_deferred, is_deferrable FROM (${sequelizeForeignKeys('purchases')}) fk`,
    out: /information_schema\.key_column_usage t WHERE NOT/,
  },
  { v: V3, sql: KNEX_COLUMNS, params: ['users'], out: IS_COLUMNS, values: false },
  // supabase pg-meta getAllColumns: the regclass is built from the names the catalog shows.
  {
    v: V3,
    sql: `select
  table_schema,
  table_name,
  column_name,
  column_default,
  is_nullable::boolean,
  data_type,
  udt_name as format,
  col_description((table_schema || '."' || table_name || '"')::regclass, ordinal_position)

from information_schema.columns
where table_schema = $1
order by table_schema, table_name, ordinal_position
`,
    params: ['public'],
    out: /parse_ident/,
  },
  {
    v: V3,
    sql: `select table_name, column_name, col_description((table_schema || '."' || table_name || '"')::regclass, ordinal_position) from information_schema.columns where table_schema = 'public' and table_name = 'purchases' order by ordinal_position`,
    out: /parse_ident/,
  },
  {
    v: V3,
    sql: "SELECT c.relname, pg_get_serial_sequence(quote_ident(c.relname), 'id') IS NOT NULL AS serial FROM pg_class c WHERE c.relname IN ('purchases', 'users') ORDER BY 1",
    out: /parse_ident/,
  },
  {
    v: V3,
    sql: `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default FROM (${KNEX_COLUMNS}) knex`,
    params: ['users'],
    out: IS_COLUMNS,
  },
  {
    v: V2,
    sql: KNEX_COLUMNS.replace('select *', 'select column_name, data_type, is_nullable, ordinal_position'),
    params: ['users'],
    out: IS_COLUMNS,
  },
  // Prisma
  { v: V3, sql: PRISMA_TABLES, params: [['public']], out: CLASS },
  { v: V2, sql: PRISMA_TABLES, params: [['public']], out: CLASS },
  { v: V2, sql: PRISMA_COLUMNS, params: [['public']], out: IS_COLUMNS },
  {
    v: V3,
    sql: `SELECT namespace, table_name, column_name, formatted_type, data_type, full_data_type, is_nullable, is_identity, character_maximum_length FROM (${PRISMA_COLUMNS.trim().replace(/;$/, '')}) prisma`,
    params: [['public']],
    out: IS_COLUMNS,
  },
];
