/**
 * What the MySQL session reads from client text to follow how the server
 * will read later statements: the database of a `USE`, and texts that may
 * change sql_mode.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayChangeSqlMode, useStatementDatabase } from '../../src/dialects/mysql/session-sql-state.ts';

describe('MySQL session SQL state', () => {
  test('USE names one database, plain or backquoted', () => {
    assert.equal(useStatementDatabase('USE app'), 'app');
    assert.equal(useStatementDatabase('  use `my``db` ; '), 'my`db');
    assert.equal(useStatementDatabase('USE app; SELECT 1'), null, 'not one USE statement');
    assert.equal(useStatementDatabase('SELECT 1'), null);
    assert.equal(useStatementDatabase('USER()'), null);
  });

  test('a SET naming sql_mode may change it; reading it does not', () => {
    assert.equal(mayChangeSqlMode("SET SESSION sql_mode = 'ANSI_QUOTES'"), true);
    assert.equal(mayChangeSqlMode("SET @@sql_mode = CONCAT(@@sql_mode, ',ANSI')"), true);
    assert.equal(mayChangeSqlMode('SELECT @@sql_mode'), false);
    assert.equal(mayChangeSqlMode('SET NAMES utf8mb4'), false);
  });
});
