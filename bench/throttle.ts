/**
 * `npm run bench:throttle`: the throttle's frontier. How much client latency
 * does each way of pacing a backfill cost, and how fast does the backfill
 * still go, across client loads?
 *
 * On a throwaway database with one table of N rows, for each client load
 * (a rate-limited pgbench: point SELECT + UPDATE by key on the table being
 * migrated, 4 clients, -R) and each throttle setting, an add_column with
 * `up` (a backfill of every row) runs through its own fresh `shiftgate
 * serve` (so the proxy's baseline is this load alone), then is rolled back
 * and the table vacuumed. Settings:
 *   none   no throttle: `controller: fixed`, batches toward 100 ms, up to 10,000 rows, no sleep
 *   pace   the pacing controller, default knobs (headroom 1.2)
 *   aimd   the previous controller, default knobs (headroom 1.2)
 *   ptosc  pt-online-schema-change's shape: chunks sized to take 0.5 s (--chunk-time), no sleep
 *   ghost  gh-ost's shape: fixed 1,000-row chunks, each followed by a sleep of
 *          --nice-ratio (1) x its own time
 *   pace@ghost  pace's small batches pinned (min_rate = max_rate) at the rate
 *          ghost reached at the same load: the client p99 each costs at one rate
 * A setting may add knob overrides: `pace+min-rate=50000+max-rate=50000`.
 * Each run: load alone for --before seconds, SHIFTGATE START, load until the
 * migration is active (or --max-backfill seconds), --after seconds more.
 * The highest load, `max`, is 75% of the throughput pgbench reaches
 * unthrottled through the proxy on this machine, measured first; fixed
 * loads above it are skipped (the machine cannot serve them).
 *
 * Prints per load and setting: client p50/p99 before and during the
 * backfill (pgbench per-transaction log, schedule lag included), the p99
 * ratio, backfill rows/s and its fraction of the unthrottled (`none`) rate
 * at the same load, and whether `pace` dominates each baseline (lower or
 * equal p99 ratio at a higher or equal fraction). Writes to bench/results/:
 * throttle-timeline-<ts>.svg (p99 and rows/s over time per setting at
 * --timeline-load), throttle-frontier-<ts>.svg and throttle-<ts>.json.
 *
 * Usage: npm run bench:throttle -- [--rows 1000000] [--loads 100,200,400,800,max]
 *          [--settings none,pace,aimd,ptosc,ghost,pace@ghost] [--clients 4] [--before 30]
 *          [--after 5] [--max-backfill 300] [--protocol extended] [--timeline-load 200]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPgDatabase } from '../test/helpers/databases.ts';
import { percentileSorted, pgbench, resultsFile, startServe, withPort } from './lib/harness.ts';
import {
  type FrontierPoint,
  frontierChart,
  type TimelineSeries,
  timelineChart,
} from './lib/throttle-charts.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    loads: { type: 'string', default: '100,200,400,800,max' },
    settings: { type: 'string', default: 'none,pace,aimd,ptosc,ghost,pace@ghost' },
    clients: { type: 'string', default: '4' },
    before: { type: 'string', default: '30' },
    after: { type: 'string', default: '5' },
    'max-backfill': { type: 'string', default: '300' },
    protocol: { type: 'string', default: 'extended' },
    'timeline-load': { type: 'string', default: '200' },
  },
});
const rows = Number(values.rows);
const clients = Number(values.clients);
const beforeSeconds = Number(values.before);
const afterSeconds = Number(values.after);
const maxBackfillSeconds = Number(values['max-backfill']);
const protocol = values.protocol!;
/** The first seconds of load (connections, first parses) are not part of "before". */
const WARMUP_SECONDS = 5;
/** `max` load: this share of the unthrottled throughput, so the load itself is not already saturated. */
const NEAR_LIMIT = 0.75;

/** Serve flags of each setting (config keys as flags; live knobs otherwise). */
const SETTINGS: Record<string, { flags: Record<string, string>; describe: string }> = {
  none: {
    flags: { controller: 'fixed' },
    describe: 'no throttle: batches toward 100 ms, at most 10,000 rows, back to back',
  },
  pace: { flags: { controller: 'pace' }, describe: 'pacing controller, default knobs' },
  aimd: { flags: { controller: 'aimd' }, describe: 'AIMD controller (the previous default), default knobs' },
  ptosc: {
    flags: { controller: 'fixed', 'target-batch-ms': '500', 'max-batch': '10000000' },
    describe: 'pt-osc shape: chunks sized to take 0.5 s, no sleep',
  },
  ghost: {
    flags: { controller: 'fixed', 'min-batch': '1000', 'max-batch': '1000', 'nice-ratio': '1' },
    describe: 'gh-ost shape: 1,000-row chunks, sleep 1 x chunk time after each',
  },
};

interface ParsedSetting {
  /** Serve flags: the named setting's, then the overrides. */
  flags: Record<string, string>;
  /** The setting whose rate at the same load this one is pinned at (`pace@ghost`), if any. */
  pinOf: string | null;
  describe: string;
}

/**
 * A setting: a named one, optionally followed by knob overrides,
 * `pace+min-rate=50000+max-rate=50000` (a pinned rate) or
 * `pace+pace-interval-ms=20`, to place single points on the frontier.
 * `pace@ghost` is pace pinned at the rate `ghost` reached at the same load
 * (run before it): the latency each way of delivering rows costs at one rate.
 */
function parseSetting(setting: string): ParsedSetting {
  const [named, ...overrides] = setting.split('+');
  const [name, pinOf] = named!.split('@');
  if (pinOf !== undefined && !SETTINGS[pinOf]) throw new Error(`setting "${setting}": no setting "${pinOf}"`);
  const base = SETTINGS[name!];
  if (!base) throw new Error(`unknown setting "${name}" (one of ${Object.keys(SETTINGS).join(', ')})`);
  const flags = { ...base.flags };
  for (const o of overrides) {
    const [k, v] = o.split('=');
    if (!k || v === undefined) throw new Error(`setting "${setting}": "${o}" is not knob=value`);
    flags[k] = v;
  }
  const describe = `${base.describe}${pinOf ? `, pinned at the rate ${pinOf} reached` : ''}${overrides.length ? `, ${overrides.join(', ')}` : ''}`;
  return { flags, pinOf: pinOf ?? null, describe };
}

/** Serve flags of a setting, pinned (start, min and max rate) at `pinAt` rows/s when given. */
function settingFlags(setting: string, pinAt: number | null): Record<string, string> {
  const flags = parseSetting(setting).flags;
  if (pinAt !== null) {
    const rate = String(Math.max(1, Math.round(pinAt)));
    Object.assign(flags, { 'start-rate': rate, 'min-rate': rate, 'max-rate': rate });
  }
  return flags;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));

interface Sample {
  /** Seconds since SHIFTGATE START. */
  t: number;
  phase: string;
  rowsDone: number | null;
  targetRate: number | null;
  reason: string | null;
  lastChange: string | null;
}

interface Txn {
  /** Completion time, seconds since SHIFTGATE START. */
  t: number;
  /** Latency in ms, schedule lag included (what the client sees under -R). */
  ms: number;
}

interface RunResult {
  load: number;
  setting: string;
  samples: Sample[];
  txns: Txn[];
  backfillStart: number | null;
  backfillEnd: number | null;
  finished: boolean;
  rowsDone: number;
  before: { n: number; p50: number; p99: number };
  during: { n: number; p50: number; p99: number };
  rowsPerS: number;
}

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

function loadScript(): string {
  return [
    `\\set id random(1, ${rows})`,
    '\\set delta random(-100, 100)',
    'SELECT customer, amount, note FROM orders WHERE id = :id;',
    'UPDATE orders SET amount = amount + :delta WHERE id = :id;',
    '',
  ].join('\n');
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

/** Backfill rows/s between STATUS samples about a second apart (rows_done deltas). */
function rowsPerSecond(samples: Sample[]): [number, number][] {
  const out: [number, number][] = [];
  let a = samples[0];
  for (const b of samples.slice(1)) {
    if (!a || a.rowsDone === null || b.rowsDone === null) {
      a = b;
      continue;
    }
    if (b.t - a.t < 0.9 && b.phase === 'backfilling') continue;
    out.push([(a.t + b.t) / 2, (b.rowsDone - a.rowsDone) / (b.t - a.t)]);
    a = b;
  }
  return out;
}

async function runOnce(
  dbUrl: string,
  dir: string,
  load: number,
  setting: string,
  index: number,
  pinAt: number | null,
): Promise<RunResult> {
  const migration = `bench_${index}_${load}_${setting.replace(/[^a-z0-9]+/gi, '_').slice(0, 40)}`;
  writeFileSync(
    join(dir, `${migration}.yaml`),
    [
      'operations:',
      '  - add_column:',
      '      table: orders',
      `      column: { name: amount_cents_${index}, type: bigint, nullable: true }`,
      '      up: "amount::bigint * 100"',
      '',
    ].join('\n'),
  );
  const flags = Object.entries(settingFlags(setting, pinAt)).flatMap(([k, v]) => [`--throttle-${k}`, v]);
  const serve = await startServe(dbUrl, ['--migrations', dir, ...flags]);
  const proxyUrl = withPort(dbUrl, serve.port);
  const admin = new pg.Client({ connectionString: proxyUrl });
  await admin.connect();
  const prefix = `txn_${index}`;
  const bench: ChildProcess = spawn(
    'pgbench',
    [
      '-n',
      '-M',
      protocol,
      '-f',
      join(dir, 'load.sql'),
      '-c',
      String(clients),
      '-j',
      '2',
      '-R',
      String(load),
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
  try {
    process.stdout.write(`  ${String(load).padStart(5)} tps  ${setting.padEnd(6)} `);
    await sleep(beforeSeconds * 1000);
    if (bench.exitCode !== null) throw new Error(`pgbench exited early:\n${benchErr}`);
    const start = Date.now();
    const since = () => (Date.now() - start) / 1000;
    await admin.query(`SHIFTGATE START '${migration}'`);
    const samples: Sample[] = [];
    let backfillStart: number | null = null;
    let backfillEnd: number | null = null;
    let finished = false;
    for (;;) {
      const r = (await admin.query('SHOW SHIFTGATE STATUS')).rows[0] as
        | Record<string, string | null>
        | undefined;
      const t = since();
      const phase = r?.phase ?? 'none';
      if (phase === 'backfilling' && backfillStart === null) backfillStart = t;
      if (backfillStart !== null && backfillEnd === null && phase !== 'backfilling') backfillEnd = t;
      samples.push({
        t,
        phase,
        rowsDone: num(r?.rows_done),
        targetRate: num(r?.target_rate),
        reason: r?.throttle_reason ?? null,
        lastChange: r?.last_change ?? null,
      });
      if (phase === 'active' || phase === 'none') {
        finished = phase === 'active';
        break;
      }
      if (t > maxBackfillSeconds) break;
      if (bench.exitCode !== null) throw new Error(`pgbench exited during the backfill:\n${benchErr}`);
      await sleep(250);
    }
    if (backfillStart !== null && backfillEnd === null) backfillEnd = since();
    const rowsDone = finished ? rows : Math.max(0, ...samples.map((s) => s.rowsDone ?? 0));
    await sleep(afterSeconds * 1000);
    // pgbench has no clean stop before -T: SIGINT loses at most the last buffered log lines (after the window).
    bench.kill('SIGINT');
    await benchExit;
    await admin.query('SHIFTGATE ROLLBACK');
    const txns = readTxnLogs(dir, prefix, start);
    if (txns.length === 0) throw new Error(`pgbench wrote no transaction log:\n${benchErr}`);
    const before = statsOf(txns, -beforeSeconds + WARMUP_SECONDS, 0);
    const during = statsOf(txns, backfillStart ?? 0, backfillEnd ?? since());
    const duration = (backfillEnd ?? 0) - (backfillStart ?? 0);
    const rowsPerS = duration > 0 ? rowsDone / duration : 0;
    console.log(
      `p99 ${before.p99.toFixed(1)} -> ${during.p99.toFixed(1)} ms (${(during.p99 / before.p99).toFixed(2)}x)  ` +
        `${fmt(rowsPerS)} rows/s over ${duration.toFixed(1)} s${finished ? '' : ' (stopped, not finished)'}`,
    );
    return {
      load,
      setting,
      samples,
      txns,
      backfillStart,
      backfillEnd,
      finished,
      rowsDone,
      before,
      during,
      rowsPerS,
    };
  } catch (err) {
    process.stderr.write(`\nshiftgate serve log:\n${serve.log().slice(-4000)}\n`);
    throw err;
  } finally {
    if (bench.exitCode === null) bench.kill('SIGINT');
    await admin.end().catch(() => {});
    await serve.stop();
  }
}

/** NEAR_LIMIT of the throughput pgbench reaches with no rate limit through the proxy, 10 s. */
async function nearLimitLoad(dbUrl: string, dir: string): Promise<number> {
  const serve = await startServe(dbUrl, ['--migrations', dir]);
  try {
    const r = await pgbench([
      '-n',
      '-M',
      protocol,
      '-f',
      join(dir, 'load.sql'),
      '-c',
      String(clients),
      '-j',
      '2',
      '-T',
      '10',
      withPort(dbUrl, serve.port),
    ]);
    const load = Math.round((NEAR_LIMIT * r.tps) / 10) * 10;
    console.log(`unthrottled through the proxy: ${fmt(r.tps)} tps; "max" load = ${fmt(load)} tps`);
    return load;
  } finally {
    await serve.stop();
  }
}

async function main(): Promise<void> {
  const db = await createPgDatabase('bench_throttle');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-throttle-'));
  const results: RunResult[] = [];
  try {
    const setup = new pg.Client({ connectionString: db.url });
    // Dropping the database on a failed run ends this session too: that must not hide the failure.
    setup.on('error', () => {});
    await setup.connect();
    const t0 = Date.now();
    await setup.query(
      'CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, amount int NOT NULL, note text NOT NULL)',
    );
    await setup.query(
      `INSERT INTO orders SELECT g, g % 50000, g % 100000, md5(g::text) FROM generate_series(1, ${rows}) g`,
    );
    await setup.query('VACUUM ANALYZE orders');
    // The build's dirty pages flushed now, not by a checkpoint during the first run's "before".
    await setup.query('CHECKPOINT');
    console.log(`database ${db.name}: ${fmt(rows)} rows built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    writeFileSync(join(dir, 'load.sql'), loadScript());
    const settings = values.settings!.split(',').map((s) => s.trim());
    const parsed = new Map(settings.map((s) => [s, parseSetting(s)]));
    for (const [s, { pinOf }] of parsed) {
      const at = pinOf === null ? -1 : settings.indexOf(pinOf);
      if (pinOf !== null && (at === -1 || at > settings.indexOf(s)))
        throw new Error(`setting "${s}" must come after "${pinOf}"`);
    }
    const asked = values.loads!.split(',').map((s) => s.trim());
    const limit = asked.includes('max') ? await nearLimitLoad(db.url, dir) : null;
    // A fixed load above the near-limit one is past what this machine serves: pgbench would only queue.
    const loads = asked
      .map((l) => (l === 'max' ? limit! : Number(l)))
      .filter((l, i, all) => all.indexOf(l) === i && (limit === null || l <= limit));
    const skipped = asked.filter((l) => l !== 'max' && limit !== null && Number(l) > limit);
    if (skipped.length > 0)
      console.log(`loads ${skipped.join(', ')} tps are above the near-limit load ${limit} tps here: skipped`);
    loads.sort((a, b) => a - b);
    console.log(
      `load: pgbench -M ${protocol}, ${clients} clients, -R <load> (SELECT + UPDATE by key on the migrating table), through Shiftgate`,
    );
    for (const [s, { describe }] of parsed) console.log(`  ${s.padEnd(6)} ${describe}`);
    let index = 0;
    for (const load of loads) {
      for (const setting of settings) {
        const { pinOf } = parsed.get(setting)!;
        const pinAt =
          pinOf === null
            ? null
            : (results.find((r) => r.load === load && r.setting === pinOf)?.rowsPerS ?? null);
        results.push(await runOnce(db.url, dir, load, setting, index++, pinAt));
        // Dead tuples of the rolled-back backfill would slow the next one: clear them.
        await setup.query('VACUUM orders');
        await setup.query('CHECKPOINT');
      }
    }
    await setup.end();

    // The table.
    console.log(
      `\nbackfill of ${fmt(rows)} rows (add_column with up) under pgbench -R <load>, ${clients} clients, -M ${protocol}`,
    );
    console.log(
      '  load  setting  before p99  during p99  p99 ratio  rows/s     fraction  backfill s  reasons (pace: last change)',
    );
    const points: FrontierPoint[] = [];
    for (const load of loads) {
      const atLoad = results.filter((r) => r.load === load);
      const free = atLoad.find((r) => r.setting === 'none')?.rowsPerS ?? null;
      for (const r of atLoad) {
        const ratio = r.during.p99 / r.before.p99;
        const fraction = free ? r.rowsPerS / free : Number.NaN;
        points.push({ setting: r.setting, load, fraction, p99Ratio: ratio });
        const duration = (r.backfillEnd ?? 0) - (r.backfillStart ?? 0);
        const cuts = r.samples.filter((s, i) => i > 0 && s.lastChange !== r.samples[i - 1]!.lastChange);
        console.log(
          `${String(load).padStart(6)}  ${r.setting.padEnd(7)} ${r.before.p99.toFixed(1).padStart(8)} ms ${r.during.p99.toFixed(1).padStart(8)} ms ` +
            `${ratio.toFixed(2).padStart(8)}x ${fmt(r.rowsPerS).padStart(9)} ${Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%`.padStart(9) : '        -'} ` +
            `${duration.toFixed(1).padStart(10)}${r.finished ? ' ' : '*'} ${r.setting === 'pace' ? `${cuts.length} rate changes seen` : ''}`,
        );
      }
      // Does pace dominate each baseline at this load?
      const pace = points.find((p) => p.setting === 'pace' && p.load === load);
      if (pace) {
        const verdicts = points
          .filter((p) => p.load === load && p.setting !== 'pace')
          .map((p) => {
            const better = pace.p99Ratio <= p.p99Ratio && pace.fraction >= p.fraction;
            const worse = pace.p99Ratio >= p.p99Ratio && pace.fraction <= p.fraction;
            return `${p.setting}: ${better ? 'pace dominates' : worse ? 'pace dominated' : pace.p99Ratio < p.p99Ratio ? 'trade-off (pace: lower p99)' : 'trade-off (pace: faster)'}`;
          });
        console.log(`        ${verdicts.join('; ')}`);
      }
      // pace pinned at a baseline's rate against that baseline: the p99 each costs at one rate.
      for (const pinned of points.filter((p) => p.load === load && p.setting.startsWith('pace@'))) {
        const of = points.find((p) => p.load === load && p.setting === pinned.setting.slice('pace@'.length));
        if (!of) continue;
        console.log(
          `        at ${pinned.setting.slice(5)}'s rate: pace ${pinned.p99Ratio.toFixed(2)}x p99 at ${(pinned.fraction * 100).toFixed(1)}%, ` +
            `${of.setting} ${of.p99Ratio.toFixed(2)}x at ${(of.fraction * 100).toFixed(1)}%: ` +
            `${pinned.p99Ratio <= of.p99Ratio && pinned.fraction >= 0.9 * of.fraction ? 'pace better' : 'pace not better'}`,
        );
      }
    }
    console.log('  * not finished within --max-backfill: rate over the rows done');
    const goalLoad = loads.includes(200) ? 200 : null;
    const goal = points.find((p) => p.setting === 'pace' && p.load === goalLoad);
    if (goal)
      console.log(
        `goal at 200 tps (pace: p99 <= 1.2x while >= 25% of the unthrottled rate): ${goal.p99Ratio <= 1.2 && goal.fraction >= 0.25 ? 'met' : 'NOT met'} (${goal.p99Ratio.toFixed(2)}x, ${(goal.fraction * 100).toFixed(1)}%)`,
      );

    const timelineLoad = loads.includes(Number(values['timeline-load']))
      ? Number(values['timeline-load'])
      : loads[0]!;
    const series: TimelineSeries[] = results
      .filter((r) => r.load === timelineLoad)
      .map((r) => ({
        setting: r.setting,
        p99: p99PerSecond(r.txns).filter(([t]) => t >= -10),
        rowsPerS: rowsPerSecond(r.samples),
        backfillStart: r.backfillStart,
        backfillEnd: r.backfillEnd,
      }));
    const reference = results.find((r) => r.load === timelineLoad && r.setting === 'pace') ?? results[0]!;
    const timeline = resultsFile('throttle-timeline', 'svg');
    writeFileSync(
      timeline,
      timelineChart(
        series,
        `Backfill of ${fmt(rows)} rows under ${timelineLoad} tps: client p99 and backfill rate per setting`,
        -10,
        1.2 * reference.before.p99,
      ),
    );
    const frontier = timeline.replace('throttle-timeline', 'throttle-frontier');
    writeFileSync(
      frontier,
      frontierChart(
        points.filter((p) => Number.isFinite(p.fraction)),
        `Throttle frontier, ${fmt(rows)} rows, loads ${loads.join(', ')} tps: p99 cost against backfill speed`,
      ),
    );
    writeFileSync(
      timeline.replace('throttle-timeline', 'throttle').replace(/\.svg$/, '.json'),
      JSON.stringify({
        rows,
        clients,
        protocol,
        loads,
        settings,
        points,
        runs: results.map(({ txns, ...r }) => ({ ...r, p99PerSecond: p99PerSecond(txns) })),
      }),
    );
    console.log(`charts: ${timeline}\n        ${frontier}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

await main();
