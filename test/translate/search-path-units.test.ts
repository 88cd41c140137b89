/** The pure parts of search_path and string-rule handling, case by case. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parseSync } from 'libpg-query';
import { loadPgParser } from '../../src/dialects/postgres/translate/index.ts';
import { searchPathSchemas } from '../../src/dialects/postgres/translate/search-path.ts';
import { searchPathChanges } from '../../src/dialects/postgres/translate/search-path-change.ts';
import { standardStrings } from '../../src/dialects/postgres/translate/string-rules.ts';

before(() => loadPgParser());

test('search_path values read as the server reads them', () => {
  assert.deepEqual(searchPathSchemas('"$user", public', 'app'), ['pg_catalog', 'app', 'public']);
  assert.deepEqual(searchPathSchemas('Archive,"My ""S""" , public', null), [
    'pg_catalog',
    'archive',
    'My "S"',
    'public',
  ]);
  assert.deepEqual(searchPathSchemas('public, pg_catalog', null), ['public', 'pg_catalog']);
  assert.deepEqual(searchPathSchemas('"$user"', null), ['pg_catalog'], 'no role: $user names nothing');
  assert.deepEqual(searchPathSchemas('', null), ['pg_catalog']);
});

test('statements that change search_path, and how', () => {
  const changes = (sql: string) => searchPathChanges(parseSync(sql).stmts?.[0]?.stmt);
  assert.deepEqual(changes('SET LOCAL search_path = archive, "My S"'), [
    { kind: 'set', value: 'archive, "My S"', local: true },
  ]);
  assert.deepEqual(changes("SET search_path TO 'a, b'"), [{ kind: 'set', value: '"a, b"', local: false }]);
  assert.deepEqual(changes('RESET search_path'), [{ kind: 'set', value: null, local: false }]);
  assert.deepEqual(changes('RESET ALL'), [{ kind: 'reset-all' }]);
  assert.deepEqual(changes('DISCARD ALL'), [{ kind: 'reset-all' }]);
  assert.deepEqual(changes('DISCARD PLANS'), []);
  assert.deepEqual(changes("SELECT set_config('search_path', 'x, public', true)"), [
    { kind: 'set', value: 'x, public', local: true },
  ]);
  assert.deepEqual(changes("SELECT set_config('search_path', $1, false)"), [{ kind: 'unknown' }]);
  assert.deepEqual(changes("SELECT set_config('app.tenant', $1, false)"), []);
  assert.deepEqual(changes('SET work_mem = 1024'), []);
});

test('backslash-escaped quotes become doubled quotes, byte for byte in place', () => {
  const read = (sql: string) => standardStrings(Buffer.from(sql))?.toString() ?? null;
  assert.equal(read("SELECT 'O\\'Brien'"), "SELECT 'O''Brien'");
  assert.equal(read("SELECT N'a\\'b', 'c\\\\', 'd'"), "SELECT N'a''b', 'c\\\\', 'd'");
  assert.equal(read("SELECT 'x\\\\' AS a, 'y'"), null, 'an escaped backslash then the closing quote');
  assert.equal(read("SELECT E'a\\'b', $$c\\'d$$, \"e\\\" FROM t -- f\\'g"), null, 'only plain constants');
  assert.equal(read('SELECT 1'), null);
  const sql = "SELECT 'é\\'ü' FROM t";
  assert.equal(Buffer.byteLength(read(sql)!), Buffer.byteLength(sql));
});
