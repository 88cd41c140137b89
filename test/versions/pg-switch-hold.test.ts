/**
 * The switch without client errors: around COMPLETE and ROLLBACK the proxy
 * holds new statements on the migration's tables until it has the version
 * map of the schema the switch leaves, then lets them go translated for
 * it. For each operation kind that moves what clients name (add_column,
 * alter_column, rename_column, rename_table), a small load of old-version
 * and new-version sessions in both protocols runs across COMPLETE and
 * across ROLLBACK; not one statement fails, and the rows afterwards hold
 * what each session last wrote. A transaction open on the table across
 * COMPLETE commits normally while the switch retries; the hold is bounded.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ProxySwitchGate } from '../../src/proxy/switch-hold.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { within } from '../helpers/deadline.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const HOLD_MS = 2000;
const ROWS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface VersionSql {
  select: string;
  /** `$1` the id, `$2` the value. */
  update: string;
  insert: string;
}

interface Kind {
  name: string;
  migration(t: string): string;
  oldSql(t: string): VersionSql;
  newSql(t: string): VersionSql;
  /** The physical column the value lands in after COMPLETE / after ROLLBACK, and the table. */
  column(end: 'complete' | 'rollback'): string;
  table(t: string, end: 'complete' | 'rollback'): string;
  /** The value session `s` writes as its `n`-th write. */
  value(s: number, n: number): string | number;
}

const text = (s: number, n: number) => `s${s}-${n}`;

const KINDS: Kind[] = [
  {
    name: 'add_column',
    migration: (t) =>
      `operations:\n  - add_column:\n      table: ${t}\n      column: { name: email, type: text, nullable: false }\n      up: "owner || '@example.com'"\n`,
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET owner = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, owner, email FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET owner = $2, email = $2 || '@new.example' WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount, email) VALUES ($1, $2, 1, $2 || '@new.example')`,
    }),
    column: () => 'owner',
    table: (t) => t,
    value: text,
  },
  {
    name: 'alter_column',
    migration: (t) =>
      `operations:\n  - alter_column: { table: ${t}, column: amount, type: bigint, up: amount, down: "least(amount, 2147483647)::int" }\n`,
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET amount = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, 'old', $2)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET amount = $2::bigint WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, 'new', $2::bigint)`,
    }),
    column: () => 'amount',
    table: (t) => t,
    value: (s, n) => s * 100_000 + n,
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
    column: (end) => (end === 'complete' ? 'holder' : 'owner'),
    table: (t) => t,
    value: text,
  },
  {
    name: 'rename_table',
    migration: (t) => `operations:\n  - rename_table: { from: ${t}, to: ${t}_renamed }\n`,
    oldSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t} WHERE id = $1`,
      update: `UPDATE ${t} SET owner = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t} (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    newSql: (t) => ({
      select: `SELECT id, owner, amount FROM ${t}_renamed WHERE id = $1`,
      update: `UPDATE ${t}_renamed SET owner = $2 WHERE id = $1`,
      insert: `INSERT INTO ${t}_renamed (id, owner, amount) VALUES ($1, $2, 1)`,
    }),
    column: () => 'owner',
    table: (t, end) => (end === 'complete' ? `${t}_renamed` : t),
    value: text,
  },
];

interface Outcome {
  errors: string[];
  /** Longest statement, ms. */
  longest: number;
  /** The value each id should hold: the session's last successful write to it. */
  written: Map<number, string | number>;
}

/**
 * One client at about 100 statements a second until stopped: point
 * SELECTs, UPDATEs of rows of its own id range, INSERTs of new ids of its
 * own, in the simple or the extended protocol, or each in a transaction of
 * its own (BEGIN, the statement, SELECT 1, COMMIT).
 */
class Load {
  private running = true;
  private done: Promise<void> = Promise.resolve();
  private stopped: Promise<Outcome> | null = null;
  readonly outcome: Outcome = { errors: [], longest: 0, written: new Map() };

  constructor(
    private readonly client: pg.Client,
    private readonly sql: VersionSql,
    private readonly mode: 'simple' | 'extended' | 'transaction',
    private readonly kind: Kind,
    /** 1-based; session s updates rows s*100 .. s*100+99 and inserts ids from 1_000_000 * s. */
    private readonly session: number,
  ) {}

  start(): this {
    this.done = this.loop();
    return this;
  }

  stop(): Promise<Outcome> {
    this.running = false;
    this.stopped ??= this.done.then(async () => {
      await this.client.end().catch(() => {});
      return this.outcome;
    });
    return this.stopped;
  }

  private async loop(): Promise<void> {
    let n = 0;
    let nextId = 1_000_000 * this.session;
    while (this.running) {
      n++;
      const pick = n % 10;
      const value = this.kind.value(this.session, n);
      let id: number;
      let text: string;
      let params: unknown[];
      if (pick < 5) {
        id = 1 + Math.floor(Math.random() * ROWS);
        [text, params] = [this.sql.select, [id]];
      } else if (pick < 9) {
        id = this.session * 100 + (n % 100);
        [text, params] = [this.sql.update, [id, value]];
      } else {
        id = nextId++;
        [text, params] = [this.sql.insert, [id, value]];
      }
      const started = performance.now();
      try {
        if (this.mode === 'transaction') {
          // An application's unit of work: the first statement on the table comes after BEGIN.
          await this.client.query('BEGIN');
          await this.client.query(text, params);
          await this.client.query('SELECT 1');
          await this.client.query('COMMIT');
        } else if (this.mode === 'extended') await this.client.query(text, params);
        else await this.client.query(inline(text, params));
        if (pick >= 5) this.outcome.written.set(id, value);
      } catch (err) {
        if (this.mode === 'transaction') await this.client.query('ROLLBACK').catch(() => {});
        const e = err as { code?: string; message: string };
        this.outcome.errors.push(`${e.code ?? 'no code'} ${e.message} (${text})`);
        if (!e.code) this.running = false;
      }
      this.outcome.longest = Math.max(this.outcome.longest, performance.now() - started);
      await sleep(10);
    }
  }
}

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

describe('the switch holds statements on its tables instead of failing them', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let direct: pg.Client;

  before(async () => {
    db = await createPgDatabase('switch_hold');
    sg = await startTestShiftgate(db.url, { 'proxy.switch_hold_ms': String(HOLD_MS) });
    direct = await connect(db.url);
  });
  after(async () => {
    await direct?.end();
    await sg?.stop();
    await db?.drop();
  });

  /** Waits until the proxy no longer lists sessions bound to other versions than `version`. */
  async function retired(version: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const rows = await sg.admin(db.url, 'SHOW SHIFTGATE SESSIONS');
      if (!rows.some((r) => r.admin_only !== 'true' && r.version !== version)) return;
      if (Date.now() > deadline) throw new Error('old sessions still listed after 5 s');
      await sleep(10);
    }
  }

  for (const kind of KINDS) {
    for (const end of ['complete', 'rollback'] as const) {
      it(`${kind.name} across ${end.toUpperCase()}: zero client errors, every write kept`, async () => {
        const t = `acct_${kind.name}_${end}`;
        const name = `${t}_m`;
        await direct.query(
          `CREATE TABLE ${t} (id bigint PRIMARY KEY, owner text NOT NULL, amount int NOT NULL);
           INSERT INTO ${t} SELECT g, 'owner ' || g, g FROM generate_series(1, ${ROWS}) g`,
        );
        sg.writeMigration(name, kind.migration(t));
        const sessions = (version: 'old' | 'new', first: number) =>
          Promise.all(
            (['simple', 'extended', 'transaction'] as const).map(async (mode, i) => {
              const url =
                version === 'old'
                  ? sg.via(db.url)
                  : sg.via(db.url, { options: `-c shiftgate.version=${name}` });
              const sql = version === 'old' ? kind.oldSql(t) : kind.newSql(t);
              return new Load(await connect(url), sql, mode, kind, first + i).start();
            }),
          );
        const admin = await connect(sg.via(db.url));
        const old = await sessions('old', 1);
        let fresh: Load[] = [];
        try {
          await sleep(300);
          await admin.query(`SHIFTGATE START '${name}'`);
          await sg.waitForPhase(db.url, 'active');
          fresh = await sessions('new', 4);
          await sleep(700);
          if (end === 'complete') {
            // A finished deploy retires the old code first (COMPLETE without FORCE).
            await Promise.all(old.map((s) => s.stop()));
            await retired(name);
            await within('COMPLETE', admin.query('SHIFTGATE COMPLETE'), 30_000);
          } else {
            await Promise.all(fresh.map((s) => s.stop()));
            await within('ROLLBACK', admin.query('SHIFTGATE ROLLBACK'), 30_000);
          }
          await sleep(700);
        } finally {
          await Promise.all([...old, ...fresh].map((s) => s.stop()));
          await admin.end();
        }
        const outcomes = [...old, ...fresh].map((s) => s.outcome);
        const errors = outcomes.flatMap((o) => o.errors);
        assert.deepEqual(errors, [], 'no client statement failed');
        for (const o of outcomes) assert.ok(o.longest < HOLD_MS, `longest statement ${o.longest} ms`);

        const column = kind.column(end);
        const physical = kind.table(t, end);
        const expected = new Map<number, string | number>();
        for (const o of outcomes) for (const [id, v] of o.written) expected.set(id, v);
        assert.ok(expected.size > 20, `only ${expected.size} writes`);
        const rows = (
          await direct.query<{ id: string; v: string }>(
            `SELECT id, ${column}::text AS v FROM ${physical} WHERE id = ANY($1::bigint[])`,
            [[...expected.keys()]],
          )
        ).rows;
        const actual = new Map(rows.map((r) => [Number(r.id), r.v]));
        for (const [id, v] of expected) assert.equal(actual.get(id), String(v), `row ${id} of ${physical}`);
      });
    }
  }
});

describe('the switch waits for open transactions, and the hold stays bounded', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let direct: pg.Client;

  before(async () => {
    db = await createPgDatabase('switch_hold_tx');
    sg = await startTestShiftgate(db.url, { 'proxy.switch_hold_ms': String(HOLD_MS) });
    direct = await connect(db.url);
    await direct.query(
      `CREATE TABLE ledger (id bigint PRIMARY KEY, owner text NOT NULL, amount int NOT NULL);
       INSERT INTO ledger SELECT g, 'owner ' || g, g FROM generate_series(1, ${ROWS}) g;
       CREATE TABLE other (id int PRIMARY KEY, note text);
       INSERT INTO other VALUES (1, 'untouched')`,
    );
  });
  after(async () => {
    await direct?.end();
    await sg?.stop();
    await db?.drop();
  });

  it('a transaction open on the table across COMPLETE commits; COMPLETE retries, then succeeds', async () => {
    const name = 'ledger_rename';
    sg.writeMigration(name, 'operations:\n  - rename_column: { table: ledger, from: owner, to: holder }\n');
    const admin = await connect(sg.via(db.url));
    const newUrl = sg.via(db.url, { options: `-c shiftgate.version=${name}` });
    await admin.query(`SHIFTGATE START '${name}'`);
    await sg.waitForPhase(db.url, 'active');
    const kind = KINDS.find((k) => k.name === 'rename_column')!;
    const loads = await Promise.all(
      (['simple', 'extended', 'transaction'] as const).map(async (mode, i) =>
        new Load(await connect(newUrl), kind.newSql('ledger'), mode, kind, 4 + i).start(),
      ),
    );
    const tx = await connect(newUrl);
    try {
      await tx.query('BEGIN');
      await tx.query(`UPDATE ledger SET holder = 'in a transaction' WHERE id = 1`);
      const completing = admin.query('SHIFTGATE COMPLETE');
      // Past the switch's lock timeout (500 ms): it has given up and retried at least once.
      await sleep(1500);
      const seen = await tx.query('SELECT holder FROM ledger WHERE id = $1', [1]);
      assert.deepEqual(seen.rows, [{ holder: 'in a transaction' }]);
      await tx.query('COMMIT');
      await within('COMPLETE', completing, 30_000);
    } finally {
      await tx.end();
    }
    await sleep(300);
    const outcomes = await Promise.all(loads.map((l) => l.stop()));
    await admin.end();

    const retries = await direct.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM shiftgate.events
        WHERE migration = $1 AND phase = 'contracting' AND event = 'retry'`,
      [name],
    );
    assert.ok(retries.rows[0]!.n >= 1, 'the switch retried while the transaction held its lock');
    const phase = await direct.query(`SELECT phase FROM shiftgate.migrations WHERE name = $1`, [name]);
    assert.equal(phase.rows[0].phase, 'completed');
    const row = await direct.query('SELECT holder FROM ledger WHERE id = 1');
    assert.equal(row.rows[0].holder, 'in a transaction');
    assert.deepEqual(
      outcomes.flatMap((o) => o.errors),
      [],
    );
    for (const o of outcomes) {
      assert.ok(
        o.longest <= HOLD_MS,
        `a held statement waited ${o.longest.toFixed(0)} ms (bound ${HOLD_MS})`,
      );
    }
  });

  it('a switch that never ends (its runner died) fails held statements with a retryable error at the bound, and only those', async () => {
    const bound = 400;
    const short = await startTestShiftgate(db.url, { 'proxy.switch_hold_ms': String(bound) });
    const client = await connect(short.via(db.url));
    const bystander = await connect(short.via(db.url));
    const locking = await connect(short.via(db.url));
    const fresh = await connect(short.via(db.url));
    try {
      const prepared = { name: 'by_id', text: 'SELECT amount FROM ledger WHERE id = $1', values: [2] };
      assert.equal((await client.query(prepared)).rows.length, 1);
      // A transaction with a lock on the table (the switch would wait for it), and one without.
      await locking.query('BEGIN');
      await locking.query('SELECT amount FROM ledger WHERE id = 4');
      await fresh.query('BEGIN');
      await fresh.query('SELECT 1');
      // The gate of a runner that dies before it ends the hold: the state store is never read again.
      const gate = new ProxySwitchGate({
        router: short.sg.router,
        registry: short.sg.proxy.ctx.registry,
        refresh: () => new Promise(() => {}),
      });
      const t0 = performance.now();
      await gate.hold({
        schema: 'public',
        migration: 'vanished',
        phase: 'contracting',
        tables: ['ledger'],
        attempt: 1,
        lockHolders: async () =>
          (
            await direct.query<{ pid: number }>(
              `SELECT DISTINCT pid FROM pg_locks WHERE relation = 'ledger'::regclass AND granted`,
            )
          ).rows.map((r) => r.pid),
      });

      const failure = (err: { code?: string; message: string }) => err;
      const held = client.query('SELECT amount FROM ledger WHERE id = 3').then(() => null, failure);
      const heldInTx = fresh.query('SELECT amount FROM ledger WHERE id = 3').then(() => null, failure);
      const other = await bystander.query('SELECT note FROM other WHERE id = 1');
      assert.equal(other.rows[0].note, 'untouched');
      assert.ok(performance.now() - t0 < bound / 2, 'statements on other tables are not held');
      const inside = await locking.query('SELECT amount FROM ledger WHERE id = 3');
      assert.equal(inside.rows[0].amount, 3, 'a transaction holding a lock on the table is not held');
      await locking.query('COMMIT');

      const inTxErr = await within('the statement held in a transaction', heldInTx, bound * 10);
      assert.equal(inTxErr?.code, '55P03', 'a transaction without a lock on the table is held like the rest');
      await fresh.query('ROLLBACK');
      const err = await within('the held statement', held, bound * 10);
      const waited = performance.now() - t0;
      assert.ok(err, 'the held statement failed');
      assert.equal(err.code, '55P03');
      assert.match(err.message, /migration "vanished"/);
      assert.match(err.message, /retry it/);
      assert.ok(waited >= bound * 0.9 && waited < bound + 1000, `held ${waited.toFixed(0)} ms`);

      // The hold is over: statements flow again, a prepared one included.
      const after = performance.now();
      assert.equal((await client.query(prepared)).rows[0].amount, 2);
      assert.ok(performance.now() - after < bound / 2);

      // A Bind of a statement prepared before the hold waits too.
      short.sg.router.beginSwitch('vanished again', ['ledger']);
      await assert.rejects(client.query(prepared), { code: '55P03' });
      assert.equal((await client.query(prepared)).rows[0].amount, 2);

      const counted = (await short.sg.proxy.ctx.metrics.switchHeld.get()).values;
      assert.equal(
        counted.find((v) => v.labels.outcome === 'timed_out')?.value,
        3,
        'held and timed out, counted',
      );
    } finally {
      await Promise.all([client.end(), bystander.end(), locking.end(), fresh.end()]);
      await short.stop();
    }
  });
});

describe('after COMPLETE FORCE, an old-version session is told why a statement needs the retired schema', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;

  before(async () => {
    db = await createPgDatabase('switch_force');
    sg = await startTestShiftgate(db.url);
    const direct = await connect(db.url);
    await direct.query(
      `CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL, legacy text NOT NULL, nick text);
       INSERT INTO posts VALUES (1, 'hello', 'L1', NULL);
       CREATE TABLE other (id int PRIMARY KEY, note text);
       INSERT INTO other VALUES (1, 'untouched')`,
    );
    await direct.end();
  });
  after(async () => {
    await sg?.stop();
    await db?.drop();
  });

  it('names the migration, when it completed and the session version; statements on other objects work', async () => {
    const name = '05_retire';
    sg.writeMigration(
      name,
      [
        'operations:',
        `  - drop_column: { table: posts, column: legacy, down: "'from-new'" }`,
        '  - add_column: { table: posts, column: { name: email, type: text, nullable: false }, up: "title || \'@x\'" }',
        '  - rename_column: { table: posts, from: title, to: headline }',
        `  - alter_column: { table: posts, column: nick, nullable: false, up: "coalesce(nick, 'anon')", down: nick }`,
      ].join('\n'),
    );
    const old = await connect(sg.via(db.url));
    const admin = await connect(sg.via(db.url));
    try {
      assert.deepEqual((await old.query('SELECT legacy FROM posts')).rows, [{ legacy: 'L1' }]);
      await admin.query(`SHIFTGATE START '${name}'`);
      await sg.waitForPhase(db.url, 'active');
      await assert.rejects(admin.query('SHIFTGATE COMPLETE'), { code: '55006' });
      await admin.query('SHIFTGATE COMPLETE FORCE');

      const retired = (err: { code?: string; message: string }) => {
        assert.match(
          err.message,
          /Migration "05_retire" \(completed at \d{4}-\d\d-\d\dT[\d:.]+Z\) changed posts/,
        );
        assert.match(err.message, /this session is still bound to version "\(initial\)"/);
        assert.match(err.message, /reconnect to use the new schema/);
        return true;
      };
      await assert.rejects(
        old.query('SELECT legacy FROM posts WHERE id = 1'),
        (err: { code?: string; message: string }) => {
          assert.equal(err.code, '0A000');
          assert.match(err.message, /posts\.legacy: the column was dropped/);
          return retired(err);
        },
      );
      await assert.rejects(
        old.query('INSERT INTO posts (id, title) VALUES ($1, $2)', [2, 'new']),
        (err: { code?: string; message: string }) => {
          assert.match(err.message, /posts\.email/);
          return retired(err);
        },
      );
      // The server's own error, when the retired schema allowed what the new one refuses.
      await assert.rejects(
        old.query('UPDATE posts SET nick = NULL WHERE id = 1'),
        (err: { code?: string; message: string }) => {
          assert.equal(err.code, '23502');
          assert.match(err.message, /null value in column "nick"/);
          return retired(err);
        },
      );
      // What the retired schema is not needed for keeps working: a renamed column, other tables.
      assert.deepEqual((await old.query('SELECT title FROM posts WHERE id = 1')).rows, [{ title: 'hello' }]);
      assert.deepEqual((await old.query('SELECT note FROM other WHERE id = $1', [1])).rows, [
        { note: 'untouched' },
      ]);
      await old.query(`UPDATE other SET note = 'still fine' WHERE id = 1`);
    } finally {
      await old.end();
      await admin.end();
    }
  });
});
