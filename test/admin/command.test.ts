/** The admin command and version-binding parsers on their own. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayBeAdminCommand, parseAdminCommand } from '../../src/admin/command.ts';
import { ClientError } from '../../src/proxy/client-error.ts';
import { parseVersionSet } from '../../src/proxy/version-binding.ts';

describe('admin command parser', () => {
  const cases: [string, unknown][] = [
    ['SHOW SHIFTGATE STATUS', { kind: 'show-status' }],
    ['show shiftgate migrations;', { kind: 'show-migrations' }],
    ['  Show  ShiftGate  Sessions  ', { kind: 'show-sessions' }],
    ['SHOW SHIFTGATE PROXIES', { kind: 'show-proxies' }],
    ["SHIFTGATE START 'add_email'", { kind: 'start', name: 'add_email' }],
    ['shiftgate start 02_rename', { kind: 'start', name: '02_rename' }],
    ['SHIFTGATE START "quoted.name"', { kind: 'start', name: 'quoted.name' }],
    ['SHIFTGATE PAUSE', { kind: 'pause' }],
    ['SHIFTGATE RESUME;', { kind: 'resume' }],
    ['SHIFTGATE SET max_batch = 500', { kind: 'set', knob: 'max_batch', value: '500' }],
    ["SHIFTGATE SET latency_headroom TO '1.5'", { kind: 'set', knob: 'latency_headroom', value: '1.5' }],
    ['SHIFTGATE COMPLETE', { kind: 'complete', force: false }],
    ['SHIFTGATE COMPLETE FORCE', { kind: 'complete', force: true }],
    ['SHIFTGATE ROLLBACK', { kind: 'rollback' }],
    ['-- psql keeps script comments\nSHIFTGATE PAUSE', { kind: 'pause' }],
    ['/* leading */ SHOW SHIFTGATE STATUS -- trailing', { kind: 'show-status' }],
    ['SHOW SHIFTGATE SESSIONS # as the mysql client writes it', { kind: 'show-sessions' }],
    ['SELECT 1', null],
    ["SELECT 'shiftgate' AS name", null],
    ['SHOW search_path', null],
  ];
  for (const [sql, expected] of cases) {
    test(JSON.stringify(sql), () => assert.deepEqual(parseAdminCommand(sql), expected));
  }

  for (const bad of [
    'SHIFTGATE',
    'SHIFTGATE FROBNICATE',
    'SHOW SHIFTGATE',
    "SHIFTGATE START 'a' 'b'",
    'SHIFTGATE SET = 1',
    'SHIFTGATE COMPLETE NOW',
  ]) {
    test(`syntax error: ${bad}`, () => {
      assert.throws(
        () => parseAdminCommand(bad),
        (e) =>
          e instanceof ClientError &&
          e.sqlstate === '42601' &&
          e.mysqlErrno === 1064 &&
          /SHOW SHIFTGATE STATUS/.test(e.hint ?? ''),
      );
    });
  }

  test('a very long text is never parsed with the regular expressions', () => {
    const started = performance.now();
    assert.throws(() => parseAdminCommand(`SHIFTGATE ${' '.repeat(100_000)}x`), ClientError);
    assert.equal(parseAdminCommand(`SELECT '${'shiftgate '.repeat(10_000)}'`), null);
    assert.ok(performance.now() - started < 200);
  });

  test('the byte prefilter finds every command and passes ordinary statements', () => {
    const has = (s: string) => mayBeAdminCommand(Buffer.from(s), 0, Buffer.byteLength(s));
    for (const [sql, expected] of cases) if (expected) assert.ok(has(sql), sql);
    assert.equal(has('SELECT * FROM users WHERE id = $1'), false);
    assert.equal(has('UPDATE accounts SET balance = balance - 1'), false);
  });
});

describe('version binding statements', () => {
  const cases: [string, unknown][] = [
    ["SET shiftgate.version = 'add_email'", { version: 'add_email' }],
    ['set session shiftgate.version to 02_rename;', { version: '02_rename' }],
    ['SET shiftgate.version = "it""s"', { version: 'it"s' }],
    ["SET shiftgate.version = 'o''k'", { version: "o'k" }],
    ['SET shiftgate.version = DEFAULT', { version: null }],
    ['RESET shiftgate.version', { version: null }],
    ["SET search_path = 'x'", undefined],
    ["SELECT set_config('shiftgate.version', 'x', false)", undefined],
  ];
  for (const [sql, expected] of cases) {
    test(JSON.stringify(sql), () => assert.deepEqual(parseVersionSet(sql), expected));
  }
  test('SET LOCAL is refused: a binding lasts for the session', () => {
    assert.throws(
      () => parseVersionSet("SET LOCAL shiftgate.version = 'x'"),
      (e) => e instanceof ClientError && e.sqlstate === '0A000',
    );
  });
});
