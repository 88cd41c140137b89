/**
 * COMPLETE and ROLLBACK are crash-safe at every step: for every operation
 * kind, the runner is SIGKILLed at each crash point of the contract and of
 * the rollback (after a transaction of actions ran but before its step was recorded, after
 * the last step, after the phase was recorded done), then a fresh engine
 * resumes. Every schema and every row must equal an uninterrupted run.
 *
 * Each operation kind lives in its own schema of one database, so that one
 * child process covers crash point k of all of them at once (see
 * fixtures/contract-crash-child.ts); the test loops k over the crash points
 * the longest uninterrupted run passed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import pg from 'pg';
import { connectMigrationEngine } from '../../src/dialects/index.ts';
import type { MigrationEngine } from '../../src/migrations/engine.ts';
import { createPgDatabase, PG_URL, type TestDatabase } from '../helpers/databases.ts';
import { eventually } from '../helpers/serve-process.ts';
import { migration } from './helpers/db.ts';
import { fingerprint, leftovers } from './helpers/fingerprint.ts';

interface Case {
  schema: string;
  setup: string;
  /** `{s}` in raw SQL stands for the case's schema. */
  operations: unknown[];
}

const CASES: Case[] = [
  {
    schema: 'add_column',
    setup: `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
            INSERT INTO users SELECT g, 'User' || g FROM generate_series(1, 20) g;`,
    operations: [
      {
        add_column: {
          table: 'users',
          column: { name: 'email', type: 'text', nullable: false, unique: true },
          up: "lower(name) || '@x'",
        },
      },
    ],
  },
  {
    // A nullable column changed through a shadow: the case that lost the column when replayed.
    schema: 'alter_type',
    setup: `CREATE TABLE orders (id int PRIMARY KEY, amount int);
            INSERT INTO orders SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE g END FROM generate_series(1, 20) g;`,
    operations: [
      {
        alter_column: {
          table: 'orders',
          column: 'amount',
          type: 'bigint',
          up: 'amount * 100',
          down: 'amount / 100',
        },
      },
    ],
  },
  {
    // NOT NULL through a shadow: the case that got stuck in contracting.
    schema: 'alter_not_null',
    setup: `CREATE TABLE people (id int PRIMARY KEY, nick text);
            INSERT INTO people SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 20) g;`,
    operations: [
      {
        alter_column: {
          table: 'people',
          column: 'nick',
          nullable: false,
          up: "coalesce(nick, 'anon')",
          down: 'nick',
        },
      },
    ],
  },
  {
    // A check, an index and a unique key carried over to the shadow.
    schema: 'alter_carried',
    setup: `CREATE TABLE products (id int PRIMARY KEY, price int CHECK (price >= 0), UNIQUE (price));
            CREATE INDEX products_price_idx ON products (price DESC);
            INSERT INTO products (id, price) SELECT g, g * 10 FROM generate_series(1, 20) g;`,
    operations: [
      { alter_column: { table: 'products', column: 'price', type: 'bigint', up: 'price', down: 'price' } },
    ],
  },
  {
    // A serial column: its sequence moves to the shadow.
    schema: 'alter_serial',
    setup: `CREATE TABLE tickets (id int PRIMARY KEY, seq serial);
            INSERT INTO tickets (id) SELECT g FROM generate_series(1, 20) g;`,
    operations: [
      { alter_column: { table: 'tickets', column: 'seq', type: 'bigint', up: 'seq', down: 'seq' } },
    ],
  },
  {
    schema: 'rename_column',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g;`,
    operations: [{ rename_column: { table: 't', from: 'a', to: 'b' } }],
  },
  {
    schema: 'alter_rename',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g;`,
    operations: [{ alter_column: { table: 't', column: 'a', name: 'b' } }],
  },
  {
    schema: 'drop_column',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text, b text);
            INSERT INTO t SELECT g, 'a' || g, 'b' || g FROM generate_series(1, 20) g;`,
    operations: [{ drop_column: { table: 't', column: 'b', down: "'gone'" } }],
  },
  {
    schema: 'create_table',
    setup: 'CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent VALUES (1), (2);',
    operations: [
      {
        create_table: {
          name: 'child',
          columns: [
            { name: 'id', type: 'serial', pk: true },
            {
              name: 'parent_id',
              type: 'int',
              references: { name: 'child_parent_fk', table: 'parent', column: 'id' },
            },
            {
              name: 'code',
              type: 'text',
              unique: true,
              check: { name: 'code_len', constraint: 'length(code) < 10' },
            },
          ],
        },
      },
      { create_index: { name: 'child_code_idx', table: 'child', columns: ['code'] } },
    ],
  },
  {
    schema: 'rename_table',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g;`,
    operations: [{ rename_table: { from: 't', to: 't2' } }],
  },
  {
    schema: 'drop_table',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text); CREATE TABLE keep (id int PRIMARY KEY);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g; INSERT INTO keep VALUES (1);`,
    operations: [{ drop_table: { name: 't' } }],
  },
  {
    schema: 'create_index',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g;`,
    operations: [{ create_index: { name: 't_a_idx', table: 't', columns: ['a'], unique: true } }],
  },
  {
    schema: 'drop_index',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text); CREATE INDEX t_a_idx ON t (a);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g;`,
    operations: [{ drop_index: { name: 't_a_idx' } }],
  },
  {
    schema: 'create_unique',
    setup: `CREATE TABLE t (id int PRIMARY KEY, code text);
            INSERT INTO t SELECT g, 'c' || g FROM generate_series(1, 20) g;`,
    operations: [
      {
        create_constraint: {
          table: 't',
          name: 't_code_key',
          type: 'unique',
          columns: ['code'],
          up: { code: 'code' },
          down: { code: 'code' },
        },
      },
    ],
  },
  {
    schema: 'create_check',
    setup: `CREATE TABLE t (id int PRIMARY KEY, n int);
            INSERT INTO t SELECT g, g - 5 FROM generate_series(1, 20) g;`,
    operations: [
      {
        create_constraint: {
          table: 't',
          name: 't_n_positive',
          type: 'check',
          columns: ['n'],
          check: 'n > 0',
          up: { n: 'CASE WHEN n > 0 THEN n ELSE 1 END' },
          down: { n: 'n' },
        },
      },
    ],
  },
  {
    schema: 'drop_constraint',
    setup: `CREATE TABLE t (id int PRIMARY KEY, n int CONSTRAINT t_n_small CHECK (n < 100));
            INSERT INTO t SELECT g, g FROM generate_series(1, 20) g;`,
    operations: [{ drop_constraint: { table: 't', name: 't_n_small', up: 'n', down: 'least(n, 99)' } }],
  },
  {
    schema: 'drop_multi',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a int, b int, CONSTRAINT t_a_b_key UNIQUE (a, b));
            INSERT INTO t SELECT g, g, g FROM generate_series(1, 20) g;`,
    operations: [
      {
        drop_multicolumn_constraint: {
          table: 't',
          name: 't_a_b_key',
          up: { a: 'a', b: 'b' },
          down: { a: 'a', b: 'b' },
        },
      },
    ],
  },
  {
    schema: 'rename_constraint',
    setup: `CREATE TABLE t (id int PRIMARY KEY, n int CONSTRAINT t_n_check CHECK (n > 0));
            INSERT INTO t SELECT g, g FROM generate_series(1, 20) g;`,
    operations: [{ rename_constraint: { table: 't', from: 't_n_check', to: 't_n_positive' } }],
  },
  {
    schema: 'replica_identity',
    setup: `CREATE TABLE t (id int PRIMARY KEY, a text);
            INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 20) g;`,
    operations: [{ set_replica_identity: { table: 't', identity: { type: 'full' } } }],
  },
  {
    // Raw statements that are not idempotent: a replayed one shows up as a second row.
    schema: 'raw_sql',
    setup: 'CREATE TABLE audit (what text NOT NULL);',
    operations: [
      {
        sql: {
          up: "INSERT INTO {s}.audit (what) VALUES ('up')",
          down: "INSERT INTO {s}.audit (what) VALUES ('down')",
        },
      },
      { sql: { up: "INSERT INTO {s}.audit (what) VALUES ('complete')", onComplete: true } },
    ],
  },
];

const child = join(import.meta.dirname, 'fixtures/contract-crash-child.ts');

const nameOf = (c: Case) => `01_${c.schema}`;
const migrationOf = (c: Case) =>
  migration(nameOf(c), JSON.parse(JSON.stringify(c.operations).replaceAll('{s}', c.schema)));

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** A copy of `template` (which must have no sessions). */
async function cloneDatabase(template: TestDatabase, suffix: string): Promise<TestDatabase> {
  const name = `${template.name}_${suffix}`;
  const admin = await connect(PG_URL);
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template.name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = await connect(PG_URL);
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Waits until the server has ended every backend of the killed runner in
 * these databases. Their sockets are closed by the kill, but a busy server
 * may take a moment to notice; until then the runner lock is still held and
 * a resume is rightly refused as a second runner.
 */
async function deadRunnerGone(names: string[]): Promise<void> {
  const admin = await connect(PG_URL);
  try {
    await eventually(
      `the killed runner's backends in ${names.join(', ')} end`,
      async () => {
        const r = await admin.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
          [names],
        );
        return Number(r.rows[0]!.n) === 0 ? true : undefined;
      },
      15_000,
    );
  } finally {
    await admin.end();
  }
}

/** Everything a run leaves in one schema: the fingerprint, every row of every table, the migration's phase. */
async function snapshot(client: pg.Client, schema: string): Promise<unknown> {
  const tables = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  );
  const data: Record<string, string[]> = {};
  for (const { name } of tables.rows) {
    const r = await client.query<{ row: string }>(
      `SELECT row_to_json(t)::text AS row FROM "${schema}"."${name}" t ORDER BY 1`,
    );
    data[name] = r.rows.map((x) => x.row);
  }
  const state = await client.query(
    'SELECT phase, phase_done FROM shiftgate.migrations WHERE schema_name = $1',
    [schema],
  );
  return {
    schema: await fingerprint(client, schema),
    data,
    state: state.rows,
    leftovers: await leftovers(client, schema),
  };
}

async function snapshots(url: string): Promise<Record<string, unknown>> {
  const client = await connect(url);
  try {
    const out: Record<string, unknown> = {};
    for (const c of CASES) out[c.schema] = await snapshot(client, c.schema);
    return out;
  } finally {
    await client.end();
  }
}

async function forEachCase(
  url: string,
  work: (engine: MigrationEngine, c: Case) => Promise<void>,
  options: Partial<Parameters<typeof MigrationEngine.connect>[0]> = {},
) {
  await Promise.all(
    CASES.map(async (c) => {
      const engine = await connectMigrationEngine({ ...options, url, schema: c.schema });
      try {
        await work(engine, c);
      } finally {
        await engine.close();
      }
    }),
  );
}

/**
 * The child bundled into one file: a plain node process starts in a third
 * of the time tsx takes, and the test starts one per crash point.
 */
async function bundleChild(dir: string): Promise<string> {
  const outfile = join(dir, 'contract-crash-child.cjs');
  await build({
    entryPoints: [child],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    // Packages stay where they are: node_modules/.cache resolves them from the project's node_modules.
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}

function runChild(script: string, completeUrl: string, rollbackUrl: string, at: number) {
  const proc = spawn(
    process.execPath,
    [script, completeUrl, rollbackUrl, String(at), CASES.map((c) => c.schema).join(',')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'silent' } },
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => {
    stdout += d;
  });
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise<{ signal: NodeJS.Signals | null; held: string[]; stderr: string }>((resolve) =>
    proc.on('close', (_code, signal) =>
      resolve({ signal, held: stdout.trim() ? (JSON.parse(stdout.trim()) as string[]) : [], stderr }),
    ),
  );
}

describe('COMPLETE and ROLLBACK killed at every crash point', () => {
  let template: TestDatabase;
  const made: TestDatabase[] = [];
  let expectComplete: Record<string, unknown>;
  let expectRollback: Record<string, unknown>;
  /** Crash points of the longest contract or rollback. */
  let points = 0;
  let childScript: string;
  let bundleDir: string;

  before(async () => {
    await mkdir(join(import.meta.dirname, '../../node_modules/.cache'), { recursive: true });
    bundleDir = await mkdtemp(join(import.meta.dirname, '../../node_modules/.cache/shiftgate-crash-'));
    childScript = await bundleChild(bundleDir);
    template = await createPgDatabase('contract_crash');
    made.push(template);
    const setup = await connect(template.url);
    try {
      for (const c of CASES)
        await setup.query(
          `CREATE SCHEMA ${c.schema}; SET search_path = ${c.schema}; ${c.setup}; RESET search_path`,
        );
    } finally {
      await setup.end();
    }
    await forEachCase(template.url, async (engine, c) => {
      const status = await engine.start(migrationOf(c));
      assert.equal(status.phase, 'active', c.schema);
    });
    const completed = await cloneDatabase(template, 'ref_c');
    const rolled = await cloneDatabase(template, 'ref_r');
    made.push(completed, rolled);
    // The uninterrupted runs count the crash points they pass: one per transaction of actions, one
    // after the last step, one after the phase is recorded done.
    const counting = {
      crashPointForTests: ({ boundary }: { boundary: number }) => {
        points = Math.max(points, boundary);
      },
    };
    await forEachCase(
      completed.url,
      async (engine) => {
        assert.equal((await engine.complete()).phase, 'completed');
      },
      counting,
    );
    await forEachCase(
      rolled.url,
      async (engine) => {
        assert.equal((await engine.rollback()).phase, 'rolled_back');
      },
      counting,
    );
    expectComplete = await snapshots(completed.url);
    expectRollback = await snapshots(rolled.url);
  });

  after(async () => {
    await rm(bundleDir, { recursive: true, force: true });
    for (const db of made) await db.drop().catch(() => {});
  });

  /** Kills both runs at crash point `at`, resumes them, and describes every way they differ from the references. */
  async function crashAt(at: number): Promise<string[]> {
    const failures: string[] = [];
    const completing = await cloneDatabase(template, `c${at}`);
    const rolling = await cloneDatabase(template, `r${at}`);
    made.push(completing, rolling);
    const killed = await runChild(childScript, completing.url, rolling.url, at);
    if (killed.signal !== 'SIGKILL') return [`crash point ${at}: the child was not killed: ${killed.stderr}`];
    if (killed.held.length === 0) return [`crash point ${at} held no runner`];
    await deadRunnerGone([completing.name, rolling.name]);
    for (const [db, command, expected] of [
      [completing, 'complete', expectComplete],
      [rolling, 'rollback', expectRollback],
    ] as const) {
      const phase = command === 'complete' ? 'completed' : 'rolled_back';
      const resumed = new Set<string>();
      await forEachCase(db.url, async (engine, c) => {
        try {
          const status = await engine.resume();
          if (status && status.phase !== phase)
            failures.push(`${command} ${c.schema} @${at}: ${status.phase}`);
          resumed.add(c.schema);
        } catch (err) {
          failures.push(`${command} ${c.schema} @${at}: resume failed: ${(err as Error).message}`);
        }
      });
      const got = await snapshots(db.url);
      for (const c of CASES) {
        if (!resumed.has(c.schema)) continue;
        try {
          assert.deepEqual(got[c.schema], expected[c.schema]);
        } catch (err) {
          failures.push(
            `${command} ${c.schema} @${at}: differs from an uninterrupted run\n${(err as Error).message}`,
          );
        }
      }
    }
    await completing.drop();
    await rolling.drop();
    return failures;
  }

  it('resumes each kill to the schema and rows of an uninterrupted run', async () => {
    assert.ok(points >= 3, `the longest run passed ${points} crash points`);
    const failures: string[] = [];
    // Two crash points at a time: most of each one's time is spent waiting on the server.
    let next = 1;
    const worker = async () => {
      for (let at = next++; at <= points; at = next++) failures.push(...(await crashAt(at)));
    };
    await Promise.all([worker(), worker()]);
    assert.deepEqual(failures, []);
  });
});
