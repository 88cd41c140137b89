/** The config: one schema, defaults for every key, environment and flag overrides, errors naming the key. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, configKeys, loadConfig } from '../../src/config/load.ts';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'shiftgate-config-')), 'shiftgate.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config', () => {
  test('the shipped config/shiftgate.yaml validates and equals the built-in defaults', () => {
    assert.deepEqual(
      loadConfig({ file: 'config/shiftgate.yaml', explicitFile: true, env: {} }),
      loadConfig({ env: {} }),
    );
  });

  test('every key has an environment variable and a flag derived from its path', () => {
    const paths = configKeys.map((k) => k.path);
    for (const path of [
      'upstream',
      'listen',
      'http',
      'migrations',
      'admin.users',
      'tls.cert',
      'throttle.max_client_p99_ms',
    ]) {
      assert.ok(paths.includes(path), path);
    }
    const p99 = configKeys.find((k) => k.path === 'throttle.max_client_p99_ms')!;
    assert.equal(p99.env, 'SHIFTGATE_THROTTLE_MAX_CLIENT_P99_MS');
    assert.equal(p99.flag, '--throttle-max-client-p99-ms');
  });

  test('precedence: flag over environment over file over default', () => {
    const file = yamlFile('listen: 127.0.0.1:7000\nthrottle: { min_batch: 5 }\nadmin: { users: [alice] }\n');
    const fromFile = loadConfig({ file, env: {} });
    assert.equal(fromFile.listen, '127.0.0.1:7000');
    assert.equal(fromFile.throttle.min_batch, 5);
    assert.equal(fromFile.throttle.max_batch, 10000, 'unset keys keep their default');
    const fromEnv = loadConfig({
      file,
      env: { SHIFTGATE_LISTEN: '127.0.0.1:7001', SHIFTGATE_ADMIN_USERS: 'bob, carol' },
    });
    assert.equal(fromEnv.listen, '127.0.0.1:7001');
    assert.deepEqual(fromEnv.admin.users, ['bob', 'carol']);
    const fromFlag = loadConfig({
      file,
      env: { SHIFTGATE_LISTEN: '127.0.0.1:7001' },
      flags: { listen: '127.0.0.1:7002' },
    });
    assert.equal(fromFlag.listen, '127.0.0.1:7002');
  });

  test('proxy.version_rules: a list from the file, or JSON from the environment or a flag', () => {
    const rules = [
      { user: 'app', version: '02_split' },
      { application_name: 'worker', version: '01_x' },
    ];
    const file = yamlFile('proxy:\n  version_rules:\n    - { user: app, version: 02_split }\n');
    assert.deepEqual(loadConfig({ file, env: {} }).proxy.version_rules, [rules[0]]);
    const json = JSON.stringify(rules);
    assert.deepEqual(loadConfig({ env: { SHIFTGATE_PROXY_VERSION_RULES: json } }).proxy.version_rules, rules);
    assert.deepEqual(
      loadConfig({ env: {}, flags: { 'proxy.version_rules': json } }).proxy.version_rules,
      rules,
    );
    assert.throws(
      () => loadConfig({ env: { SHIFTGATE_PROXY_VERSION_RULES: '[{user: app}]' } }),
      /invalid config key 'proxy\.version_rules' \(environment SHIFTGATE_PROXY_VERSION_RULES\): expected JSON/,
    );
    assert.throws(
      () => loadConfig({ env: {}, flags: { 'proxy.version_rules': '[{"user":"app"}]' } }),
      /invalid config key 'proxy\.version_rules\.0\.version'/,
    );
  });

  test("proxy.workers: a count from the file, the environment or a flag, or 'auto'", () => {
    assert.equal(loadConfig({ env: {} }).proxy.workers, 1);
    assert.equal(loadConfig({ file: yamlFile('proxy: { workers: 3 }\n'), env: {} }).proxy.workers, 3);
    assert.equal(loadConfig({ env: { SHIFTGATE_PROXY_WORKERS: '2' } }).proxy.workers, 2);
    assert.equal(loadConfig({ env: {}, flags: { 'proxy.workers': 'auto' } }).proxy.workers, 'auto');
  });

  const invalid: [string, () => unknown, string][] = [
    [
      'a wrong type in the file',
      () => loadConfig({ file: yamlFile('throttle: { min_batch: lots }\n'), env: {} }),
      'throttle.min_batch',
    ],
    ['an unknown key', () => loadConfig({ file: yamlFile('thrott1e: {}\n'), env: {} }), 'thrott1e'],
    [
      'an unknown nested key',
      () => loadConfig({ file: yamlFile('tls: { certificate: x }\n'), env: {} }),
      'tls',
    ],
    ['a bad upstream scheme', () => loadConfig({ env: { SHIFTGATE_UPSTREAM: 'oracle://db' } }), 'upstream'],
    [
      'a non-numeric environment value',
      () => loadConfig({ env: { SHIFTGATE_THROTTLE_MAX_BATCH: 'many' } }),
      'throttle.max_batch',
    ],
    ['no workers', () => loadConfig({ env: { SHIFTGATE_PROXY_WORKERS: '0' } }), 'proxy.workers'],
    [
      'a worker count that is no number',
      () => loadConfig({ file: yamlFile('proxy: { workers: two }\n'), env: {} }),
      'proxy.workers',
    ],
    ['a bad listen address flag', () => loadConfig({ env: {}, flags: { listen: 'localhost' } }), 'listen'],
    [
      'a missing explicit file',
      () => loadConfig({ file: '/nonexistent/shiftgate.yaml', explicitFile: true, env: {} }),
      '(file)',
    ],
  ];
  for (const [name, load, key] of invalid) {
    test(`${name} is a ConfigError naming the key`, () => {
      assert.throws(load, (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.ok(e.key.includes(key), `key ${e.key} should name ${key}`);
        assert.match(e.message, new RegExp(key.replace(/[().]/g, '\\$&')));
        return true;
      });
    });
  }
});
