/**
 * The Grafana dashboard in config/: it parses, every panel queries
 * Prometheus, and every metric its expressions name is one a running proxy
 * exports, checked against a live /metrics scrape (histogram series by their
 * _bucket/_sum/_count names).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const FILE = new URL('../../config/grafana-dashboard.json', import.meta.url);

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

/** Metric names a scrape exports: every `# TYPE` line, histograms with their series suffixes. */
function exportedNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const m of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram' || m[2] === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${suffix}`);
    }
  }
  return names;
}

/** Names in a PromQL expression that are not exported: `shiftgate_` identifiers only (functions and labels are not metrics). */
function unknownMetrics(expr: string, exported: Set<string>): string[] {
  return [...expr.matchAll(/\bshiftgate_[a-z0-9_]+/g)].map((m) => m[0]).filter((n) => !exported.has(n));
}

describe('Grafana dashboard', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let exported: Set<string>;

  before(async () => {
    db = await createPgDatabase('grafana');
    sg = await startTestShiftgate(db.url, {}, { http: true });
    const res = await fetch(`${sg.httpUrl}/metrics`);
    assert.equal(res.status, 200);
    exported = exportedNames(await res.text());
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  test('the checker flags a name the proxy does not export', () => {
    assert.ok(exported.has('shiftgate_statement_duration_seconds_bucket'));
    assert.deepEqual(
      unknownMetrics('rate(shiftgate_rows_backfilled_total[1m]) / shiftgate_sessions', exported),
      ['shiftgate_rows_backfilled_total'],
    );
  });

  test('parses, and every expression names only exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as {
      title: string;
      uid: string;
      panels: Panel[];
    };
    assert.equal(dashboard.uid, 'shiftgate');
    assert.ok(dashboard.panels.length >= 8, `${dashboard.panels.length} panels`);
    const used = new Set<string>();
    const unknown: string[] = [];
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets && panel.targets.length > 0, `panel "${panel.title}" queries something`);
      for (const { expr } of panel.targets) {
        for (const m of expr.matchAll(/\bshiftgate_[a-z0-9_]+/g)) used.add(m[0]);
        unknown.push(...unknownMetrics(expr, exported).map((n) => `${panel.title}: ${n}`));
      }
    }
    assert.deepEqual(unknown, []);
    // The list: latency quantiles, backfill progress and rate, throttle by reason, sessions by version, protocol errors.
    for (const name of [
      'shiftgate_statement_duration_seconds_bucket',
      'shiftgate_backfill_rows_total',
      'shiftgate_backfill_rows_remaining',
      'shiftgate_throttle_active',
      'shiftgate_sessions',
      'shiftgate_protocol_errors_total',
      'shiftgate_migration_phase',
    ]) {
      assert.ok(used.has(name), `the dashboard shows ${name}`);
    }
  });
});
