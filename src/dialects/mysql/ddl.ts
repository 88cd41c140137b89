/**
 * MySQL / MariaDB rendering of the migration actions.
 *
 * MySQL DDL commits on its own, so every statement is idempotent through a
 * `skipIf` query against information_schema (or is computed from it at run
 * time through `resolve`). Every ALTER TABLE names its algorithm: INSTANT
 * where the server can do the change in the data dictionary alone, else
 * INPLACE with LOCK=NONE; the driver falls back from INSTANT to INPLACE,
 * LOCK=NONE, and a change the server can do neither way (it would copy the
 * table or block writes) fails before it touches anything. What is known
 * to need a copy is refused at validation (`refuseMysqlAction`).
 *
 * Constraints: foreign keys go in with foreign_key_checks off for the one
 * statement (no scan, enforced for new writes: PostgreSQL's NOT VALID) and
 * are validated by key-range reads; NOT NULL is enforced on new writes by
 * a check in a trigger (triggers.ts) until complete, then set by an online
 * rebuild; unique indexes are built online.
 */
import type { Action, ColumnSpec, ForeignKeySpec, TableConstraintSpec } from '../../migrations/actions.ts';
import type { ActionRefusal, Statement } from '../../migrations/dialect.ts';
import type { SchemaModel } from '../../migrations/model.ts';
import { referencedColumns, replaceColumns } from './expressions.ts';
import { ident, literal, qualified } from './quote.ts';
import { renderNotNullCheck, renderSyncInstall, renderSyncRemove, triggerName } from './triggers.ts';

const INSTANT = 'ALGORITHM=INSTANT';
const ONLINE = 'ALGORITHM=INPLACE, LOCK=NONE';

/** Replaces column names (case-insensitively) with backquoted physical names. */
function renameColumns(sql: string, renames: Record<string, string>): string {
  const lower = new Map(Object.entries(renames).map(([k, v]) => [k.toLowerCase(), v]));
  if (lower.size === 0) return sql;
  return replaceColumns(sql, (name) => {
    const to = lower.get(name.toLowerCase());
    return to === undefined ? null : ident(to);
  });
}

function columnDefinition(c: ColumnSpec): string {
  let sql = `${ident(c.name)} ${c.type}`;
  if (c.generatedExpression) sql += ` GENERATED ALWAYS AS (${c.generatedExpression}) STORED`;
  sql += c.nullable ? ' NULL' : ' NOT NULL';
  if (c.default !== null && !c.generatedExpression && !c.identity) sql += ` DEFAULT ${c.default}`;
  if (c.identity) sql += ' AUTO_INCREMENT';
  if (c.comment != null) sql += ` COMMENT ${literal(c.comment)}`;
  return sql;
}

function foreignKeyClause(
  schema: string,
  fk: Pick<ForeignKeySpec, 'columns' | 'refTable' | 'refColumns' | 'onDelete' | 'onUpdate'>,
): string {
  let sql = `FOREIGN KEY (${fk.columns.map(ident).join(', ')}) REFERENCES ${qualified(schema, fk.refTable)} (${fk.refColumns.map(ident).join(', ')})`;
  if (fk.onDelete) sql += ` ON DELETE ${fk.onDelete}`;
  if (fk.onUpdate) sql += ` ON UPDATE ${fk.onUpdate}`;
  return sql;
}

function tableConstraint(schema: string, c: TableConstraintSpec): string {
  switch (c.type) {
    case 'check':
      return `CONSTRAINT ${ident(c.name)} CHECK (${c.expression})`;
    case 'foreign_key':
      return `CONSTRAINT ${ident(c.name)} ${foreignKeyClause(schema, c)}`;
    case 'primary_key':
      return `PRIMARY KEY (${c.columns.map(ident).join(', ')})`;
    case 'unique':
      return `CONSTRAINT ${ident(c.name)} UNIQUE (${c.columns.map(ident).join(', ')})`;
    case 'exclude':
      // Refused at validation (refuseMysqlAction).
      throw new Error('exclusion constraints do not exist in MySQL');
  }
}

const columnMissing = (schema: string, table: string, column: string) => ({
  sql: `SELECT COUNT(*) = 0 AS skip FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
  params: [schema, table, column],
});

const tableMissing = (schema: string, table: string) => ({
  sql: `SELECT COUNT(*) = 0 AS skip FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
  params: [schema, table],
});

const indexExists = (schema: string, table: string, name: string) => ({
  sql: `SELECT COUNT(*) > 0 AS skip FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?`,
  params: [schema, table, name],
});

const constraintExists = (schema: string, table: string, name: string) => ({
  sql: `SELECT COUNT(*) > 0 AS skip FROM information_schema.TABLE_CONSTRAINTS
         WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?`,
  params: [schema, table, name],
});

/**
 * SQL computing a column's full definition from information_schema (MariaDB
 * prints COLUMN_DEFAULT as an expression), with its nullability and
 * comment replaced where given: MODIFY COLUMN must restate all of it.
 */
function columnDefinitionFromCatalog(
  notNull: boolean | null,
  comment: string | null | undefined,
): { sql: string; params: unknown[] } {
  const nullability =
    notNull === null ? "IF(IS_NULLABLE = 'YES', ' NULL', ' NOT NULL')" : notNull ? "' NOT NULL'" : "' NULL'";
  const params: unknown[] = [];
  let commentPart = "IF(COLUMN_COMMENT = '', '', CONCAT(' COMMENT ', QUOTE(COLUMN_COMMENT)))";
  if (comment === null) commentPart = "''";
  else if (comment !== undefined) {
    commentPart = "CONCAT(' COMMENT ', QUOTE(?))";
    params.push(comment);
  }
  return {
    sql: `CONCAT(' ', COLUMN_TYPE,
    IF(COLLATION_NAME IS NULL, '', CONCAT(' COLLATE ', COLLATION_NAME)),
    ${nullability},
    IF(COLUMN_DEFAULT IS NULL OR COLUMN_DEFAULT = 'NULL', '', CONCAT(' DEFAULT ', COLUMN_DEFAULT)),
    IF(EXTRA LIKE '%auto_increment%', ' AUTO_INCREMENT', ''),
    IF(EXTRA LIKE '%on update %', CONCAT(' ', SUBSTRING(EXTRA, LOCATE('on update ', EXTRA))), ''),
    ${commentPart})`,
    params,
  };
}

/** MODIFY COLUMN restating the catalog's definition with one attribute changed; skipped when `done` holds. */
function modifyColumn(
  schema: string,
  table: string,
  column: string,
  change: { notNull: boolean | null; comment?: string | null },
  algorithm: string,
  done: { sql: string; params: unknown[] },
): Statement {
  const head = `ALTER TABLE ${qualified(schema, table)} MODIFY COLUMN ${ident(column)}`;
  const definition = columnDefinitionFromCatalog(change.notNull, change.comment);
  return {
    sql: `${head} <definition>${change.notNull === null ? '' : change.notNull ? ' NOT NULL' : ' NULL'}, ${algorithm}`,
    resolve: {
      sql: `SELECT CONCAT(?, ${definition.sql}, ?) AS statement
              FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ? AND NOT (${done.sql})`,
      params: [head, ...definition.params, `, ${algorithm}`, schema, table, column, ...done.params],
    },
  };
}

/** The table of an index: MySQL index names are per table, DDL on them names the table. */
function onIndexTable(schema: string, index: string, build: (table: string) => string): string {
  return `SELECT CONCAT(${build('TABLE_NAME')}) AS statement FROM (
            SELECT DISTINCT TABLE_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ${literal(schema)} AND INDEX_NAME = ${literal(index)}
          ) i`;
}

/**
 * MariaDB reports a foreign key written without an ON DELETE / ON UPDATE
 * clause as RESTRICT, and one written with RESTRICT as NO ACTION: a
 * RESTRICT rule is restated as no clause, so the key reads back the same.
 */
const ruleClause = (clause: string, rule: string) =>
  `IF(${rule} = 'RESTRICT', '', CONCAT(' ${clause} ', ${rule}))`;

const quotedInSql = (column: string) => `'\`', REPLACE(${column}, '\`', '\`\`'), '\`'`;

/**
 * Recreates `definition` (an index as this driver's introspection prints
 * it: `CREATE [UNIQUE] INDEX name ON table (keys)`) under `name`.
 */
function copyIndex(
  schema: string,
  table: string,
  definition: string,
  name: string,
  renames: Record<string, string>,
): string {
  const m = /^CREATE (UNIQUE |FULLTEXT |SPATIAL )?INDEX \S+ ON \S+ (\(.*\))$/s.exec(definition);
  if (!m) throw new Error(`unexpected index definition: ${definition}`);
  return `ALTER TABLE ${qualified(schema, table)} ADD ${m[1] ?? ''}INDEX ${ident(name)} ${renameColumns(m[2]!, renames)}, ${ONLINE}`;
}

/** Renames the constrained side of a foreign key definition, never the referenced columns. */
function copyForeignKey(definition: string, renames: Record<string, string>): string {
  const at = definition.indexOf(' REFERENCES ');
  return renameColumns(definition.slice(0, at), renames) + definition.slice(at);
}

/** Foreign keys are added without checking the existing rows (validated later by reads), online. */
const withoutForeignKeyChecks = (sql: string) => `SET STATEMENT foreign_key_checks = 0 FOR ${sql}`;

export function renderMysqlAction(action: Action, schema: string): Statement[] {
  const t = (name: string) => qualified(schema, name);
  switch (action.kind) {
    case 'create_table': {
      const body = [
        ...action.columns.map(columnDefinition),
        ...action.constraints.map((c) => tableConstraint(schema, c)),
      ];
      const comment = action.comment === null ? '' : ` COMMENT = ${literal(action.comment)}`;
      return [
        { sql: `CREATE TABLE IF NOT EXISTS ${t(action.table)} (\n  ${body.join(',\n  ')}\n)${comment}` },
      ];
    }
    case 'drop_table':
      return [{ sql: `DROP TABLE IF EXISTS ${t(action.table)}` }];
    case 'rename_table':
      return [
        {
          sql: `RENAME TABLE ${t(action.from)} TO ${t(action.to)}`,
          skipIf: tableMissing(schema, action.from),
        },
      ];
    case 'add_column':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD COLUMN ${columnDefinition(action.column)}, ${INSTANT}`,
          skipIf: {
            sql: `SELECT COUNT(*) > 0 AS skip FROM information_schema.COLUMNS
                   WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
            params: [schema, action.table, action.column.name],
          },
        },
      ];
    case 'drop_column': {
      // `whileExists`: the column of this name holds the new data once the shadow was renamed into place.
      const exists = `(SELECT COUNT(*) FROM information_schema.COLUMNS
                        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?) > 0`;
      const guard = action.whileExists ? `${exists} AND ${exists}` : exists;
      const guardParams = [schema, action.table, action.column];
      if (action.whileExists) guardParams.push(schema, action.table, action.whileExists);
      const table = t(action.table);
      return [
        // What PostgreSQL drops with a column goes first: its foreign keys, the indexes that hold it
        // (MySQL would only shorten them), the check triggers standing in for its NOT NULL, and the
        // CHECK constraints that name it (MySQL refuses to drop a column a check names).
        {
          sql: `ALTER TABLE ${table} DROP <foreign keys, indexes and NOT NULL checks on ${ident(action.column)}>`,
          resolve: {
            sql: `SELECT statement FROM (
                    SELECT 1 AS o, CONCAT(?, ${quotedInSql('CONSTRAINT_NAME')}, ?) AS statement
                      FROM information_schema.KEY_COLUMN_USAGE
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
                    UNION ALL
                    SELECT DISTINCT 2, CONCAT(?, ${quotedInSql('INDEX_NAME')}, ?)
                      FROM information_schema.STATISTICS
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ? AND INDEX_NAME <> 'PRIMARY'
                    UNION ALL
                    SELECT 3, CONCAT('DROP TRIGGER IF EXISTS ', ?, '.', ${quotedInSql('TRIGGER_NAME')})
                      FROM information_schema.TRIGGERS
                     WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?
                       AND TRIGGER_NAME LIKE '\\_shiftgate\\_nn\\_%' AND LOCATE(?, ACTION_STATEMENT) > 0
                    UNION ALL
                    SELECT 4, CONCAT(?, ${quotedInSql('CONSTRAINT_NAME')}, ?)
                      FROM information_schema.CHECK_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND LOCATE(?, CHECK_CLAUSE) > 0
                  ) d WHERE ${guard} ORDER BY o`,
            params: [
              `ALTER TABLE ${table} DROP FOREIGN KEY `,
              `, ${INSTANT}`,
              schema,
              action.table,
              action.column,
              `ALTER TABLE ${table} DROP INDEX `,
              `, ${ONLINE}`,
              schema,
              action.table,
              action.column,
              ident(schema),
              schema,
              action.table,
              `IF NEW.${ident(action.column)} IS NULL THEN`,
              `ALTER TABLE ${table} DROP CONSTRAINT `,
              `, ${INSTANT}`,
              schema,
              action.table,
              ident(action.column),
              ...guardParams,
            ],
          },
        },
        {
          sql: `ALTER TABLE ${table} DROP COLUMN ${ident(action.column)}, ${INSTANT}`,
          skipIf: { sql: `SELECT NOT (${guard}) AS skip`, params: guardParams },
        },
      ];
    }
    case 'rename_column':
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} RENAME COLUMN ${ident(action.from)} TO ${ident(action.to)}, ${INSTANT}`,
          skipIf: columnMissing(schema, action.table, action.from),
        },
      ];
    case 'set_default':
      return [
        {
          sql:
            action.default === null
              ? `ALTER TABLE ${t(action.table)} ALTER COLUMN ${ident(action.column)} DROP DEFAULT, ${INSTANT}`
              : `ALTER TABLE ${t(action.table)} ALTER COLUMN ${ident(action.column)} SET DEFAULT ${action.default}, ${INSTANT}`,
        },
      ];
    case 'set_comment':
      if (action.column === null)
        return [
          { sql: `ALTER TABLE ${t(action.table)} COMMENT = ${literal(action.comment ?? '')}, ${INSTANT}` },
        ];
      return [
        modifyColumn(
          schema,
          action.table,
          action.column,
          { notNull: null, comment: action.comment },
          INSTANT,
          { sql: 'COLUMN_COMMENT <=> ?', params: [action.comment ?? ''] },
        ),
      ];
    case 'set_not_null':
      // An online rebuild that checks every row without blocking writers; the rows were validated before.
      return [
        modifyColumn(schema, action.table, action.column, { notNull: action.notNull }, ONLINE, {
          sql: 'IS_NULLABLE = ?',
          params: [action.notNull ? 'NO' : 'YES'],
        }),
      ];
    case 'add_check':
      // Only on a table this migration created (empty, unseen): refuseMysqlAction refuses the others.
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.name)} CHECK (${renameColumns(action.expression, action.renameColumns ?? {})})`,
          skipIf: constraintExists(schema, action.table, action.name),
        },
      ];
    case 'add_not_null_check':
      return renderNotNullCheck(schema, action.table, action.name, action.column);
    case 'add_foreign_key':
      return [
        {
          sql: withoutForeignKeyChecks(
            `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.fk.name)} ${foreignKeyClause(schema, action.fk)}, ${ONLINE}`,
          ),
          skipIf: constraintExists(schema, action.table, action.fk.name),
        },
      ];
    case 'copy_constraint':
      // Foreign keys only: copying a CHECK is refused (it needs a table copy).
      return [
        {
          sql: withoutForeignKeyChecks(
            `ALTER TABLE ${t(action.table)} ADD CONSTRAINT ${ident(action.name)} ${copyForeignKey(action.definition, action.renameColumns)}, ${ONLINE}`,
          ),
          skipIf: constraintExists(schema, action.table, action.name),
        },
      ];
    case 'validate_constraint':
      return [
        {
          sql: `-- validate ${action.name} on ${action.table}: existing rows read in key ranges`,
          scan: { schema, table: action.table, constraint: action.name },
        },
      ];
    case 'drop_constraint': {
      const table = t(action.table);
      const name = ident(action.name);
      const triggers = (['insert', 'update'] as const).map((e) => triggerName(action.table, action.name, e));
      return [
        {
          sql: `ALTER TABLE ${table} DROP <constraint kind> ${name}`,
          resolve: {
            sql: `SELECT CASE CONSTRAINT_TYPE WHEN 'FOREIGN KEY' THEN ? WHEN 'CHECK' THEN ?
                                              WHEN 'PRIMARY KEY' THEN ? ELSE ? END AS statement
                    FROM information_schema.TABLE_CONSTRAINTS
                   WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?
                  UNION ALL
                  SELECT CONCAT('DROP TRIGGER IF EXISTS ', ?, '.', ${quotedInSql('TRIGGER_NAME')}) AS statement
                    FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME IN (?, ?)`,
            params: [
              `ALTER TABLE ${table} DROP FOREIGN KEY ${name}, ${INSTANT}`,
              `ALTER TABLE ${table} DROP CONSTRAINT ${name}, ${INSTANT}`,
              `ALTER TABLE ${table} DROP PRIMARY KEY, ${ONLINE}`,
              `ALTER TABLE ${table} DROP INDEX ${name}, ${ONLINE}`,
              schema,
              action.table,
              action.name,
              ident(schema),
              schema,
              ...triggers,
            ],
          },
        },
      ];
    }
    case 'rename_constraint': {
      // A unique constraint is its index; a foreign key is dropped and added again in one online statement.
      const table = t(action.table);
      const to = ident(action.to);
      return [
        {
          sql: `ALTER TABLE ${table} RENAME <constraint> ${ident(action.from)} TO ${to}`,
          resolve: {
            sql: `SELECT CONCAT('ALTER TABLE ', ?, ' RENAME INDEX ', ?, ' TO ', ?, ', ${INSTANT}') AS statement
                    FROM information_schema.TABLE_CONSTRAINTS
                   WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ? AND CONSTRAINT_TYPE = 'UNIQUE'
                  UNION ALL
                  SELECT CONCAT('SET STATEMENT foreign_key_checks = 0 FOR ALTER TABLE ', ?, ' DROP FOREIGN KEY ', ?,
                                ', ADD CONSTRAINT ', ?, ' FOREIGN KEY (',
                                GROUP_CONCAT(CONCAT(${quotedInSql('k.COLUMN_NAME')}) ORDER BY k.ORDINAL_POSITION SEPARATOR ', '),
                                ') REFERENCES ', CONCAT(${quotedInSql('MAX(k.REFERENCED_TABLE_SCHEMA)')}), '.',
                                CONCAT(${quotedInSql('MAX(k.REFERENCED_TABLE_NAME)')}), ' (',
                                GROUP_CONCAT(CONCAT(${quotedInSql('k.REFERENCED_COLUMN_NAME')}) ORDER BY k.ORDINAL_POSITION SEPARATOR ', '),
                                ')', ${ruleClause('ON DELETE', 'MAX(r.DELETE_RULE)')}, ${ruleClause('ON UPDATE', 'MAX(r.UPDATE_RULE)')},
                                ', ${ONLINE}') AS statement
                    FROM information_schema.KEY_COLUMN_USAGE k
                    JOIN information_schema.REFERENTIAL_CONSTRAINTS r
                      ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME
                     AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
                   WHERE k.CONSTRAINT_SCHEMA = ? AND k.TABLE_NAME = ? AND k.CONSTRAINT_NAME = ?
                   GROUP BY k.CONSTRAINT_NAME`,
            params: [
              table,
              ident(action.from),
              to,
              schema,
              action.table,
              action.from,
              table,
              ident(action.from),
              to,
              schema,
              action.table,
              action.from,
            ],
          },
        },
      ];
    }
    case 'create_index': {
      const cols = action.columns
        .map((c) => `${ident(c.column)}${c.sort === 'DESC' ? ' DESC' : ''}`)
        .join(', ');
      const using = action.method ? ` USING ${action.method.toUpperCase()}` : '';
      return [
        {
          sql: `ALTER TABLE ${t(action.table)} ADD ${action.unique ? 'UNIQUE ' : ''}INDEX ${ident(action.name)}${using} (${cols}), ${ONLINE}`,
          skipIf: indexExists(schema, action.table, action.name),
        },
      ];
    }
    case 'copy_index':
      return [
        {
          sql: copyIndex(schema, action.table, action.definition, action.name, action.renameColumns),
          skipIf: indexExists(schema, action.table, action.name),
        },
      ];
    case 'drop_index':
      return [
        {
          sql: `ALTER TABLE <table of ${ident(action.name)}> DROP INDEX ${ident(action.name)}, ${ONLINE}`,
          resolve: {
            sql: onIndexTable(
              schema,
              action.name,
              (table) =>
                `${literal(`ALTER TABLE ${ident(schema)}.`)}, ${quotedInSql(table)}, ${literal(` DROP INDEX ${ident(action.name)}, ${ONLINE}`)}`,
            ),
            params: [],
          },
        },
      ];
    case 'rename_index':
      return [
        {
          sql: `ALTER TABLE <table of ${ident(action.from)}> RENAME INDEX ${ident(action.from)} TO ${ident(action.to)}, ${INSTANT}`,
          resolve: {
            sql: onIndexTable(
              schema,
              action.from,
              (table) =>
                `${literal(`ALTER TABLE ${ident(schema)}.`)}, ${quotedInSql(table)}, ${literal(` RENAME INDEX ${ident(action.from)} TO ${ident(action.to)}, ${INSTANT}`)}`,
            ),
            params: [],
          },
        },
      ];
    case 'attach_index_constraint': {
      const table = t(action.table);
      if (action.type === 'unique')
        // A MySQL unique constraint is its unique index: naming the index is all there is to it.
        return [
          {
            sql: `ALTER TABLE ${table} RENAME INDEX ${ident(action.index)} TO ${ident(action.name)}, ${INSTANT}`,
            skipIf: {
              sql: `SELECT COUNT(*) = 0 AS skip FROM information_schema.STATISTICS
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?`,
              params: [schema, action.table, action.index],
            },
          },
        ];
      return [
        {
          sql: `ALTER TABLE ${table} DROP INDEX ${ident(action.index)}, ADD PRIMARY KEY (<its columns>), ${ONLINE}`,
          resolve: {
            sql: `SELECT CONCAT(?, GROUP_CONCAT(CONCAT(${quotedInSql('COLUMN_NAME')}) ORDER BY SEQ_IN_INDEX SEPARATOR ', '), ?) AS statement
                    FROM information_schema.STATISTICS
                   WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?
                   GROUP BY INDEX_NAME`,
            params: [
              `ALTER TABLE ${table} DROP INDEX ${ident(action.index)}, ADD PRIMARY KEY (`,
              `), ${ONLINE}`,
              schema,
              action.table,
              action.index,
            ],
          },
        },
      ];
    }
    case 'set_replica_identity':
      // Refused at validation.
      throw new Error('replica identity does not exist in MySQL');
    case 'move_owned_sequences':
      // AUTO_INCREMENT belongs to its column; there is no sequence to hand over.
      return [];
    case 'install_sync':
      return renderSyncInstall(action, schema);
    case 'remove_sync':
      return renderSyncRemove(action, schema);
    case 'raw_sql':
      return [{ sql: action.sql }];
  }
}

const COPY = 'MySQL can only do it by copying the table under a lock that blocks writes (ALGORITHM=COPY)';

function refuseConstraintSpec(c: TableConstraintSpec): ActionRefusal | null {
  if (c.type === 'exclude')
    return {
      field: 'constraints',
      reason: `exclusion constraint "${c.name}": MySQL has no exclusion constraints`,
    };
  if ('deferrable' in c && c.deferrable)
    return { field: 'constraints', reason: `constraint "${c.name}": MySQL constraints cannot be deferrable` };
  if (c.type === 'check' && c.noInherit)
    return { field: 'constraints', reason: `check "${c.name}": NO INHERIT has no meaning in MySQL` };
  if (c.type === 'unique' || c.type === 'primary_key') {
    if (c.nullsNotDistinct)
      return { field: 'constraints', reason: `constraint "${c.name}": MySQL has no NULLS NOT DISTINCT` };
    if (c.include?.length || c.storageParameters || c.tablespace)
      return {
        field: 'constraints',
        reason: `constraint "${c.name}": index_parameters (include, storage parameters, tablespace) have no MySQL meaning`,
      };
  }
  if (c.type === 'foreign_key') return refuseForeignKey(c);
  return null;
}

function refuseForeignKey(fk: ForeignKeySpec): ActionRefusal | null {
  if (fk.deferrable)
    return {
      field: 'references',
      reason: `foreign key "${fk.name}": MySQL constraints cannot be deferrable`,
    };
  if (fk.match && fk.match !== 'SIMPLE')
    return { field: 'references', reason: `foreign key "${fk.name}": InnoDB ignores MATCH ${fk.match}` };
  if (fk.onDeleteSetColumns?.length)
    return {
      field: 'references',
      reason: `foreign key "${fk.name}": ON DELETE SET NULL (columns) has no MySQL form`,
    };
  if (fk.onDelete === 'SET DEFAULT' || fk.onUpdate === 'SET DEFAULT')
    return { field: 'references', reason: `foreign key "${fk.name}": InnoDB does not support SET DEFAULT` };
  return null;
}

const INDEX_METHODS = new Set(['btree', 'hash']);

/** What MySQL / MariaDB cannot do at all, or only with a lock that blocks writes (see the file comment). */
export function refuseMysqlAction(action: Action, model: SchemaModel): ActionRefusal | null {
  switch (action.kind) {
    case 'set_replica_identity':
      return {
        field: 'identity',
        reason: 'replica identity is a PostgreSQL concept; MySQL replicates whole rows',
      };
    case 'create_table': {
      for (const c of action.columns) {
        if (c.identity?.sequenceOptions)
          return {
            field: 'columns',
            reason: `column "${c.name}": identity sequence options have no MySQL form (AUTO_INCREMENT has none)`,
          };
      }
      for (const c of action.constraints) {
        const refusal = refuseConstraintSpec(c);
        if (refusal) return refusal;
      }
      return null;
    }
    case 'add_column':
      if (action.column.identity)
        return {
          field: 'column.generated',
          reason: `adding the AUTO_INCREMENT column "${action.column.name}" to an existing table rebuilds it under a lock`,
        };
      if (action.column.generatedExpression)
        return {
          field: 'column.generated',
          reason: `adding the stored generated column "${action.column.name}": ${COPY}`,
        };
      return null;
    case 'drop_column': {
      // MariaDB refuses to drop a column a generated column reads; found here, not at complete.
      const table = model.tables.find((x) => x.physical === action.table);
      const reader = table?.columns.find(
        (c) =>
          c.generation &&
          [...referencedColumns(c.generation.expression)].some(
            (r) => r.toLowerCase() === action.column.toLowerCase(),
          ),
      );
      return reader
        ? {
            field: null,
            reason: `column "${action.column}" of "${action.table}" is read by the generated column "${reader.name}": MySQL cannot drop or replace it while the generated column exists`,
          }
        : null;
    }
    case 'set_not_null': {
      // With a STORED generated column on the table, MariaDB sets NOT NULL only by copying the table.
      const table = model.tables.find((x) => x.physical === action.table);
      const stored = table?.columns.find((c) => c.generation?.stored);
      return action.notNull && stored
        ? {
            field: null,
            reason: `making column "${action.column.replace(/^_shiftgate_new_/, '')}" of "${action.table}" NOT NULL next to the stored generated column "${stored.name}": ${COPY}`,
          }
        : null;
    }
    case 'add_check':
      if (action.noInherit)
        return { field: 'check', reason: `check "${action.name}": NO INHERIT has no meaning in MySQL` };
      return action.validated
        ? null
        : {
            field: 'check',
            reason: `adding the check constraint "${action.name}" to an existing table: ${COPY}`,
          };
    case 'copy_constraint':
      return action.definition.startsWith('FOREIGN KEY')
        ? null
        : {
            field: null,
            reason: `the check constraint "${action.name.replace(/^_shiftgate_tmp_/, '')}" on a changed column would have to be added again: ${COPY}`,
          };
    case 'add_foreign_key':
      return refuseForeignKey(action.fk);
    case 'rename_constraint': {
      const table = model.tables.find((x) => x.physical === action.table);
      const c = table?.constraints.find((x) => x.name === action.from);
      if (c?.type === 'check')
        return {
          field: 'from',
          reason: `renaming the check constraint "${action.from}": MySQL cannot rename a check in place`,
        };
      if (c?.type === 'primary_key')
        return { field: 'from', reason: 'a MySQL primary key is always named PRIMARY' };
      return null;
    }
    case 'create_index': {
      if (action.method && !INDEX_METHODS.has(action.method.toLowerCase()))
        return {
          field: 'method',
          reason: `index method "${action.method}" does not exist in MySQL (btree, hash do)`,
        };
      if (action.predicate) return { field: 'predicate', reason: 'MySQL has no partial indexes' };
      if (action.include.length)
        return { field: 'index_parameters', reason: 'MySQL indexes have no INCLUDE columns' };
      if (action.nullsNotDistinct)
        return { field: 'nulls_not_distinct', reason: 'MySQL has no NULLS NOT DISTINCT' };
      if (action.storageParameters)
        return { field: 'storage_parameters', reason: 'storage parameters are PostgreSQL index options' };
      for (const c of action.columns) {
        if (c.opclass?.name || c.opclass?.params?.length)
          return { field: 'columns', reason: `column "${c.column}": MySQL has no operator classes` };
        if (c.nulls)
          return { field: 'columns', reason: `column "${c.column}": MySQL has no NULLS ${c.nulls}` };
        if (c.collate)
          return { field: 'columns', reason: `column "${c.column}": MySQL index keys take no COLLATE` };
      }
      return null;
    }
    case 'attach_index_constraint':
      return action.deferrable
        ? {
            field: 'deferrable',
            reason: `constraint "${action.name}": MySQL constraints cannot be deferrable`,
          }
        : null;
    default:
      return null;
  }
}
