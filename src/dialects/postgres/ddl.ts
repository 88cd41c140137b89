/**
 * PostgreSQL rendering of the migration actions. Every statement is either
 * idempotent by itself (`IF [NOT] EXISTS`) or carries a `skipIf` catalog
 * query, so an action interrupted by a crash can simply run again.
 *
 * Short locks: constraints go in `NOT VALID` and are validated later (which
 * takes only SHARE UPDATE EXCLUSIVE), indexes are built `CONCURRENTLY`, and
 * NOT NULL is set at complete on a column whose validated check lets
 * PostgreSQL skip the table scan.
 */
import type {
  Action,
  ColumnSpec,
  ForeignKeySpec,
  IndexColumnSpec,
  TableConstraintSpec,
} from '../../migrations/actions.ts';
import type { Statement } from '../../migrations/dialect.ts';
import { ident, literal, qualified } from './quote.ts';
import { renderSyncInstall, renderSyncRemove } from './triggers.ts';

/**
 * Replaces column identifiers in an SQL expression or definition, leaving
 * string literals, comments, function names (`x(`), qualified names (`a.x`)
 * and type names (`::x`) alone.
 *
 * NOTE: a lexer, not a parser: it is exact for the column references of
 * checks, index keys and predicates, which is all it is used for.
 */
export function renameIdentifiers(sql: string, renames: Record<string, string>): string {
  if (Object.keys(renames).length === 0) return sql;
  let out = '';
  let i = 0;
  let prev = '';
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === "'" || ((ch === 'E' || ch === 'e') && sql[i + 1] === "'")) {
      const escapes = ch !== "'";
      let j = escapes ? i + 2 : i + 1;
      while (j < n) {
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      prev = "'";
      continue;
    }
    if (ch === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        const stop = end < 0 ? n : end + m[0].length;
        out += sql.slice(i, stop);
        i = stop;
        prev = "'";
        continue;
      }
    }
    if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === '"' || /[A-Za-z_\u0080-\uffff]/.test(ch)) {
      let name: string;
      let j: number;
      if (ch === '"') {
        j = i + 1;
        name = '';
        while (j < n) {
          if (sql[j] === '"' && sql[j + 1] === '"') {
            name += '"';
            j += 2;
          } else if (sql[j] === '"') break;
          else name += sql[j++];
        }
        j++;
      } else {
        j = i;
        while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j++;
        name = sql.slice(i, j).toLowerCase();
      }
      const rest = sql.slice(j).trimStart();
      const isCall = rest.startsWith('(');
      const isQualifier = rest.startsWith('.') && !rest.startsWith('..');
      const afterDot = prev === '.';
      const afterCast = prev === '::';
      const target = renames[name];
      if (target !== undefined && !isCall && !isQualifier && !afterDot && !afterCast) out += ident(target);
      else out += sql.slice(i, j);
      i = j;
      prev = 'id';
      continue;
    }
    if (ch === ':' && sql[i + 1] === ':') {
      out += '::';
      i += 2;
      prev = '::';
      continue;
    }
    if (!/\s/.test(ch)) prev = ch;
    out += ch;
    i++;
  }
  return out;
}

function columnDefinition(c: ColumnSpec): string {
  let sql = `${ident(c.name)} ${c.type}`;
  if (c.generatedExpression) sql += ` GENERATED ALWAYS AS (${c.generatedExpression}) STORED`;
  else if (c.identity)
    sql += ` GENERATED ${c.identity.always ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${c.identity.sequenceOptions ? ` (${c.identity.sequenceOptions})` : ''}`;
  if (c.default !== null && !c.generatedExpression && !c.identity) sql += ` DEFAULT ${c.default}`;
  if (!c.nullable) sql += ' NOT NULL';
  return sql;
}

function foreignKeyClause(schema: string, fk: ForeignKeySpec): string {
  let sql = `FOREIGN KEY (${fk.columns.map(ident).join(', ')}) REFERENCES ${qualified(schema, fk.refTable)} (${fk.refColumns.map(ident).join(', ')})`;
  if (fk.match && fk.match !== 'SIMPLE') sql += ` MATCH ${fk.match}`;
  if (fk.onDelete) {
    sql += ` ON DELETE ${fk.onDelete}`;
    if (fk.onDeleteSetColumns?.length) sql += ` (${fk.onDeleteSetColumns.map(ident).join(', ')})`;
  }
  if (fk.onUpdate) sql += ` ON UPDATE ${fk.onUpdate}`;
  if (fk.deferrable) sql += ` DEFERRABLE${fk.initiallyDeferred ? ' INITIALLY DEFERRED' : ''}`;
  return sql;
}

function tableConstraint(schema: string, c: TableConstraintSpec): string {
  const head = `CONSTRAINT ${ident(c.name)}`;
  switch (c.type) {
    case 'check':
      return `${head} CHECK (${c.expression})${c.noInherit ? ' NO INHERIT' : ''}`;
    case 'foreign_key':
      return `${head} ${foreignKeyClause(schema, c)}`;
    case 'exclude':
      return `${head} EXCLUDE${c.method ? ` USING ${c.method}` : ''} (${c.elements})${c.predicate ? ` WHERE (${c.predicate})` : ''}`;
    default: {
      let sql = `${head} ${c.type === 'primary_key' ? 'PRIMARY KEY' : `UNIQUE${c.nullsNotDistinct ? ' NULLS NOT DISTINCT' : ''}`} (${c.columns.map(ident).join(', ')})`;
      if (c.include?.length) sql += ` INCLUDE (${c.include.map(ident).join(', ')})`;
      if (c.storageParameters) sql += ` WITH (${c.storageParameters})`;
      if (c.tablespace) sql += ` USING INDEX TABLESPACE ${ident(c.tablespace)}`;
      if (c.deferrable) sql += ` DEFERRABLE${c.initiallyDeferred ? ' INITIALLY DEFERRED' : ''}`;
      return sql;
    }
  }
}

function indexColumn(c: IndexColumnSpec): string {
  let sql = ident(c.column);
  if (c.collate) sql += ` COLLATE ${ident(c.collate)}`;
  if (c.opclass?.name)
    sql += ` ${c.opclass.name}${c.opclass.params?.length ? `(${c.opclass.params.join(', ')})` : ''}`;
  if (c.sort) sql += ` ${c.sort}`;
  if (c.nulls) sql += ` NULLS ${c.nulls}`;
  return sql;
}

const regclass = (schema: string, name: string) => qualified(schema, name);

const constraintExists = (schema: string, table: string, name: string) => ({
  sql: 'SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2) AS skip',
  params: [regclass(schema, table), name],
});

const columnMissing = (schema: string, table: string, column: string) => ({
  sql: `SELECT NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2
          AND attnum > 0 AND NOT attisdropped) AS skip`,
  params: [regclass(schema, table), column],
});

const tableMissing = (schema: string, table: string) => ({
  sql: 'SELECT to_regclass($1) IS NULL AS skip',
  params: [regclass(schema, table)],
});

/** An index left invalid by an interrupted or failed concurrent build must go before the build is retried. */
function dropInvalidIndex(schema: string, name: string): Statement {
  return {
    sql: `DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`,
    online: true,
    skipIf: {
      sql: 'SELECT NOT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND NOT indisvalid) AS skip',
      params: [regclass(schema, name)],
    },
  };
}

/**
 * Rewrites a `pg_get_indexdef` statement into a concurrent, idempotent build
 * of the same index under another name, on renamed columns.
 */
function copyIndexDefinition(
  schema: string,
  definition: string,
  name: string,
  renames: Record<string, string>,
  online: boolean,
): string {
  const m = /^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?(\S+) (USING .*)$/s.exec(definition);
  if (!m) throw new Error(`unexpected index definition: ${definition}`);
  const table = m[2]!.includes('.') ? m[2]! : `${ident(schema)}.${m[2]}`;
  return `CREATE ${m[1] ?? ''}INDEX ${online ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${ident(name)} ON ${table} ${renameIdentifiers(m[3]!, renames)}`;
}

/** Renames only the constrained side of a foreign key definition, never the referenced columns. */
function copyConstraintDefinition(definition: string, renames: Record<string, string>): string {
  const at = definition.indexOf(' REFERENCES ');
  if (definition.startsWith('FOREIGN KEY') && at > 0)
    return renameIdentifiers(definition.slice(0, at), renames) + definition.slice(at);
  return renameIdentifiers(definition, renames);
}

export function renderAction(action: Action, schema: string): Statement[] {
  const t = (name: string) => qualified(schema, name);
  switch (action.kind) {
    case 'create_table': {
      const body = [
        ...action.columns.map(columnDefinition),
        ...action.constraints.map((c) => tableConstraint(schema, c)),
      ];
      const out: Statement[] = [
        { sql: `CREATE TABLE IF NOT EXISTS ${t(action.table)} (\n  ${body.join(',\n  ')}\n)` },
      ];
      if (action.comment !== null)
        out.push({ sql: `COMMENT ON TABLE ${t(action.table)} IS ${literal(action.comment)}` });
      for (const c of action.columns)
        if (c.comment != null)
          out.push({ sql: `COMMENT ON COLUMN ${t(action.table)}.${ident(c.name)} IS ${literal(c.comment)}` });
      return out;
    }
    case 'drop_table':
      return [{ sql: `DROP TABLE IF EXISTS ${t(action.table)}` }];
    case 'rename_table':
      return [
        {
          sql: `ALTER TABLE ${t(action.from)} RENAME TO ${ident(action.to)}`,
          skipIf: tableMissing(schema, action.from),
        },
      ];
    case 'add_column': {
      const out: Statement[] = [
        { sql: `ALTER TABLE ${t(action.table)} ADD COLUMN IF NOT EXISTS ${columnDefinition(action.column)}` },
      ];
      if (action.column.comment != null)
        out.push({
          sql: `COMMENT ON COLUMN ${t(action.table)}.${ident(action.column.name)} IS ${literal(action.column.comment)}`,
        });
      return out;
    }
    case 'drop_column':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} DROP COLUMN IF EXISTS ${ident(action.column)}`,
          skipIf: action.whileExists
            ? columnMissing(schema, action.table, action.whileExists)
            : tableMissing(schema, action.table),
        },
      ];
    case 'rename_column':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} RENAME COLUMN ${ident(action.from)} TO ${ident(action.to)}`,
          skipIf: columnMissing(schema, action.table, action.from),
        },
      ];
    case 'set_default':
      return [
        {
          sql:
            action.default === null
              ? `ALTER TABLE ${t(action.table)} ALTER COLUMN ${ident(action.column)} DROP DEFAULT`
              : `ALTER TABLE ${t(action.table)} ALTER COLUMN ${ident(action.column)} SET DEFAULT ${action.default}`,
        },
      ];
    case 'set_comment': {
      const target =
        action.column === null
          ? `TABLE ${t(action.table)}`
          : `COLUMN ${t(action.table)}.${ident(action.column)}`;
      return [
        { sql: `COMMENT ON ${target} IS ${action.comment === null ? 'NULL' : literal(action.comment)}` },
      ];
    }
    case 'set_not_null':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ALTER COLUMN ${ident(action.column)} ${action.notNull ? 'SET' : 'DROP'} NOT NULL`,
        },
      ];
    case 'add_check': {
      const expression = renameIdentifiers(action.expression, action.renameColumns ?? {});
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.name)} CHECK (${expression})${action.noInherit ? ' NO INHERIT' : ''}${action.validated ? '' : ' NOT VALID'}`,
          skipIf: constraintExists(schema, action.table, action.name),
        },
      ];
    }
    case 'add_not_null_check':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.name)} CHECK (${ident(action.column)} IS NOT NULL) NOT VALID`,
          skipIf: constraintExists(schema, action.table, action.name),
        },
      ];
    case 'add_foreign_key':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.fk.name)} ${foreignKeyClause(schema, action.fk)}${action.validated ? '' : ' NOT VALID'}`,
          skipIf: constraintExists(schema, action.table, action.fk.name),
        },
      ];
    case 'copy_constraint':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.name)} ${copyConstraintDefinition(action.definition, action.renameColumns).replace(/ NOT VALID$/, '')} NOT VALID`,
          skipIf: constraintExists(schema, action.table, action.name),
        },
      ];
    case 'validate_constraint':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} VALIDATE CONSTRAINT ${ident(action.name)}`,
          skipIf: {
            sql: `SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2
                    AND NOT convalidated) AS skip`,
            params: [regclass(schema, action.table), action.name],
          },
        },
      ];
    case 'drop_constraint':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} DROP CONSTRAINT IF EXISTS ${ident(action.name)}`,
          skipIf: tableMissing(schema, action.table),
        },
      ];
    case 'rename_constraint':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} RENAME CONSTRAINT ${ident(action.from)} TO ${ident(action.to)}`,
          skipIf: {
            sql: 'SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2) AS skip',
            params: [regclass(schema, action.table), action.from],
          },
        },
      ];
    case 'create_index': {
      const cols = action.columns.map(indexColumn).join(', ');
      let sql = `CREATE ${action.unique ? 'UNIQUE ' : ''}INDEX ${action.online ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${ident(action.name)} ON ${t(action.table)}`;
      if (action.method) sql += ` USING ${action.method}`;
      sql += ` (${cols})`;
      if (action.include.length) sql += ` INCLUDE (${action.include.map(ident).join(', ')})`;
      if (action.nullsNotDistinct) sql += ' NULLS NOT DISTINCT';
      if (action.storageParameters) sql += ` WITH (${action.storageParameters})`;
      if (action.predicate) sql += ` WHERE ${action.predicate}`;
      return [dropInvalidIndex(schema, action.name), { sql, online: action.online }];
    }
    case 'copy_index':
      return [
        dropInvalidIndex(schema, action.name),
        {
          sql: copyIndexDefinition(
            schema,
            action.definition,
            action.name,
            action.renameColumns,
            action.online,
          ),
          online: action.online,
        },
      ];
    case 'drop_index':
      return [
        {
          sql: `DROP INDEX ${action.online ? 'CONCURRENTLY ' : ''}IF EXISTS ${t(action.name)}`,
          online: action.online,
        },
      ];
    case 'rename_index':
      return [
        {
          sql: `ALTER INDEX IF EXISTS ${t(action.from)} RENAME TO ${ident(action.to)}`,
          skipIf: {
            sql: 'SELECT to_regclass($1) IS NOT NULL AS skip',
            params: [regclass(schema, action.to)],
          },
        },
      ];
    case 'attach_index_constraint':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.name)} ${action.type === 'primary_key' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${ident(action.index)}${action.deferrable ? ` DEFERRABLE${action.initiallyDeferred ? ' INITIALLY DEFERRED' : ''}` : ''}`,
          skipIf: constraintExists(schema, action.table, action.name),
        },
      ];
    case 'set_replica_identity': {
      const clause =
        action.identity === 'index'
          ? `USING INDEX ${ident(action.index ?? '')}`
          : action.identity.toUpperCase();
      return [{ sql: `ALTER TABLE ${t(action.table)} REPLICA IDENTITY ${clause}` }];
    }
    case 'move_owned_sequences':
      // Dropping a column drops the sequences it owns (serial); hand them to the column that replaces it,
      // while that one is still there under its own name.
      return [
        {
          skipIf: columnMissing(schema, action.table, action.to),
          sql: `DO $shiftgate$
DECLARE seq regclass;
BEGIN
  FOR seq IN
    SELECT d.objid::regclass FROM pg_depend d
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = ${literal(regclass(schema, action.table))}::regclass
      AND a.attname = ${literal(action.from)} AND d.deptype = 'a'
  LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNED BY %s.%I', seq, ${literal(regclass(schema, action.table))}, ${literal(action.to)});
  END LOOP;
END $shiftgate$`,
        },
      ];
    case 'install_sync':
      return renderSyncInstall(action, schema);
    case 'remove_sync':
      return renderSyncRemove(action, schema);
    case 'raw_sql':
      // Not online: it runs in the transaction that records it, unless the server refuses that (see runAction).
      return [{ sql: action.sql }];
  }
}
