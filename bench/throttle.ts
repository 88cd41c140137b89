/**
 * `npm run bench:throttle`: does the latency-aware throttle keep a backfill
 * from hurting the application?
 *
 * In one run, on a throwaway database with two identical tables of N rows,
 * through one `shiftgate serve`, with a steady rate-limited pgbench load
 * (point SELECT + UPDATE by key, 4 clients, -R) on the table being
 * migrated, an add_column with `up` (a backfill of every row) runs twice:
 *   1. throttle on: the defaults (latency_headroom 1.2 x the baseline p99);
 *   2. throttle off: `SHIFTGATE SET latency_headroom = 1000000`, no
 *      max_client_p99_ms, so client latency never slows the backfill.
 * Each run: load alone for --before seconds, SHIFTGATE START, load until
 * the migration is active (or --max-backfill seconds), --after seconds more,
 * then SHIFTGATE ROLLBACK. SHOW SHIFTGATE STATUS is sampled every second.
 *
 * Prints, per run, client p50/p99 (pgbench per-transaction log, schedule lag
 * included) before and during the backfill, the ratio during / before
 * (goal with the throttle on: p99 <= 1.2x) and the backfill duration, and
 * writes an SVG chart (client p99 and backfill rows/s over time, both runs)
 * to bench/results/throttle-<timestamp>.svg.
 *
 * Usage: npm run bench:throttle -- [--rows 1000000] [--clients 4] [--rate 200]
 *          [--before 30] [--after 5] [--max-backfill 300] [--protocol extended]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPgDatabase } from '../test/helpers/databases.ts';
import { escapeXml, percentileSorted, resultsFile, startServe, withPort } from './lib/harness.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '4' },
    rate: { type: 'string', default: '200' },
    before: { type: 'string', default: '30' },
    after: { type: 'string', default: '5' },
    'max-backfill': { type: 'string', default: '300' },
    protocol: { type: 'string', default: 'extended' },
  },
});
const rows = Number(values.rows);
const clients = Number(values.clients);
const rate = Number(values.rate);
const beforeSeconds = Number(values.before);
const afterSeconds = Number(values.after);
const maxBackfillSeconds = Number(values['max-backfill']);
const protocol = values.protocol!;
/** The first seconds of load (connections, first parses) are not part of "before". */
const WARMUP_SECONDS = 5;
const HEADROOM_ON = 1.2;
const HEADROOM_OFF = 1_000_000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Sample {
  /** Seconds since SHIFTGATE START. */
  t: number;
  phase: string;
  rowsDone: number | null;
  rowsTotal: number | null;
  rowsPerS: number | null;
  batchSize: number | null;
  throttled: boolean;
  reason: string | null;
  clientP99Ms: number | null;
  baselineP99Ms: number | null;
}

interface Txn {
  /** Completion time, seconds since SHIFTGATE START. */
  t: number;
  /** Latency in ms, schedule lag included (what the client sees under -R). */
  ms: number;
}

interface RunResult {
  label: 'on' | 'off';
  table: string;
  samples: Sample[];
  txns: Txn[];
  /** Seconds since START. */
  backfillStart: number | null;
  backfillEnd: number | null;
  finished: boolean;
  rowsDone: number;
  loadEnd: number;
}

const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));

function statsOf(txns: Txn[], from: number, to: number) {
  const ms = txns
    .filter((x) => x.t >= from && x.t < to)
    .map((x) => x.ms)
    .sort((a, b) => a - b);
  return { n: ms.length, p50: percentileSorted(ms, 0.5), p99: percentileSorted(ms, 0.99) };
}

/** Reads pgbench's per-transaction logs (`<prefix>.<pid>` and `.<pid>.<thread>`). */
function readTxnLogs(dir: string, prefix: string, startEpochMs: number): Txn[] {
  const txns: Txn[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      // client_id transaction_no time script_no time_epoch time_us [schedule_lag]
      const f = line.split(' ');
      if (f.length < 6) continue;
      const us = Number(f[2]);
      const doneMs = Number(f[4]) * 1000 + Number(f[5]) / 1000;
      if (!Number.isFinite(us) || !Number.isFinite(doneMs)) continue;
      txns.push({ t: (doneMs - startEpochMs) / 1000, ms: us / 1000 });
    }
  }
  return txns.sort((a, b) => a.t - b.t);
}

function loadScript(table: string): string {
  return [
    `\\set id random(1, ${rows})`,
    '\\set delta random(-100, 100)',
    `SELECT customer, amount, note FROM ${table} WHERE id = :id;`,
    `UPDATE ${table} SET amount = amount + :delta WHERE id = :id;`,
    '',
  ].join('\n');
}

async function runOnce(
  label: 'on' | 'off',
  table: string,
  migration: string,
  dir: string,
  proxyUrl: string,
  admin: pg.Client,
): Promise<RunResult> {
  const headroom = label === 'on' ? HEADROOM_ON : HEADROOM_OFF;
  await admin.query(`SHIFTGATE SET latency_headroom = ${headroom}`);
  await admin.query('SHIFTGATE SET max_client_p99_ms = null');
  const prefix = `txn_${label}`;
  writeFileSync(join(dir, `${label}.sql`), loadScript(table));
  const loadStart = Date.now();
  const bench: ChildProcess = spawn(
    'pgbench',
    [
      '-n',
      '-M',
      protocol,
      '-f',
      join(dir, `${label}.sql`),
      '-c',
      String(clients),
      '-j',
      '2',
      '-R',
      String(rate),
      '-T',
      String(beforeSeconds + maxBackfillSeconds + afterSeconds + 120),
      '-l',
      `--log-prefix=${join(dir, prefix)}`,
      proxyUrl,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let benchErr = '';
  bench.stderr!.on('data', (d: Buffer) => {
    benchErr += d.toString();
  });
  const benchExit = new Promise<void>((r) => bench.once('exit', () => r()));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  console.log(
    `\n[throttle ${label}] ${table}: load alone for ${beforeSeconds} s (latency_headroom = ${headroom})`,
  );
  await sleep(beforeSeconds * 1000);
  if (bench.exitCode !== null) throw new Error(`pgbench exited early:\n${benchErr}`);

  const start = Date.now();
  const since = () => (Date.now() - start) / 1000;
  await admin.query(`SHIFTGATE START '${migration}'`);
  const samples: Sample[] = [];
  let backfillStart: number | null = null;
  let backfillEnd: number | null = null;
  let finished = false;
  let lastSample = -1;
  for (;;) {
    const r = (await admin.query('SHOW SHIFTGATE STATUS')).rows[0] as
      | Record<string, string | null>
      | undefined;
    const t = since();
    const phase = r?.phase ?? 'none';
    if (phase === 'backfilling' && backfillStart === null) backfillStart = t;
    if (backfillStart !== null && backfillEnd === null && phase !== 'backfilling') backfillEnd = t;
    if (Math.floor(t) > lastSample || phase === 'active') {
      lastSample = Math.floor(t);
      const s: Sample = {
        t,
        phase,
        rowsDone: num(r?.rows_done),
        rowsTotal: num(r?.rows_total),
        rowsPerS: num(r?.rows_per_s),
        batchSize: num(r?.batch_size),
        throttled: r?.throttled === 'true',
        reason: r?.throttle_reason ?? null,
        clientP99Ms: num(r?.client_p99_ms),
        baselineP99Ms: num(r?.baseline_p99_ms),
      };
      samples.push(s);
      if (lastSample % 5 === 0 || phase === 'active') {
        console.log(
          `  t=${t.toFixed(0).padStart(4)}s ${phase.padEnd(11)} rows ${fmt(s.rowsDone ?? 0)}/${fmt(s.rowsTotal ?? 0)}` +
            `  ${fmt(s.rowsPerS ?? 0)} rows/s  batch ${s.batchSize ?? '-'}  client p99 ${s.clientP99Ms ?? '-'} ms` +
            ` (baseline ${s.baselineP99Ms ?? '-'})  ${s.throttled ? `throttled: ${s.reason ?? ''}` : ''}`,
        );
      }
    }
    if (phase === 'active' || phase === 'none') {
      finished = phase === 'active';
      break;
    }
    if (t > maxBackfillSeconds) {
      console.log(`  backfill not finished after ${maxBackfillSeconds} s: stopping it (rollback)`);
      break;
    }
    if (bench.exitCode !== null) throw new Error(`pgbench exited during the backfill:\n${benchErr}`);
    await sleep(250);
  }
  if (backfillStart !== null && backfillEnd === null && finished) backfillEnd = since();
  const rowsDone = Math.max(0, ...samples.map((s) => s.rowsDone ?? 0));
  await sleep(afterSeconds * 1000);
  const loadEnd = since();
  // pgbench has no clean stop before -T: SIGINT loses at most the last buffered log lines (after the window).
  bench.kill('SIGINT');
  await benchExit;
  await admin.query('SHIFTGATE ROLLBACK');
  const txns = readTxnLogs(dir, prefix, start);
  if (txns.length === 0) throw new Error(`pgbench wrote no transaction log:\n${benchErr}`);
  if (/abort|error/i.test(benchErr)) console.log(`  pgbench stderr: ${benchErr.trim().slice(0, 500)}`);
  console.log(
    `  load ran ${((Date.now() - loadStart) / 1000).toFixed(0)} s, ${fmt(txns.length)} transactions logged; rolled back`,
  );
  return { label, table, samples, txns, backfillStart, backfillEnd, finished, rowsDone, loadEnd };
}

/** Per-second p99 of the client transactions, keyed by whole second since START. */
function p99PerSecond(txns: Txn[]): [number, number][] {
  const buckets = new Map<number, number[]>();
  for (const x of txns) {
    const s = Math.floor(x.t);
    const b = buckets.get(s);
    if (b) b.push(x.ms);
    else buckets.set(s, [x.ms]);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, ms]) => [
      s + 0.5,
      percentileSorted(
        ms.sort((a, b) => a - b),
        0.99,
      ),
    ]);
}

/** Backfill rows/s between consecutive STATUS samples (rows_done deltas). */
function rowsPerSecond(samples: Sample[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (a.rowsDone === null || b.rowsDone === null || b.t <= a.t) continue;
    out.push([(a.t + b.t) / 2, (b.rowsDone - a.rowsDone) / (b.t - a.t)]);
  }
  return out;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function svgChart(runs: RunResult[], title: string, headroomLine: number | null): string {
  const W = 960;
  const panelH = 260;
  const left = 70;
  const right = 20;
  const top = 50;
  const gap = 60;
  const H = top + 2 * panelH + gap + 60;
  const xMin = -beforeSeconds;
  const xMax = Math.max(...runs.map((r) => r.loadEnd));
  const x = (t: number) => left + ((t - xMin) / (xMax - xMin)) * (W - left - right);
  const colors = { on: '#1f77b4', off: '#d62728' } as const;
  const p99 = runs.map((r) => ({ r, pts: p99PerSecond(r.txns).filter(([t]) => t >= xMin + WARMUP_SECONDS) }));
  const rps = runs.map((r) => ({ r, pts: rowsPerSecond(r.samples) }));
  const allP99 = p99.flatMap((s) => s.pts.map(([, v]) => v)).sort((a, b) => a - b);
  // Cap the latency axis at the 99.5th percentile of the per-second values so one spike does not flatten the rest.
  const yMax1 = niceMax(Math.max(percentileSorted(allP99, 0.995), headroomLine ?? 0) * 1.1);
  const yMax2 = niceMax(Math.max(1, ...rps.flatMap((s) => s.pts.map(([, v]) => v))) * 1.05);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  );
  const panel = (
    y0: number,
    yMax: number,
    label: string,
    series: { r: RunResult; pts: [number, number][] }[],
    clip: boolean,
  ) => {
    const y = (v: number) => y0 + panelH - (Math.min(v, yMax) / yMax) * panelH;
    out.push(
      `<rect x="${left}" y="${y0}" width="${W - left - right}" height="${panelH}" fill="none" stroke="#999"/>`,
    );
    for (let i = 0; i <= 5; i++) {
      const v = (yMax * i) / 5;
      out.push(
        `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
        `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 100 ? fmt(v) : +v.toFixed(2)}</text>`,
      );
    }
    out.push(
      `<text x="16" y="${y0 + panelH / 2}" transform="rotate(-90 16 ${y0 + panelH / 2})" text-anchor="middle">${label}</text>`,
    );
    for (const { r } of series) {
      for (const t of [r.backfillStart, r.backfillEnd]) {
        if (t === null) continue;
        out.push(
          `<line x1="${x(t)}" x2="${x(t)}" y1="${y0}" y2="${y0 + panelH}" stroke="${colors[r.label]}" stroke-dasharray="4 3" opacity="0.6"/>`,
        );
      }
    }
    out.push(
      `<line x1="${x(0)}" x2="${x(0)}" y1="${y0}" y2="${y0 + panelH}" stroke="#555" stroke-dasharray="2 2"/>`,
    );
    for (const { r, pts } of series) {
      if (pts.length === 0) continue;
      const d = pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${colors[r.label]}" stroke-width="1.5"/>`);
      if (clip) {
        for (const [t, v] of pts) {
          if (v > yMax)
            out.push(
              `<text x="${x(t)}" y="${y0 + 10}" text-anchor="middle" fill="${colors[r.label]}" font-size="10">^${v.toFixed(0)}</text>`,
            );
        }
      }
    }
  };
  panel(top, yMax1, 'client p99 per second (ms)', p99, true);
  if (headroomLine !== null) {
    const yy = top + panelH - (Math.min(headroomLine, yMax1) / yMax1) * panelH;
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="${colors.on}" stroke-dasharray="8 4" opacity="0.7"/>`,
      `<text x="${W - right - 4}" y="${yy - 4}" text-anchor="end" fill="${colors.on}">1.2 x p99 before (throttle on)</text>`,
    );
  }
  const y2 = top + panelH + gap;
  panel(y2, yMax2, 'backfill rows/s', rps, false);
  for (let i = 0; i <= 10; i++) {
    const t = xMin + ((xMax - xMin) * i) / 10;
    out.push(
      `<text x="${x(t)}" y="${y2 + panelH + 16}" text-anchor="middle">${t.toFixed(0)}</text>`,
      `<text x="${x(t)}" y="${top + panelH + 16}" text-anchor="middle">${t.toFixed(0)}</text>`,
    );
  }
  out.push(
    `<text x="${W / 2}" y="${y2 + panelH + 36}" text-anchor="middle">seconds since SHIFTGATE START (dashed: START; coloured dashes: backfill start / end)</text>`,
  );
  let lx = left + 10;
  for (const r of runs) {
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${top - 12}" y2="${top - 12}" stroke="${colors[r.label]}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${top - 8}">throttle ${r.label}</text>`,
    );
    lx += 130;
  }
  out.push('</svg>');
  return out.join('\n');
}

async function main(): Promise<void> {
  const db = await createPgDatabase('bench_throttle');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-throttle-'));
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const runs: RunResult[] = [];
  try {
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    const t0 = Date.now();
    const tables = { on: 'orders_on', off: 'orders_off' } as const;
    for (const table of Object.values(tables)) {
      await setup.query(
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, customer int NOT NULL, amount int NOT NULL, note text NOT NULL)`,
      );
      await setup.query(
        `INSERT INTO ${table} SELECT g, g % 50000, g % 100000, md5(g::text) FROM generate_series(1, ${rows}) g`,
      );
      await setup.query(`VACUUM ANALYZE ${table}`);
    }
    await setup.end();
    console.log(
      `database ${db.name}: two tables of ${fmt(rows)} rows built in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    const migration = (label: string) => `bench_${label}_amount_cents`;
    for (const [label, table] of Object.entries(tables)) {
      writeFileSync(
        join(dir, `${migration(label)}.yaml`),
        [
          'operations:',
          '  - add_column:',
          `      table: ${table}`,
          '      column: { name: amount_cents, type: bigint, nullable: true }',
          '      up: "amount::bigint * 100"',
          '',
        ].join('\n'),
      );
    }
    serve = await startServe(db.url, ['--migrations', dir]);
    const proxyUrl = withPort(db.url, serve.port);
    const admin = new pg.Client({ connectionString: proxyUrl });
    await admin.connect();
    console.log(
      `load: pgbench -M ${protocol}, ${clients} clients, -R ${rate} tps (SELECT + UPDATE by key on the migrating table), through Shiftgate`,
    );
    console.log(
      `throttle on = default knobs (latency_headroom ${HEADROOM_ON}); throttle off = SHIFTGATE SET latency_headroom = ${HEADROOM_OFF}, max_client_p99_ms unset`,
    );
    try {
      for (const label of ['on', 'off'] as const) {
        runs.push(await runOnce(label, tables[label], migration(label), dir, proxyUrl, admin));
      }
    } finally {
      await admin.end();
    }

    console.log(
      `\nbackfill of ${fmt(rows)} rows (add_column with up) under a ${rate} tps load, ${clients} clients, -M ${protocol}`,
    );
    console.log(
      'throttle  before p50 / p99 ms   during p50 / p99 ms   p50 ratio  p99 ratio  backfill s  rows/s    throttled samples',
    );
    let headroomLine: number | null = null;
    for (const r of runs) {
      const before = statsOf(r.txns, -beforeSeconds + WARMUP_SECONDS, 0);
      const end = r.backfillEnd ?? r.samples.at(-1)?.t ?? 0;
      const during = statsOf(r.txns, r.backfillStart ?? 0, end);
      if (r.label === 'on') headroomLine = HEADROOM_ON * before.p99;
      const duration = r.backfillStart === null ? Number.NaN : end - r.backfillStart;
      const backfilling = r.samples.filter((s) => s.phase === 'backfilling');
      const throttled = backfilling.filter((s) => s.throttled).length;
      console.log(
        `${r.label.padEnd(9)} ${`${before.p50.toFixed(2)} / ${before.p99.toFixed(2)}`.padStart(17)}   ` +
          `${`${during.p50.toFixed(2)} / ${during.p99.toFixed(2)}`.padStart(19)}   ${(during.p50 / before.p50).toFixed(2).padStart(8)}x ` +
          `${(during.p99 / before.p99).toFixed(2).padStart(9)}x ${duration.toFixed(1).padStart(10)}${r.finished ? ' ' : '*'} ` +
          `${fmt(r.rowsDone / duration).padStart(7)}    ${throttled}/${backfilling.length}`,
      );
      console.log(
        `          (${fmt(before.n)} transactions before, ${fmt(during.n)} during; proxy baseline p99 ${
          r.samples.find((s) => s.baselineP99Ms !== null)?.baselineP99Ms ?? '-'
        } ms)`,
      );
      if (!r.finished)
        console.log(
          `          * not finished within ${maxBackfillSeconds} s: ${fmt(r.rowsDone)} of ${fmt(rows)} rows done`,
        );
      const reasons = new Map<string, number>();
      for (const s of backfilling.filter((s) => s.reason)) {
        const key = s.reason!.replace(/[\d.]+ms/g, 'Nms');
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
      for (const [reason, n] of reasons) console.log(`          throttle_reason x${n}: ${reason}`);
    }
    const on = runs.find((r) => r.label === 'on')!;
    const onBefore = statsOf(on.txns, -beforeSeconds + WARMUP_SECONDS, 0);
    const onDuring = statsOf(on.txns, on.backfillStart ?? 0, on.backfillEnd ?? on.loadEnd);
    console.log(
      `goal (throttle on: p99 during <= 1.2x before): ${onDuring.p99 / onBefore.p99 <= 1.2 ? 'met' : 'NOT met'} (${(onDuring.p99 / onBefore.p99).toFixed(2)}x)`,
    );

    const file = resultsFile('throttle', 'svg');
    writeFileSync(
      file,
      svgChart(
        runs,
        `Shiftgate backfill of ${fmt(rows)} rows under a ${rate} tps pgbench load: throttle on vs off`,
        headroomLine,
      ),
    );
    writeFileSync(
      file.replace(/\.svg$/, '.json'),
      JSON.stringify({
        rows,
        rate,
        clients,
        protocol,
        runs: runs.map(({ txns, ...r }) => ({ ...r, p99PerSecond: p99PerSecond(txns) })),
      }),
    );
    console.log(`chart: ${file}`);
  } catch (err) {
    if (serve) process.stderr.write(`\nshiftgate serve log:\n${serve.log().slice(-4000)}\n`);
    throw err;
  } finally {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

await main();
