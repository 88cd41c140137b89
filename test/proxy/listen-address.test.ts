/** HOST:PORT handling, and the host other proxies of the fleet reach a listener at. */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { formatHostPort, parseHostPort, reachableHost } from '../../src/proxy/listen-address.ts';

describe('listen addresses', () => {
  test('a configured advertised host wins; a concrete bound host is kept', () => {
    assert.equal(reachableHost('0.0.0.0', 'proxy-a.internal'), 'proxy-a.internal');
    assert.equal(reachableHost('127.0.0.1', 'proxy-a.internal'), 'proxy-a.internal');
    assert.equal(reachableHost('10.1.2.3', null), '10.1.2.3');
    assert.equal(reachableHost('::1', null), '::1');
  });

  test('a wildcard host becomes an address of this machine another process can connect to', () => {
    const own = new Set(
      Object.values(networkInterfaces())
        .flat()
        .map((a) => a?.address),
    );
    for (const wildcard of ['0.0.0.0', '::', '']) {
      const host = reachableHost(wildcard, null);
      assert.ok(host === '127.0.0.1' || own.has(host), `${wildcard} -> ${host}`);
      assert.notEqual(host, wildcard);
    }
  });

  test('formatHostPort brackets IPv6 hosts so parseHostPort reads them back', () => {
    assert.equal(formatHostPort('10.0.0.5', 7001), '10.0.0.5:7001');
    assert.equal(formatHostPort('fe80::1', 7001), '[fe80::1]:7001');
    assert.deepEqual(parseHostPort(formatHostPort('fe80::1', 7001)), { host: 'fe80::1', port: 7001 });
  });
});
