/** Each worker of `proxy.workers` gets a fleet peer port of its own. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { workerConfig } from '../../src/cli/serve-worker.ts';
import { loadConfig } from '../../src/config/load.ts';

describe('workerConfig', () => {
  test('a fixed fleet.peer_listen port is worker 1’s; worker N takes the Nth port from it', () => {
    const config = loadConfig({ env: { SHIFTGATE_FLEET_PEER_LISTEN: '[::1]:7000' } });
    assert.equal(workerConfig(config, 1).fleet.peer_listen, '[::1]:7000');
    assert.equal(workerConfig(config, 3).fleet.peer_listen, '[::1]:7002');
    assert.equal(config.fleet.peer_listen, '[::1]:7000', 'the loaded config is not changed');
  });

  test('no peer_listen, or port 0: every worker lets the system pick its port', () => {
    for (const env of [{}, { SHIFTGATE_FLEET_PEER_LISTEN: '127.0.0.1:0' }]) {
      const config = loadConfig({ env });
      assert.equal(workerConfig(config, 2), config);
    }
  });
});
