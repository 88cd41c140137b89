/**
 * The dashboard's pure parts: the series ring keeps the latest points in
 * order, the phase log draws forward and rollback timelines, engine
 * errors lose their literals and URLs before the API shows them, and a
 * state read that does not come back is given up on in time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskError } from '../../src/dashboard/mask-error.ts';
import { PhaseLog } from '../../src/dashboard/phase-log.ts';
import { type SeriesPoint, SeriesRing } from '../../src/dashboard/series.ts';
import { within } from '../../src/dashboard/within.ts';

const point = (t: number): SeriesPoint => ({
  t,
  p50Ms: 1,
  p99Ms: 2,
  statements: 3,
  rowsPerSecond: null,
  rowsDone: null,
  baselineP99Ms: null,
  throttled: false,
  throttleReason: null,
  migration: null,
  phase: null,
});

test('the series ring keeps the latest points, oldest first, and answers since=', () => {
  const ring = new SeriesRing(3);
  assert.deepEqual(ring.list(), []);
  for (const t of [1000, 2000, 3000, 4000, 5000]) ring.push(point(t));
  assert.equal(ring.length, 3);
  assert.deepEqual(
    ring.list().map((p) => p.t),
    [3000, 4000, 5000],
  );
  assert.deepEqual(
    ring.list(4000).map((p) => p.t),
    [5000],
  );
});

test('a forward timeline: done before the current phase, dates from the record and from watching', () => {
  const log = new PhaseLog();
  log.observe('m', 'backfilling', Date.parse('2026-01-01T00:00:05Z'));
  log.observe('m', 'backfilling', Date.parse('2026-01-01T00:00:09Z'));
  const steps = log.timeline('m', 'backfilling', {
    createdAt: new Date('2026-01-01T00:00:00Z'),
    activeAt: null,
    completedAt: null,
  });
  assert.deepEqual(
    steps.map((s) => `${s.phase}:${s.state}:${s.at ?? '-'}`),
    [
      'pending:done:2026-01-01T00:00:00.000Z',
      'expanding:done:-',
      'backfilling:current:2026-01-01T00:00:05.000Z',
      'validating:todo:-',
      'active:todo:-',
      'contracting:todo:-',
      'completed:todo:-',
    ],
  );
});

test('a rollback timeline goes through the phases known to be reached, then rolls back', () => {
  const log = new PhaseLog();
  log.observe('m', 'backfilling');
  log.observe('m', 'rolling_back');
  const steps = log.timeline('m', 'rolled_back', {
    createdAt: new Date(),
    activeAt: null,
    completedAt: null,
  });
  assert.deepEqual(
    steps.map((s) => `${s.phase}:${s.state}`),
    ['pending:done', 'expanding:done', 'backfilling:done', 'rolling_back:done', 'rolled_back:done'],
  );
  const fromActive = log.timeline('other', 'rolling_back', {
    createdAt: new Date(),
    activeAt: new Date(),
    completedAt: null,
  });
  assert.deepEqual(
    fromActive.map((s) => s.phase),
    ['pending', 'expanding', 'backfilling', 'validating', 'active', 'rolling_back', 'rolled_back'],
  );
  assert.equal(fromActive.at(-2)!.state, 'current');
});

test('engine errors shown by the API lose literals, dollar quotes and URLs', () => {
  assert.equal(maskError(null), null);
  assert.equal(
    maskError(`operation 2 (sql): syntax error in "UPDATE t SET a = 'secret' WHERE b = 'it''s'"`),
    `operation 2 (sql): syntax error in "UPDATE t SET a = '…' WHERE b = '…'"`,
  );
  assert.equal(maskError('body $fn$ SELECT 1 $fn$ failed'), 'body $…$ failed');
  assert.equal(maskError('cannot reach postgres://app:pw@db/app now'), 'cannot reach <url> now');
  assert.equal(maskError('x'.repeat(400))!.length, 301);
});

test('a read that does not come back in time is given up on; one that does is passed through', async () => {
  assert.equal(await within(Promise.resolve(7), 50), 7);
  const started = Date.now();
  await assert.rejects(within(new Promise(() => {}), 50), /no answer from the database within 50 ms/);
  assert.ok(Date.now() - started < 1000);
  await assert.rejects(within(Promise.reject(new Error('boom')), 50), /boom/);
});
