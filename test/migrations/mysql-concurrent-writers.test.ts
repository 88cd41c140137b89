/**
 * MariaDB: while a backfill runs, an old-version writer and a new-version
 * writer insert and update the same rows continuously. At the end every
 * row satisfies new = up(old) and holds the latest write either version
 * made, before and after COMPLETE (every row is compared, and a checksum
 * of each column).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Connection } from 'mysql2/promise';
import type { EngineEvent } from '../../src/migrations/engine.ts';
import { migration } from './helpers/db.ts';
import { type MysqlMigrationDb, mysqlMigrationDb, mysqlRows } from './helpers/mysql-db.ts';

/** SHIFTGATE_TEST_MYSQL_ROWS raises it (the 200k run); the suite keeps CI short. */
const ROWS = Number(process.env.SHIFTGATE_TEST_MYSQL_ROWS ?? 200_000);
const VERSION = '07_amount_in_cents';
const SHADOW = '_shiftgate_new_amount';

interface Writer {
  ledger: Map<number, number>;
  ops: number;
  opsDuringBackfill: number;
  errors: unknown[];
}

let stamp = 10_000;

/** As in concurrent-writers.test.ts: a write applies only when its stamp beats the row's current value. */
async function write(
  conn: Connection,
  side: 'old' | 'new',
  stop: () => boolean,
  backfilling: () => boolean,
): Promise<Writer> {
  const w: Writer = { ledger: new Map(), ops: 0, opsDuringBackfill: 0, errors: [] };
  const column = side === 'old' ? 'amount' : SHADOW;
  const scale = side === 'old' ? 1 : 100;
  while (!stop()) {
    const value = stamp++;
    const id =
      Math.random() < 0.2
        ? ROWS + 1 + Math.floor(Math.random() * 500)
        : Math.random() < 0.5
          ? 1 + Math.floor(Math.random() * 300)
          : 1 + Math.floor(Math.random() * ROWS);
    try {
      if (id > ROWS)
        await conn.query(
          `INSERT INTO accounts (id, ${column}) VALUES (?, ?)
           ON DUPLICATE KEY UPDATE ${column} = IF(amount < ?, ?, ${column})`,
          [id, value * scale, value, value * scale],
        );
      else
        await conn.query(`UPDATE accounts SET ${column} = ? WHERE id = ? AND amount < ?`, [
          value * scale,
          id,
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

function expected(oldW: Writer, newW: Writer): Map<number, number> {
  const out = new Map<number, number>();
  for (let id = 1; id <= ROWS; id++) out.set(id, id % 1000);
  for (const ledger of [oldW.ledger, newW.ledger])
    for (const [id, v] of ledger) if ((out.get(id) ?? -1) < v) out.set(id, v);
  return out;
}

async function actual(db: MysqlMigrationDb, column: string, divide: number): Promise<Map<number, number>> {
  const r = await mysqlRows<{ id: number; v: string }>(
    db.sql,
    `SELECT id, CAST(${column} DIV ${divide} AS CHAR) AS v FROM accounts ORDER BY id`,
  );
  return new Map(r.map((x) => [Number(x.id), Number(x.v)]));
}

async function checksum(db: MysqlMigrationDb, expression: string): Promise<string> {
  const r = await mysqlRows<{ c: string }>(
    db.sql,
    `SELECT CAST(BIT_XOR(CRC32(CONCAT(id, ':', ${expression}))) AS CHAR) AS c FROM accounts`,
  );
  return r[0]!.c;
}

describe('MySQL: concurrent writers of both versions during a backfill', () => {
  let db: MysqlMigrationDb;
  before(async () => {
    db = await mysqlMigrationDb('my_concurrent');
    await db.sql.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, amount int NOT NULL, note varchar(10));
                        INSERT INTO accounts
                        SELECT seq, seq % 1000, 'n' FROM seq_1_to_${ROWS};`);
  });
  after(() => db.close());

  it('keeps new = up(old) for every row and loses no write', async () => {
    const phase = { backfilling: false, stop: false };
    const batches: number[] = [];
    const engine = await db.engine({
      sizing: { targetBatchMs: 30, minBatch: 100, maxBatch: 1000 },
      onEvent: (e: EngineEvent) => {
        if (e.type === 'phase' && e.phase === 'backfilling') phase.backfilling = e.state === 'begin';
        if (e.type === 'batch') batches.push(e.progress.batchSize);
      },
    });
    const oldConn = await db.session();
    const newConn = await db.session(VERSION);
    const m = migration(VERSION, [
      {
        alter_column: {
          table: 'accounts',
          column: 'amount',
          type: 'bigint',
          up: 'amount * 100',
          down: 'amount DIV 100',
        },
      },
    ]);
    const writers = (async () => {
      const oldWriter = write(
        oldConn,
        'old',
        () => phase.stop,
        () => phase.backfilling,
      );
      while (!phase.backfilling) await new Promise((r) => setTimeout(r, 2));
      const newWriter = write(
        newConn,
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
    assert.ok(batches.length > 10, `${batches.length} batches`);
    assert.deepEqual(oldW.errors, []);
    assert.deepEqual(newW.errors, []);
    assert.ok(
      oldW.opsDuringBackfill > 20 && newW.opsDuringBackfill > 20,
      `${oldW.opsDuringBackfill} / ${newW.opsDuringBackfill} writes during the backfill`,
    );

    const broken = await mysqlRows(
      db.sql,
      `SELECT COUNT(*) AS n FROM accounts WHERE NOT (${SHADOW} <=> amount * 100)`,
    );
    assert.equal(Number(broken[0]!.n), 0, 'every row satisfies new = up(old)');
    assert.equal(await checksum(db, `${SHADOW} DIV 100`), await checksum(db, 'amount'));

    const want = expected(oldW, newW);
    const shared = [...oldW.ledger.keys()].filter((id) => newW.ledger.has(id)).length;
    assert.ok(shared > 5, `${shared} rows written by both versions`);
    assert.deepEqual(await actual(db, 'amount', 1), want, 'every row, as the old version reads it');
    assert.deepEqual(await actual(db, SHADOW, 100), want, 'every row, as the new version reads it');

    const before = await checksum(db, SHADOW);
    await engine.complete();
    assert.equal(await checksum(db, 'amount'), before, 'COMPLETE moved the new column into place');
    const cents = new Map([...want].map(([id, v]) => [id, v * 100]));
    assert.deepEqual(await actual(db, 'amount', 1), cents, 'every row after COMPLETE');
  });
});
