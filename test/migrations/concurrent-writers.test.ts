/**
 * While a 200k-row backfill runs, an old-version writer and a new-version
 * writer insert, update and delete continuously. At the end every row
 * satisfies new = up(old), and every write either version made is there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import { type MigrationDb, migration, migrationDb, rows } from './helpers/db.ts';

const ROWS = 200_000;
const VERSION = '07_amount_in_cents';
const SHADOW = '_shiftgate_new_amount';

/** A writer's view of what it wrote: id -> value in its own version's units, null when deleted. */
type Ledger = Map<number, number | null>;

interface Writer {
  ledger: Ledger;
  ops: number;
  opsDuringBackfill: number;
  errors: unknown[];
}

async function write(
  client: pg.Client,
  side: 'old' | 'new',
  stop: () => boolean,
  backfilling: () => boolean,
): Promise<Writer> {
  const w: Writer = { ledger: new Map(), ops: 0, opsDuringBackfill: 0, errors: [] };
  const parity = side === 'old' ? 0 : 1;
  let nextId = 1_000_000 + parity;
  const column = side === 'old' ? 'amount' : SHADOW;
  const scale = side === 'old' ? 1 : 100; // the new version counts cents
  const pick = () => {
    // Writers own disjoint rows (even / odd ids), so each ledger is the truth for its rows.
    const id = 2 * Math.floor(Math.random() * (ROWS / 2)) + (parity === 0 ? 2 : 1);
    return Math.min(id, ROWS);
  };
  while (!stop()) {
    const dice = Math.random();
    const value = Math.floor(Math.random() * 10_000) * scale;
    try {
      if (dice < 0.4) {
        const id = nextId;
        nextId += 2;
        await client.query(`INSERT INTO accounts (id, ${column}) VALUES ($1, $2)`, [id, value]);
        w.ledger.set(id, value);
      } else if (dice < 0.85) {
        const id = pick();
        if (w.ledger.get(id) === null) continue;
        await client.query(`UPDATE accounts SET ${column} = $2 WHERE id = $1`, [id, value]);
        w.ledger.set(id, value);
      } else {
        const id = pick();
        await client.query('DELETE FROM accounts WHERE id = $1', [id]);
        w.ledger.set(id, null);
      }
      w.ops++;
      if (backfilling()) w.opsDuringBackfill++;
    } catch (err) {
      w.errors.push(err);
    }
  }
  return w;
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

    const check = async (ledger: Ledger, column: string) => {
      const ids = [...ledger.keys()];
      const found = new Map(
        (
          await rows<{ id: string; v: string }>(
            db.sql,
            `SELECT id, ${column}::bigint AS v FROM accounts WHERE id = ANY($1)`,
            [ids],
          )
        ).map((r) => [Number(r.id), Number(r.v)]),
      );
      for (const [id, value] of ledger) assert.equal(found.get(id) ?? null, value, `row ${id}`);
    };
    await check(oldW.ledger, 'amount');
    await check(newW.ledger, SHADOW);

    const inserted = [...oldW.ledger, ...newW.ledger].filter(([id, v]) => id > ROWS && v !== null).length;
    const deleted = [...oldW.ledger, ...newW.ledger].filter(([id, v]) => id <= ROWS && v === null).length;
    const count = await rows(db.sql, 'SELECT count(*)::int AS n FROM accounts');
    assert.equal(count[0]!.n, ROWS + inserted - deleted);
    const untouched = await rows(
      db.sql,
      `SELECT count(*)::int AS n FROM accounts WHERE id <= ${ROWS} AND id <> ALL($1) AND amount <> id % 1000`,
      [[...oldW.ledger.keys(), ...newW.ledger.keys()]],
    );
    assert.equal(untouched[0]!.n, 0);

    await engine.complete();
    const type = await rows(
      db.sql,
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'amount'`,
    );
    assert.deepEqual(type, [{ t: 'bigint' }]);
    for (const [id, value] of newW.ledger)
      if (value !== null && id % 97 === 0) {
        const r = await rows(db.sql, 'SELECT amount::bigint AS a FROM accounts WHERE id = $1', [id]);
        assert.equal(Number(r[0]!.a), value);
      }
  });
});
