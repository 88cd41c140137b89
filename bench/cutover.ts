/**
 * `npm run bench:cutover`: what do clients see during a whole migration,
 * start to finish, and above all at the switch?
 *
 * In one run, on a throwaway database, through one `shiftgate serve`, for
 * each operation kind (add_column with up, alter_column type change,
 * rename_column, rename_table) a migration runs twice on a table of its
 * own: START ... active ... COMPLETE, and START ... active ... ROLLBACK.
 * Around it a steady load runs on the migrating table, from sessions of
 * each version in both protocols:
 *   - old-version sessions (they name no version, so they bind to the one
 *     before the migration) from before START until the switch: until
 *     COMPLETE they stop just before it, as a finished deploy retires them;
 *     across ROLLBACK they run on to the end;
 *   - new-version sessions (`options=-c shiftgate.version=<migration>`)
 *     from the moment the migration is active: across COMPLETE they run on
 *     to the end; before ROLLBACK they stop, as a deploy rolled back first.
 * Each session is one simple-protocol or one extended-protocol client doing
 * point SELECTs, UPDATEs and INSERTs written for its version.
 *
 * Every statement's latency and every client error is recorded with the
 * phase it ran in (SHOW SHIFTGATE STATUS sampled every 25 ms, plus the
 * moments the admin commands were sent and answered). Prints per kind and
 * run: errors by phase (goal 0), p99 and the longest single statement per
 * phase (goal at most 100 ms), with the phase before START as the control,
 * and the longest statement of the switch window (COMPLETE / ROLLBACK sent
 * until answered), which the proxy's hold keeps under its bound
 * (`--hold-ms`, passed as proxy.switch_hold_ms);
 * writes an SVG chart of latency over time with the phase boundaries to
 * bench/results/cutover-<timestamp>.svg.
 *
 * Usage: npm run bench:cutover -- [--rows 20000] [--rate 150] [--active 3] [--after 3]
 *          [--kinds add_column,alter_column,rename_column,rename_table] [--hold-ms 2000]
 * Environment: SHIFTGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPgDatabase } from '../test/helpers/databases.ts';
import { escapeXml, percentileSorted, resultsFile, startServe, withPort } from './lib/harness.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '150' },
    before: { type: 'string', default: '2' },
    active: { type: 'string', default: '3' },
    after: { type: 'string', default: '3' },
    kinds: { type: 'string', default: 'add_column,alter_column,rename_column,rename_table' },
    'hold-ms': { type: 'string', default: '2000' },
  },
});
const ROWS = Number(values.rows);
/** Statements per second of each session. */
const RATE = Number(values.rate);
const BEFORE_S = Number(values.before);
const ACTIVE_S = Number(values.active);
const AFTER_S = Number(values.after);
const STALL_GOAL_MS = 100;
const HOLD_MS = Number(values['hold-ms']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The statements one version's code sends; `$1` is a row id, `$2` a value. */
interface VersionSql {
  select: string;
  update: string;
  /** Columns `id, <these>` get `$1, $2, ...`. */
  insert: string;
}

interface Kind {
  name: string;
  /** The migration file body for table `t`. */
  migration(t: string): string;
  oldSql(t: string): VersionSql;
  newSql(t: string): VersionSql;
}

const KINDS: Kind[] = [
  {
    name: 'add_column',
    migration: (t) =>
      `operations:\n  - add_column:\n      table: ${t}\n      column: { name: email, type: text, nullable: false }\n      up: "owner || '@example.com'"\n`,
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET amount = amount + 1 WHERE id = $1 AND owner <> $2`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, owner, email FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET email = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount, email) VALUES ($1, $2, 1, $2 || '@new.example')`,
    }),
  },
  {
    name: 'alter_column',
    migration: (t) =>
      `operations:\n  - alter_column: { table: ${t}, column: amount, type: bigint, up: amount, down: "least(amount, 2147483647)::int" }\n`,
    // Old code sets values rather than adding to them: a row the new code filled past 2^31 reads as
    // 2147483647 in the old int column, where `amount + 1` would overflow in the application's own SQL.
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET amount = length($2) WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET amount = 3000000000 + length($2) WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 5000000000)`,
    }),
  },
  {
    name: 'rename_column',
    migration: (t) => `operations:\n  - rename_column: { table: ${t}, from: owner, to: holder }\n`,
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET owner = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, holder, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET holder = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, holder, amount) VALUES ($1, $2, 1)`,
    }),
  },
  {
    name: 'rename_table',
    migration: (t) => `operations:\n  - rename_table: { from: ${t}, to: ${t}_renamed }\n`,
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET amount = amount + 1 WHERE id = $1 AND owner <> $2`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t}_renamed WHERE id = $1`,
      update: `UPDATE ${t}_renamed SET amount = amount + 1 WHERE id = $1 AND owner <> $2`,
      insert: `INSERT INTO ${t}_renamed (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
  },
];

interface Stmt {
  /** Start, ms since the run's START was sent. */
  t: number;
  ms: number;
  session: string;
  error: string | null;
}

interface PhaseMark {
  t: number;
  phase: string;
}

interface RunResult {
  kind: string;
  end: 'complete' | 'rollback';
  stmts: Stmt[];
  phases: PhaseMark[];
  /** From the switch command sent to its answer. */
  switchWindow: { from: number; to: number };
}

/** One client session: a closed loop at RATE statements a second until `stop` is called. */
class Session {
  private running = true;
  private done: Promise<void> = Promise.resolve();
  private nextId: number;

  constructor(
    readonly label: string,
    private readonly client: pg.Client,
    private readonly sql: VersionSql,
    private readonly extended: boolean,
    private readonly t0: number,
    private readonly out: Stmt[],
    idBase: number,
  ) {
    this.nextId = idBase;
  }

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await this.client.end().catch(() => {});
  }

  private async loop(): Promise<void> {
    let n = 0;
    while (this.running) {
      const pick = n++ % 20;
      const id = 1 + Math.floor(Math.random() * ROWS);
      const [text, params] =
        pick < 13
          ? [this.sql.select, [id]]
          : pick < 19
            ? [this.sql.update, [id, `o${n}`]]
            : [this.sql.insert, [this.nextId++, `n${n}`]];
      const started = performance.now();
      let error: string | null = null;
      try {
        if (this.extended) await this.client.query(text, params);
        else await this.client.query(inline(text, params));
      } catch (err) {
        const e = err as { code?: string; message: string };
        error = `${e.code ?? 'no code'} ${e.message}`;
        if (!e.code) this.running = false; // the connection is gone: nothing more to measure here
      }
      const ms = performance.now() - started;
      this.out.push({ t: started - this.t0, ms, session: this.label, error });
      await sleep(Math.max(0, 1000 / RATE - ms));
    }
  }
}

/** The statement with its parameters written in as literals: the simple protocol's form. */
function inline(text: string, params: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, i) => {
    const v = params[Number(i) - 1];
    return typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
  });
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function runOnce(
  kind: Kind,
  end: 'complete' | 'rollback',
  table: string,
  migration: string,
  proxyUrl: string,
): Promise<RunResult> {
  const admin = await connect(proxyUrl);
  const stmts: Stmt[] = [];
  const phases: PhaseMark[] = [{ t: -BEFORE_S * 1000, phase: 'before' }];
  const t0 = performance.now() + BEFORE_S * 1000;
  const now = () => performance.now() - t0;
  const mark = (phase: string) => {
    if (phases.at(-1)?.phase !== phase) phases.push({ t: now(), phase });
  };
  // A status sampled just before a command was sent can arrive after it: phases only move forward.
  const switchWindow = { from: 0, to: 0 };
  const sampled = (phase: string) => {
    if (switchWindow.to === 0 && !phases.some((p) => p.phase === phase)) mark(phase);
  };
  const idBase = (session: number) => 10_000_000 * (session + 1);
  const sessions = async (version: 'old' | 'new', url: string, offset: number) =>
    Promise.all(
      [false, true].map(async (extended, i) => {
        const s = new Session(
          `${version} ${extended ? 'extended' : 'simple'}`,
          await connect(url),
          version === 'old' ? kind.oldSql(table) : kind.newSql(table),
          extended,
          t0,
          stmts,
          idBase(offset + i),
        );
        s.start();
        return s;
      }),
    );

  let sampling = true;
  let commandPhase: string | null = null;
  const watcher = await connect(proxyUrl);
  const sampler = (async () => {
    while (sampling) {
      const row = (await watcher.query('SHOW SHIFTGATE STATUS')).rows.find((r) => r.name === migration);
      if (row) sampled(row.phase);
      else if (commandPhase) sampled(commandPhase);
      await sleep(25);
    }
  })();

  const old = await sessions('old', proxyUrl, 0);
  let fresh: Session[] = [];
  try {
    await sleep(BEFORE_S * 1000);
    mark('START sent');
    await admin.query(`SHIFTGATE START '${migration}'`);
    const deadline = Date.now() + 300_000;
    while ((phases.at(-1)?.phase ?? '') !== 'active') {
      if (Date.now() > deadline) throw new Error(`${migration} did not become active`);
      await sleep(25);
    }
    const bound = new URL(proxyUrl);
    bound.searchParams.set('options', `-c shiftgate.version=${migration}`);
    fresh = await sessions('new', bound.toString(), 2);
    await sleep(ACTIVE_S * 1000);
    if (end === 'complete') {
      await Promise.all(old.map((s) => s.stop()));
      await retired(admin, migration, old.length);
      mark('COMPLETE sent');
      commandPhase = 'completed';
      switchWindow.from = now();
      await admin.query('SHIFTGATE COMPLETE');
      switchWindow.to = now();
    } else {
      await Promise.all(fresh.map((s) => s.stop()));
      mark('ROLLBACK sent');
      commandPhase = 'rolled_back';
      switchWindow.from = now();
      await admin.query('SHIFTGATE ROLLBACK');
      switchWindow.to = now();
    }
    mark(commandPhase);
    await sleep(AFTER_S * 1000);
  } finally {
    await Promise.all([...old, ...fresh].map((s) => s.stop()));
    sampling = false;
    await sampler;
    await Promise.all([admin.end(), watcher.end()]);
  }
  return { kind: kind.name, end, stmts, phases, switchWindow };
}

/**
 * Waits until the proxy has seen the old sessions go: a client's `end()`
 * resolves when its socket closes, a moment before the proxy's side does.
 */
async function retired(admin: pg.Client, migration: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const rows = (await admin.query('SHOW SHIFTGATE SESSIONS')).rows as {
      admin_only: string;
      version: string;
    }[];
    const clients = rows.filter((r) => r.admin_only !== 'true' && r.version !== migration).length;
    if (clients === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${clients} of ${count} retired sessions still listed after 5 s`);
    await sleep(10);
  }
}

/** The phase a statement started in. */
function phaseAt(phases: PhaseMark[], t: number): string {
  let phase = phases[0]!.phase;
  for (const p of phases) {
    if (p.t > t) break;
    phase = p.phase;
  }
  return phase;
}

/** The statements that started while the switch command ran: the ones the proxy may have held. */
function reportSwitch(runs: RunResult[]): number {
  let worst = 0;
  console.log(
    `\nswitch window (command sent .. answered; hold bound ${HOLD_MS} ms)\nkind           run         window ms  statements  errors   max ms`,
  );
  for (const r of runs) {
    const { from, to } = r.switchWindow;
    const list = r.stmts.filter((s) => s.t >= from && s.t <= to);
    const max = list.reduce((m, s) => Math.max(m, s.ms), 0);
    worst = Math.max(worst, max);
    console.log(
      `${r.kind.padEnd(14)} ${r.end.padEnd(9)} ${(to - from).toFixed(0).padStart(11)} ${String(list.length).padStart(11)} ` +
        `${String(list.filter((s) => s.error).length).padStart(7)} ${max.toFixed(1).padStart(8)}`,
    );
  }
  return worst;
}

function report(runs: RunResult[]): { errors: number; worstStall: number } {
  let errors = 0;
  let worstStall = 0;
  console.log(
    '\nkind           run       phase          statements  errors   p99 ms   max ms  (max stall where)',
  );
  for (const r of runs) {
    const byPhase = new Map<string, Stmt[]>();
    for (const s of r.stmts) {
      const p = phaseAt(r.phases, s.t);
      byPhase.set(p, [...(byPhase.get(p) ?? []), s]);
    }
    const order = [...new Set(r.phases.map((p) => p.phase))];
    for (const phase of order) {
      const list = byPhase.get(phase) ?? [];
      if (list.length === 0) continue;
      const sorted = Float64Array.from(list.map((s) => s.ms)).sort();
      const errs = list.filter((s) => s.error);
      const max = sorted.at(-1)!;
      const where = list.reduce((a, b) => (b.ms > a.ms ? b : a));
      if (phase !== 'before') {
        errors += errs.length;
        worstStall = Math.max(worstStall, max);
      }
      console.log(
        `${r.kind.padEnd(14)} ${r.end.padEnd(9)} ${phase.padEnd(14)} ${String(list.length).padStart(10)} ` +
          `${String(errs.length).padStart(7)} ${percentileSorted(sorted, 0.99).toFixed(2).padStart(8)} ` +
          `${max.toFixed(1).padStart(8)}  (${where.session})`,
      );
      const seen = new Set<string>();
      for (const e of errs) {
        const key = `${e.session}: ${e.error}`;
        if (seen.has(key) || seen.size >= 3) continue;
        seen.add(key);
        console.log(`${''.padEnd(40)}error: ${key.slice(0, 160)}`);
      }
    }
  }
  return { errors, worstStall };
}

function svgChart(runs: RunResult[], title: string): string {
  const width = 900;
  const panel = 150;
  const left = 60;
  const top = 40;
  const plotW = width - left - 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + runs.length * (panel + 50)}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">${escapeXml(title)}</text>`,
  ];
  runs.forEach((r, i) => {
    const y0 = top + i * (panel + 50);
    const tMin = r.phases[0]!.t;
    const tMax = Math.max(...r.stmts.map((s) => s.t + s.ms), tMin + 1);
    const maxMs = Math.max(STALL_GOAL_MS, ...r.stmts.map((s) => s.ms));
    const x = (t: number) => left + ((t - tMin) / (tMax - tMin)) * plotW;
    const y = (ms: number) => y0 + panel - (Math.log10(1 + ms) / Math.log10(1 + maxMs)) * panel;
    out.push(
      `<text x="${left}" y="${y0 - 6}">${r.kind} then ${r.end}: statement latency (ms, log scale), red = error</text>`,
      `<rect x="${left}" y="${y0}" width="${plotW}" height="${panel}" fill="none" stroke="#999"/>`,
      `<line x1="${left}" x2="${left + plotW}" y1="${y(STALL_GOAL_MS)}" y2="${y(STALL_GOAL_MS)}" stroke="#c80" stroke-dasharray="4 3"/>`,
      `<text x="4" y="${y(STALL_GOAL_MS) + 4}">${STALL_GOAL_MS} ms</text>`,
      maxMs > 1.5 * STALL_GOAL_MS ? `<text x="4" y="${y0 + 10}">${maxMs.toFixed(0)} ms</text>` : '',
    );
    // Phases a few ms apart would print their names over each other: three rows of labels.
    r.phases.slice(1).forEach((p, k) => {
      out.push(
        `<line x1="${x(p.t)}" x2="${x(p.t)}" y1="${y0}" y2="${y0 + panel + 2 + (k % 3) * 9}" stroke="#36c" stroke-width="0.8"/>`,
        `<text x="${x(p.t) + 2}" y="${y0 + panel + 10 + (k % 3) * 9}" fill="#36c" font-size="9">${escapeXml(p.phase)}</text>`,
      );
    });
    for (const s of r.stmts) {
      out.push(
        `<circle cx="${x(s.t).toFixed(1)}" cy="${y(s.ms).toFixed(1)}" r="${s.error ? 2.5 : 1}" fill="${s.error ? 'red' : '#333'}"/>`,
      );
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

async function main(): Promise<void> {
  const kinds = values.kinds!.split(',').map((k) => {
    const kind = KINDS.find((x) => x.name === k.trim());
    if (!kind) throw new Error(`unknown kind ${k}; known: ${KINDS.map((x) => x.name).join(', ')}`);
    return kind;
  });
  const db = await createPgDatabase('bench_cutover');
  const dir = mkdtempSync(join(tmpdir(), 'shiftgate-bench-cutover-'));
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const runs: RunResult[] = [];
  try {
    const setup = await connect(db.url);
    for (const kind of kinds) {
      for (const end of ['complete', 'rollback'] as const) {
        const table = `acct_${kind.name}_${end}`;
        await setup.query(
          `CREATE TABLE ${table} (id bigint PRIMARY KEY, owner text NOT NULL, amount int NOT NULL)`,
        );
        await setup.query(
          `INSERT INTO ${table} SELECT g, 'owner ' || g, g % 1000 FROM generate_series(1, ${ROWS}) g`,
        );
        writeFileSync(join(dir, `${table}_m.yaml`), kind.migration(table));
      }
    }
    await setup.query('ANALYZE');
    await setup.end();
    serve = await startServe(db.url, ['--migrations', dir, '--proxy-switch-hold-ms', String(HOLD_MS)]);
    const proxyUrl = withPort(db.url, serve.port);
    console.log(
      `load: per run 2 old-version and 2 new-version sessions (simple + extended), ${RATE} statements/s each, ` +
        `65% SELECT / 30% UPDATE / 5% INSERT by key on a ${ROWS.toLocaleString('en-US')}-row table`,
    );
    for (const kind of kinds) {
      for (const end of ['complete', 'rollback'] as const) {
        const table = `acct_${kind.name}_${end}`;
        process.stdout.write(`${kind.name} then ${end} ... `);
        const started = Date.now();
        runs.push(await runOnce(kind, end, table, `${table}_m`, proxyUrl));
        console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
    const { errors, worstStall } = report(runs);
    const worstSwitch = reportSwitch(runs);
    console.log(
      `\nclient errors after START: ${errors} (goal 0); longest statement after START: ${worstStall.toFixed(1)} ms (goal <= ${STALL_GOAL_MS} ms)` +
        `; longest in a switch window: ${worstSwitch.toFixed(1)} ms (hold bound ${HOLD_MS} ms)`,
    );
    const file = resultsFile('cutover', 'svg');
    writeFileSync(
      file,
      svgChart(runs, 'Shiftgate cut-over: client statements across START, COMPLETE and ROLLBACK'),
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
