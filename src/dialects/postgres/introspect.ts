/**
 * Builds the schema model of one PostgreSQL schema from the system catalog:
 * ordinary and partitioned tables with their columns, constraints, indexes,
 * comments and replica identity. Objects Shiftgate itself left behind are
 * reported as they are; the engine never introspects mid-migration.
 */
import type pg from 'pg';
import type {
  ConstraintModel,
  ConstraintType,
  IndexModel,
  SchemaModel,
  TableModel,
} from '../../migrations/model.ts';

const CONSTRAINT_TYPES: Record<string, ConstraintType> = {
  p: 'primary_key',
  u: 'unique',
  c: 'check',
  f: 'foreign_key',
  x: 'exclude',
};

const REPLICA_IDENTITY: Record<string, TableModel['replicaIdentity']> = {
  d: 'default',
  f: 'full',
  n: 'nothing',
  i: 'index',
};

type Queryable = Pick<pg.Client, 'query'>;

export async function introspectPostgres(client: Queryable, schema: string): Promise<SchemaModel> {
  const tables = await client.query<{ oid: number; name: string; comment: string | null; replident: string }>(
    `SELECT c.oid::int AS oid, c.relname AS name, obj_description(c.oid, 'pg_class') AS comment,
            c.relreplident AS replident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
    [schema],
  );
  const oids = tables.rows.map((r) => r.oid);
  const byOid = new Map<number, TableModel>();
  for (const r of tables.rows) {
    byOid.set(r.oid, {
      name: r.name,
      physical: r.name,
      columns: [],
      constraints: [],
      indexes: [],
      comment: r.comment,
      replicaIdentity: REPLICA_IDENTITY[r.replident] ?? 'default',
      replicaIndex: null,
    });
  }
  if (oids.length === 0) return { schema, tables: [] };

  const columns = await client.query<{
    rel: number;
    name: string;
    type: string;
    nullable: boolean;
    default: string | null;
    comment: string | null;
    generated: boolean;
  }>(
    `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable,
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
            col_description(a.attrelid, a.attnum) AS comment,
            (a.attidentity <> '' OR a.attgenerated <> '') AS generated
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  for (const c of columns.rows) {
    byOid.get(c.rel)?.columns.push({
      name: c.name,
      physical: c.name,
      type: c.type,
      nullable: c.nullable,
      default: c.default,
      comment: c.comment,
      generated: c.generated,
    });
  }

  const constraints = await client.query<{
    rel: number;
    name: string;
    type: string;
    definition: string;
    validated: boolean;
    columns: string[];
    index: string | null;
    ref_table: string | null;
    ref_columns: string[];
  }>(
    `SELECT con.conrelid::int AS rel, con.conname AS name, con.contype AS type,
            pg_get_constraintdef(con.oid) AS definition, con.convalidated AS validated,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS columns,
            CASE WHEN con.contype IN ('p', 'u', 'x') THEN ci.relname END AS index,
            rc.relname AS ref_table,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS ref_columns
       FROM pg_constraint con
       LEFT JOIN pg_class ci ON ci.oid = con.conindid
       LEFT JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'u', 'c', 'f', 'x')
      ORDER BY con.conrelid, con.conname`,
    [oids],
  );
  for (const c of constraints.rows) {
    const constraint: ConstraintModel = {
      name: c.name,
      type: CONSTRAINT_TYPES[c.type]!,
      columns: c.columns,
      definition: c.definition,
      validated: c.validated,
      index: c.index,
      refTable: c.ref_table,
      refColumns: c.ref_columns,
    };
    byOid.get(c.rel)?.constraints.push(constraint);
  }

  const indexes = await client.query<{
    rel: number;
    name: string;
    unique: boolean;
    primary: boolean;
    valid: boolean;
    replident: boolean;
    definition: string;
    columns: string[];
    constraint: string | null;
  }>(
    `SELECT i.indrelid::int AS rel, ic.relname AS name, i.indisunique AS unique, i.indisprimary AS primary,
            i.indisvalid AS valid, i.indisreplident AS replident, pg_get_indexdef(i.indexrelid) AS definition,
            ARRAY(SELECT COALESCE(a.attname, '') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                   WHERE k.o <= i.indnkeyatts ORDER BY k.o)::text[] AS columns,
            con.conname AS constraint
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                                   AND con.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = ANY($1::oid[])
      ORDER BY i.indrelid, ic.relname`,
    [oids],
  );
  for (const r of indexes.rows) {
    const table = byOid.get(r.rel);
    if (!table) continue;
    const index: IndexModel = {
      name: r.name,
      columns: r.columns,
      unique: r.unique,
      primary: r.primary,
      valid: r.valid,
      definition: r.definition,
      constraint: r.constraint,
    };
    table.indexes.push(index);
    if (r.replident) table.replicaIndex = r.name;
  }
  return { schema, tables: [...byOid.values()] };
}
