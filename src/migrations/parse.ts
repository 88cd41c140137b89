/**
 * Reads migration files into `Migration` values. Structural checks only: the
 * checks that need the database's schema (unknown table, column already
 * there, ...) run in each operation's `validate` against the schema model.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { MigrationValidationError } from './errors.ts';
import { type Migration, type MigrationOperation, type OperationKind, operationSchemas } from './format.ts';

/** Names become session setting values and parts of object names: keep them plain. */
const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

function fieldPath(kind: string, path: readonly PropertyKey[]): string {
  return [kind, ...path.map(String)].join('.');
}

function issuesOf(file: string, op: number, kind: string, error: z.ZodError): MigrationValidationError[] {
  return error.issues.map((issue) => {
    let path = issue.path;
    let reason = issue.message;
    // An unknown key is reported on the object that holds it; name the key itself.
    if (issue.code === 'unrecognized_keys') {
      path = [...path, issue.keys[0] ?? ''];
      reason = `unknown field${issue.keys.length > 1 ? `s ${issue.keys.join(', ')}` : ''}`;
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      reason = 'required field is missing';
    }
    return new MigrationValidationError(file, op, fieldPath(kind, path), reason);
  });
}

/**
 * Checks between the operations of one file that need no database: a NOT
 * NULL column added to an existing table needs a value for existing rows
 * (a table created earlier in the same file is empty).
 */
function crossChecks(file: string, operations: MigrationOperation[]): MigrationValidationError[] {
  const issues: MigrationValidationError[] = [];
  const created = new Set<string>();
  operations.forEach((op, i) => {
    if (op.kind === 'create_table') created.add(op.body.name);
    if (op.kind !== 'add_column') return;
    const c = op.body.column;
    if (
      c.nullable !== true &&
      c.default === undefined &&
      !op.body.up &&
      !c.generated &&
      !created.has(op.body.table)
    )
      issues.push(
        new MigrationValidationError(
          file,
          i,
          'add_column.up',
          `column "${c.name}" is NOT NULL with no default: existing rows need an "up" expression (or make it nullable, or give it a default)`,
        ),
      );
  });
  return issues;
}

/**
 * Parses an already-loaded document (the result of JSON.parse / YAML parse).
 * Throws `MigrationValidationError` whose `issues` lists every problem found.
 *
 * @example
 * const m = parseMigration({ operations: [{ drop_table: { name: 'old' } }] }, '03_drop_old.yaml');
 */
export function parseMigration(doc: unknown, file: string): Migration {
  const name = basename(file, extname(file));
  const issues: MigrationValidationError[] = [];
  if (!NAME_PATTERN.test(name))
    issues.push(
      new MigrationValidationError(
        file,
        null,
        'name',
        `migration name "${name}" (the file name) must be 1-63 characters of letters, digits, _ . -`,
      ),
    );
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    issues.push(new MigrationValidationError(file, null, '', 'expected a mapping with an "operations" list'));
    throw MigrationValidationError.aggregate(issues);
  }
  const top = doc as Record<string, unknown>;
  for (const key of Object.keys(top))
    if (key !== 'name' && key !== 'operations' && key !== 'version_schema')
      issues.push(new MigrationValidationError(file, null, key, 'unknown field'));
  const ops = top.operations;
  const operations: MigrationOperation[] = [];
  if (!Array.isArray(ops)) {
    issues.push(
      new MigrationValidationError(
        file,
        null,
        'operations',
        ops === undefined ? 'required field is missing' : 'expected a list',
      ),
    );
  } else {
    if (ops.length === 0)
      issues.push(
        new MigrationValidationError(file, null, 'operations', 'a migration needs at least one operation'),
      );
    ops.forEach((entry, i) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        issues.push(
          new MigrationValidationError(file, i, '', 'expected a mapping like { add_column: {...} }'),
        );
        return;
      }
      const keys = Object.keys(entry);
      if (keys.length !== 1) {
        issues.push(
          new MigrationValidationError(
            file,
            i,
            keys.join(','),
            `an operation has exactly one kind, found ${keys.length === 0 ? 'none' : keys.join(', ')}`,
          ),
        );
        return;
      }
      const kind = keys[0]!;
      if (!Object.hasOwn(operationSchemas, kind)) {
        issues.push(
          new MigrationValidationError(
            file,
            i,
            kind,
            `unknown operation "${kind}" (known: ${Object.keys(operationSchemas).join(', ')})`,
          ),
        );
        return;
      }
      const schema = operationSchemas[kind as OperationKind] as z.ZodType;
      const result = schema.safeParse((entry as Record<string, unknown>)[kind]);
      if (!result.success) issues.push(...issuesOf(file, i, kind, result.error));
      else operations.push({ kind, body: result.data } as MigrationOperation);
    });
  }
  if (issues.length === 0) issues.push(...crossChecks(file, operations));
  if (issues.length > 0) throw MigrationValidationError.aggregate(issues);
  return { name, file, operations, raw: doc };
}

/** Parses YAML or JSON text (by extension; YAML otherwise). */
export function parseMigrationText(text: string, file: string): Migration {
  let doc: unknown;
  try {
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new MigrationValidationError(
      file,
      null,
      '',
      `not valid ${extname(file) || 'YAML'}: ${(err as Error).message}`,
    );
  }
  return parseMigration(doc, file);
}

/** Reads and parses one migration file. */
export function loadMigrationFile(path: string): Migration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MigrationValidationError(path, null, '', `cannot read the file: ${(err as Error).message}`);
  }
  return parseMigrationText(text, path);
}
