/** The restart schedule of a crashed worker: growing delays while crashes come close, a loop reported. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RestartBackoff } from '../../src/cli/restart-backoff.ts';

const policy = { firstDelayMs: 100, maxDelayMs: 500, loopCrashes: 5, loopWindowMs: 60_000 };

describe('RestartBackoff', () => {
  test('delays double up to the ceiling; the fifth crash within the window is a loop', () => {
    const backoff = new RestartBackoff(policy);
    assert.deepEqual(
      [0, 1000, 2000, 3000].map((t) => backoff.onCrash(t)),
      [100, 200, 400, 500],
    );
    assert.equal(backoff.onCrash(4000), null);
  });

  test('crashes older than the window are forgotten: a worker that crashes now and then is always restarted', () => {
    const backoff = new RestartBackoff(policy);
    for (let i = 0; i < 20; i++) assert.equal(backoff.onCrash(i * 61_000), 100, `crash ${i}`);
  });
});
