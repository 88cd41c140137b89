/**
 * While a 200k-row backfill runs, an old-version writer and a new-version
 * writer insert and update the same rows continuously. At the end every
 * row satisfies new = up(old) and holds the latest write either version
 * made, before and after COMPLETE (every row is checked).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import { type MigrationDb, migration, migrationDb, rows } from './helpers/db.ts';

const ROWS = 200_000;
const VERSION = '07_amount_in_cents';
const SHADOW = '_shiftgate_new_amount';

/** What a writer wrote: id -> the highest stamp it wrote there (old-version units). */
type Ledger = Map<number, number>;

interface Writer {
  ledger: Ledger;
  ops: number;
  opsDuringBackfill: number;
  errors: unknown[];
}

/** One stamp sequence for both writers: every write carries a value no earlier write had. */
let stamp = 10_000;

/**
 * Both writers update the same rows and insert into the same id range. A
 * write applies only when its stamp beats the row's current value (read
 * from the old column, which the sync triggers keep in step with the
 * shadow whichever version wrote), so the final value of every row is the
 * highest stamp written to it, whatever order the two sessions' commits
 * took.
 */
async function write(
  client: pg.Client,
  side: 'old' | 'new',
  stop: () => boolean,
  backfilling: () => boolean,
): Promise<Writer> {
  const w: Writer = { ledger: new Map(), ops: 0, opsDuringBackfill: 0, errors: [] };
  const column = side === 'old' ? 'amount' : SHADOW;
  const scale = side === 'old' ? 1 : 100; // the new version counts cents
  while (!stop()) {
    const value = stamp++;
    // Updates hit a small hot range often, so the two writers collide on the same rows.
    const id =
      Math.random() < 0.2
        ? ROWS + 1 + Math.floor(Math.random() * 2000)
        : Math.random() < 0.5
          ? 1 + Math.floor(Math.random() * 500)
          : 1 + Math.floor(Math.random() * ROWS);
    try {
      if (id > ROWS)
        await client.query(
          `INSERT INTO accounts AS a (id, ${column}) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET ${column} = EXCLUDED.${column} WHERE a.amount < $3`,
          [id, value * scale, value],
        );
      else
        await client.query(`UPDATE accounts SET ${column} = $2 WHERE id = $1 AND amount < $3`, [
          id,
          value * scale,
          value,
        ]);
      w.ledger.set(id, value);
      w.ops++;
      if (backfilling()) w.opsDuringBackfill++;
    } catch (err) {
      w.errors.push(err);
    }
  }
  return w;
}

/** Every row's expected amount: the highest stamp either writer wrote, else the initial value. */
function expected(oldW: Writer, newW: Writer): Map<number, number> {
  const out = new Map<number, number>();
  for (let id = 1; id <= ROWS; id++) out.set(id, id % 1000);
  for (const ledger of [oldW.ledger, newW.ledger])
    for (const [id, v] of ledger) if ((out.get(id) ?? -1) < v) out.set(id, v);
  return out;
}

async function actual(db: MigrationDb, column: string, divide: number): Promise<Map<number, number>> {
  const r = await rows<{ id: string; v: string }>(
    db.sql,
    `SELECT id, ${column}::bigint / ${divide} AS v FROM accounts ORDER BY id`,
  );
  return new Map(r.map((x) => [Number(x.id), Number(x.v)]));
}

describe('concurrent writers during a 200k-row backfill', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('concurrent');
    await db.sql.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, amount int NOT NULL, note text);
                        INSERT INTO accounts SELECT g, g % 1000, 'n' FROM generate_series(1, ${ROWS}) g;`);
  });
  after(() => db.close());

  it('keeps new = up(old) for every row and loses no write', async () => {
    const phase = { backfilling: false, stop: false };
    const batches: number[] = [];
    const engine = await db.engine({
      sizing: { targetBatchMs: 40, minBatch: 200, maxBatch: 4000 },
      onEvent: (e: EngineEvent) => {
        if (e.type === 'phase' && e.phase === 'backfilling') phase.backfilling = e.state === 'begin';
        if (e.type === 'batch') batches.push(e.progress.batchSize);
      },
    });
    const oldClient = await db.session();
    const newClient = await db.session(VERSION);
    const m = migration(VERSION, [
      {
        alter_column: {
          table: 'accounts',
          column: 'amount',
          type: 'bigint',
          up: 'amount::bigint * 100',
          down: '(amount / 100)::int',
        },
      },
    ]);
    // The new version exists once expand is done; old-version writers never stop.
    const writers = (async () => {
      const oldWriter = write(
        oldClient,
        'old',
        () => phase.stop,
        () => phase.backfilling,
      );
      while (!phase.backfilling) await new Promise((r) => setTimeout(r, 2));
      const newWriter = write(
        newClient,
        'new',
        () => phase.stop,
        () => phase.backfilling,
      );
      return Promise.all([oldWriter, newWriter]);
    })();
    const status = await engine.start(m);
    await new Promise((r) => setTimeout(r, 300));
    phase.stop = true;
    const [oldW, newW] = await writers;

    assert.equal(status.phase, 'active');
    assert.ok(status.backfill[0]!.rowsTotal >= ROWS);
    assert.ok(batches.length > 20, `${batches.length} batches`);
    assert.deepEqual(oldW.errors, []);
    assert.deepEqual(newW.errors, []);
    assert.ok(
      oldW.opsDuringBackfill > 50 && newW.opsDuringBackfill > 50,
      `${oldW.opsDuringBackfill} / ${newW.opsDuringBackfill} writes during the backfill`,
    );

    const broken = await rows(
      db.sql,
      `SELECT count(*)::int AS n FROM accounts WHERE ${SHADOW} IS DISTINCT FROM amount::bigint * 100`,
    );
    assert.equal(broken[0]!.n, 0, 'every row satisfies new = up(old)');

    const want = expected(oldW, newW);
    const shared = [...oldW.ledger.keys()].filter((id) => newW.ledger.has(id)).length;
    assert.ok(shared > 20, `${shared} rows written by both versions`);
    assert.deepEqual(await actual(db, 'amount', 1), want, 'every row, as the old version reads it');
    assert.deepEqual(await actual(db, SHADOW, 100), want, 'every row, as the new version reads it');

    await engine.complete();
    const type = await rows(
      db.sql,
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'amount'`,
    );
    assert.deepEqual(type, [{ t: 'bigint' }]);
    // After COMPLETE the shadow is the column: every row holds the new version's value.
    const cents = new Map([...want].map(([id, v]) => [id, v * 100]));
    assert.deepEqual(await actual(db, 'amount', 1), cents, 'every row after COMPLETE');
  });
});
