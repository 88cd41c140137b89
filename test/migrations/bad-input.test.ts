/**
 * Every malformed file fails validation with an error that names the file,
 * the operation index and the field, and the database is left untouched:
 * same schema fingerprint, and not even the `shiftgate` state schema created.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MigrationValidationError } from '../../src/migrations/errors.ts';
import { loadMigrationFile } from '../../src/migrations/parse.ts';
import { type MigrationDb, migrationDb, rows } from './helpers/db.ts';
import { fingerprint } from './helpers/fingerprint.ts';

const dir = join(import.meta.dirname, 'fixtures/bad');
const files = readdirSync(dir).sort();

/** Expectations live in each YAML file's first line (`# expect: OP FIELD`); JSON cannot hold comments. */
const JSON_EXPECT: Record<string, [number | null, string]> = {
  '05_wrong_type_index_columns.json': [0, 'create_index.columns'],
};

function expectation(file: string): [number | null, string] {
  const known = JSON_EXPECT[file];
  if (known) return known;
  const m = /^# expect: (\S+) (\S+)/.exec(readFileSync(join(dir, file), 'utf8'));
  assert.ok(m, `${file} has no "# expect:" line`);
  return [m[1] === '-' ? null : Number(m[1]), m[2] === '(none)' ? '' : m[2]!];
}

describe('malformed migration files', () => {
  let db: MigrationDb;
  let clean: unknown;

  before(async () => {
    db = await migrationDb('bad_input');
    await db.sql.query(`CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL,
                          email text CONSTRAINT users_email_check CHECK (email LIKE '%@%'));
                        CREATE INDEX users_name_idx ON users (name);
                        CREATE TABLE nokey (a int, b int);`);
    clean = await fingerprint(db.sql);
  });
  after(() => db.close());

  it('has at least 20 of them', () => {
    assert.ok(files.length >= 20, `${files.length} files`);
  });

  for (const file of files) {
    it(`rejects ${file}`, async () => {
      const [op, field] = expectation(file);
      const path = join(dir, file);
      const engine = await db.engine();
      let error: unknown;
      try {
        await engine.start(loadMigrationFile(path));
      } catch (err) {
        error = err;
      }
      assert.ok(
        error instanceof MigrationValidationError,
        `expected a MigrationValidationError, got ${error}`,
      );
      assert.equal(error.file, path);
      assert.equal(error.op, op);
      assert.equal(error.field, field);
      assert.ok(error.message.startsWith(path));
      if (op !== null) assert.match(error.message, new RegExp(`operation ${op}: `));
      if (field) assert.ok(error.message.includes(field), error.message);
      assert.deepEqual(await fingerprint(db.sql), clean);
      assert.deepEqual(await rows(db.sql, `SELECT to_regnamespace('shiftgate') AS s`), [{ s: null }]);
    });
  }

  it('rejects a file that is not YAML at all, naming the file', async () => {
    // Kept out of fixtures/ because the repository's formatter parses every YAML file there.
    const path = join(mkdtempSync(join(tmpdir(), 'shiftgate-')), '30_broken.yaml');
    writeFileSync(path, 'operations:\n  - add_column: { table: users, column: { name: age, type: int\n');
    const error = await db
      .engine()
      .then((e) => e.start(loadMigrationFile(path)))
      .catch((err: unknown) => err);
    assert.ok(error instanceof MigrationValidationError);
    assert.equal(error.file, path);
    assert.equal(error.op, null);
    assert.match(error.message, /30_broken\.yaml: not valid \.yaml/);
    assert.deepEqual(await fingerprint(db.sql), clean);
  });

  it('shiftgate validate reports every file, operation and field', () => {
    const root = join(import.meta.dirname, '../..');
    const paths = files.map((f) => join(dir, f));
    const offline = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'validate', ...paths],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(offline.status, 1);
    // Without a database the structural problems are found; the ones that need the schema are not.
    assert.match(offline.stdout, /12_not_null_without_default_or_up\.yaml: operation 0: add_column\.up: /);
    assert.match(offline.stdout, /01_unknown_operation\.yaml: operation 0: add_colum: unknown operation/);
    assert.doesNotMatch(offline.stdout, /06_unknown_table/);
    for (const file of files.filter((f) => /^(06|07|10|17|19|21|26)_/.test(f))) {
      const online = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'validate', join(dir, file), '--upstream', db.url],
        { cwd: root, encoding: 'utf8' },
      );
      const [op, field] = expectation(file);
      assert.equal(online.status, 1, online.stdout + online.stderr);
      assert.ok(online.stdout.includes(`${file}: operation ${op}: ${field}: `), online.stdout);
    }
  });
});
