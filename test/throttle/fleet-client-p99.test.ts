/**
 * The throttle's fleet-wide latency signal: the worst p99 among this
 * proxy's own and the other live proxies' fresh heartbeats, leaving out
 * stale heartbeats and proxies with too few statements.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { LiveProxy } from '../../src/fleet/heartbeat.ts';
import {
  heartbeatLatencyWindowS,
  type WorstClientP99Input,
  worstClientP99,
} from '../../src/throttle/fleet-client-p99.ts';
import { initialPace, paceStep } from '../../src/throttle/pace.ts';

function proxy(id: string, p99Ms: number | null, count: number, heartbeatAgeMs = 200): LiveProxy {
  return {
    id,
    host: 'h',
    listen: '127.0.0.1:1',
    peer: null,
    shiftgateVersion: '0',
    pid: 1,
    startedAt: new Date(0),
    sessions: [],
    latency: { windowSeconds: 5, count, p50Ms: p99Ms, p99Ms, buckets: [] },
    running: null,
    heartbeatAt: new Date(0),
    heartbeatAgeMs,
  };
}

const input = (over: Partial<WorstClientP99Input>): WorstClientP99Input => ({
  ownMs: 10,
  selfId: 'a',
  view: [],
  viewAgeMs: 100,
  heartbeatMs: 1000,
  minSamples: 20,
  ...over,
});

describe('worst client p99 of the fleet', () => {
  test('another proxy slower than this one is the worst, and named', () => {
    const view = [proxy('a', 1, 500), proxy('b', 80, 50), proxy('c', 40, 50)];
    assert.deepEqual(worstClientP99(input({ view })), { ms: 80, proxy: 'b' });
  });

  test("this proxy's own reading comes from its recorder, not its heartbeat; null names no proxy", () => {
    const view = [proxy('a', 500, 500), proxy('b', 5, 50)];
    assert.deepEqual(worstClientP99(input({ view })), { ms: 10, proxy: null });
  });

  test('a proxy with too few statements is left out', () => {
    const view = [proxy('b', 900, 19), proxy('c', 30, 20)];
    assert.deepEqual(worstClientP99(input({ view })), { ms: 30, proxy: 'c' });
  });

  test('a heartbeat older than three intervals (its age when read plus the time since) is left out', () => {
    const fresh = [proxy('b', 90, 50, 2500)];
    assert.deepEqual(worstClientP99(input({ view: fresh, viewAgeMs: 400 })), { ms: 90, proxy: 'b' });
    assert.deepEqual(worstClientP99(input({ view: fresh, viewAgeMs: 600 })), { ms: 10, proxy: null });
  });

  test('a heartbeat older than its own latency window says nothing of the last seconds', () => {
    const view = [proxy('b', 90, 50, 5500)];
    assert.deepEqual(worstClientP99(input({ view, heartbeatMs: 3000, viewAgeMs: 0 })), {
      ms: 10,
      proxy: null,
    });
  });

  test('no proxy with enough statements: null; only others: the worst of them', () => {
    assert.equal(worstClientP99(input({ ownMs: null, view: [proxy('b', 50, 3)] })), null);
    assert.deepEqual(worstClientP99(input({ ownMs: null, view: [proxy('b', 50, 30)] })), {
      ms: 50,
      proxy: 'b',
    });
  });
});

describe('pace law with fleet readings', () => {
  const knobs = loadConfig({ env: {} }).throttle;
  test('a cut on another proxy names it in the reason and the last change', () => {
    let state = initialPace(knobs);
    for (let i = 0; i < 3; i++) {
      state = paceStep(state, knobs, {
        nowMs: i * 1000,
        clientP99Ms: 200,
        clientP99Proxy: 'proxy-b',
        replicaLagMs: null,
        baselineP99Ms: 10,
        capacity: null,
      });
    }
    assert.equal(state.levelProxy, 'proxy-b');
    assert.match(state.reason ?? '', /^client p99 200ms on proxy proxy-b > 1\.2 x baseline 10ms$/);
    assert.match(state.lastChange ?? '', /^cut .* rows\/s: client p99 200ms on proxy proxy-b > /);
  });
});

test('the heartbeat latency window covers the intervals a heartbeat counts for, within what the recorder keeps', () => {
  assert.equal(heartbeatLatencyWindowS(1000, 60), 5);
  assert.equal(heartbeatLatencyWindowS(1600, 60), 5);
  // A 3 s heartbeat counts for up to 9 s: a 5 s summary would leave 4 s of statements unseen.
  assert.equal(heartbeatLatencyWindowS(3000, 60), 9);
  assert.equal(heartbeatLatencyWindowS(3000, 6), 6);
  // The window is what decides staleness too: a 3 s heartbeat 8 s old still counts.
  const fiveSeconds = proxy('b', 300, 100, 8000);
  const nineSeconds = { ...fiveSeconds, latency: { ...fiveSeconds.latency, windowSeconds: 9 } };
  assert.equal(worstClientP99(input({ view: [fiveSeconds], heartbeatMs: 3000 }))?.proxy, null);
  assert.equal(worstClientP99(input({ view: [nineSeconds], heartbeatMs: 3000 }))?.proxy, 'b');
});
