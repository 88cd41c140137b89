/**
 * Builds the schema model of one MySQL / MariaDB database from
 * information_schema: base tables with their columns, constraints, indexes
 * and comments. Definitions are printed in the forms `ddl.ts` reads back
 * (`CREATE [UNIQUE] INDEX name ON table (keys)`, `CHECK (expr)`,
 * `FOREIGN KEY (cols) REFERENCES table (cols) ON DELETE .. ON UPDATE ..`).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { ConstraintModel, IndexModel, SchemaModel, TableModel } from '../../migrations/model.ts';
import { ident } from './quote.ts';

type Row = RowDataPacket & Record<string, unknown>;

async function rows(conn: Connection, sql: string, params: unknown[]): Promise<Row[]> {
  const [result] = await conn.query<Row[]>(sql, params);
  return result;
}

/** MariaDB reports a rule given by no clause as RESTRICT (and an explicit RESTRICT as NO ACTION): see ddl.ts. */
const ruleClause = (clause: string, rule: unknown) =>
  rule === undefined || rule === null || rule === 'RESTRICT' ? '' : ` ${clause} ${String(rule)}`;

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export async function introspectMysql(conn: Connection, schema: string): Promise<SchemaModel> {
  const tables = await rows(
    conn,
    `SELECT TABLE_NAME AS name, TABLE_COMMENT AS comment FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    [schema],
  );
  const byName = new Map<string, TableModel>();
  for (const r of tables) {
    const name = str(r.name);
    byName.set(name, {
      name,
      physical: name,
      columns: [],
      constraints: [],
      indexes: [],
      comment: str(r.comment) === '' ? null : str(r.comment),
      replicaIdentity: 'default',
      replicaIndex: null,
    });
  }
  if (byName.size === 0) return { schema, tables: [] };

  const columns = await rows(
    conn,
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
            COLUMN_DEFAULT AS def, COLUMN_COMMENT AS comment, EXTRA AS extra,
            GENERATION_EXPRESSION AS generation
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [schema],
  );
  for (const c of columns) {
    const def = c.def === null ? null : str(c.def);
    const extra = str(c.extra).toLowerCase();
    byName.get(str(c.tbl))?.columns.push({
      name: str(c.name),
      physical: str(c.name),
      type: str(c.type),
      nullable: c.nullable === 'YES',
      default: def === 'NULL' ? null : def,
      comment: str(c.comment) === '' ? null : str(c.comment),
      generated: extra.includes('auto_increment') || extra.includes('generated'),
      ...(c.generation == null || !extra.includes('generated')
        ? {}
        : { generation: { expression: str(c.generation), stored: extra.includes('stored') } }),
    });
  }

  const keyColumns = await rows(
    conn,
    `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, COLUMN_NAME AS col,
            REFERENCED_TABLE_NAME AS ref_table, REFERENCED_COLUMN_NAME AS ref_col
       FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
    [schema],
  );
  const keyOf = (table: string, name: string) =>
    keyColumns.filter((k) => str(k.tbl) === table && str(k.name) === name);
  const rules = await rows(
    conn,
    `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, DELETE_RULE AS on_delete, UPDATE_RULE AS on_update
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    [schema],
  );
  const checks = await rows(
    conn,
    `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause
       FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    [schema],
  );
  const constraints = await rows(
    conn,
    `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS type
       FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
    [schema],
  );
  for (const c of constraints) {
    const table = byName.get(str(c.tbl));
    if (!table) continue;
    const name = str(c.name);
    const keys = keyOf(table.name, name);
    const cols = keys.map((k) => str(k.col));
    let model: ConstraintModel;
    switch (str(c.type)) {
      case 'PRIMARY KEY':
      case 'UNIQUE':
        model = {
          name,
          type: str(c.type) === 'UNIQUE' ? 'unique' : 'primary_key',
          columns: cols,
          definition: `${str(c.type) === 'UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY'} (${cols.map(ident).join(', ')})`,
          validated: true,
          index: name,
          refTable: null,
          refColumns: [],
        };
        break;
      case 'FOREIGN KEY': {
        const rule = rules.find((r) => str(r.tbl) === table.name && str(r.name) === name);
        const refTable = str(keys[0]?.ref_table);
        const refColumns = keys.map((k) => str(k.ref_col));
        model = {
          name,
          type: 'foreign_key',
          columns: cols,
          definition: `FOREIGN KEY (${cols.map(ident).join(', ')}) REFERENCES ${ident(refTable)} (${refColumns.map(ident).join(', ')})${ruleClause('ON DELETE', rule?.on_delete)}${ruleClause('ON UPDATE', rule?.on_update)}`,
          validated: true,
          index: null,
          refTable,
          refColumns,
        };
        break;
      }
      case 'CHECK': {
        const clause = str(checks.find((k) => str(k.tbl) === table.name && str(k.name) === name)?.clause);
        // A column-level check is named after its column.
        model = {
          name,
          type: 'check',
          columns: table.columns.filter((x) => clause.includes(`\`${x.physical}\``)).map((x) => x.physical),
          definition: `CHECK (${clause})`,
          validated: true,
          index: null,
          refTable: null,
          refColumns: [],
        };
        break;
      }
      default:
        continue;
    }
    table.constraints.push(model);
  }

  const stats = await rows(
    conn,
    `SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, COLUMN_NAME AS col, SUB_PART AS sub_part,
            COLLATION AS collation, NON_UNIQUE AS non_unique, INDEX_TYPE AS index_type
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [schema],
  );
  const indexes = new Map<string, { table: TableModel; index: IndexModel; keys: string[]; kind: string }>();
  for (const s of stats) {
    const table = byName.get(str(s.tbl));
    if (!table) continue;
    const id = `${table.name}\u0000${str(s.name)}`;
    let entry = indexes.get(id);
    if (!entry) {
      const name = str(s.name);
      const unique = Number(s.non_unique) === 0;
      const owner = table.constraints.find((k) => k.index === name);
      entry = {
        table,
        index: {
          name,
          columns: [],
          unique,
          primary: name === 'PRIMARY',
          valid: true,
          definition: '',
          constraint: owner?.name ?? null,
        },
        keys: [],
        kind:
          str(s.index_type) === 'FULLTEXT' || str(s.index_type) === 'SPATIAL'
            ? `${str(s.index_type)} `
            : unique
              ? 'UNIQUE '
              : '',
      };
      indexes.set(id, entry);
    }
    // An expression key part (MySQL 8 functional index) has no column name.
    const col = s.col === null ? '' : str(s.col);
    entry.index.columns.push(col);
    entry.keys.push(
      `${ident(col)}${s.sub_part === null ? '' : `(${str(s.sub_part)})`}${str(s.collation) === 'D' ? ' DESC' : ''}`,
    );
  }
  for (const { table, index, keys, kind } of indexes.values()) {
    index.definition = `CREATE ${kind}INDEX ${ident(index.name)} ON ${ident(table.name)} (${keys.join(', ')})`;
    table.indexes.push(index);
  }
  return { schema, tables: [...byName.values()] };
}
