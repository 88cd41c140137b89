/**
 * MariaDB: the migration runner is killed with SIGKILL five times, each
 * at a random moment of its backfill, or (every other kill) while the
 * server runs a batch's UPDATE, the checkpoint write and COMMIT queued
 * behind it in the same query; each restart resumes from the checkpoint. `up` calls a
 * stored function that logs every row it computes (in the batch's own
 * transaction), so a redone or skipped row shows up; the final table must
 * equal the one an uninterrupted run produces. Same runner as crash.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCrashMigration } from './fixtures/crash-child.ts';
import { type MysqlMigrationDb, mysqlFingerprint, mysqlMigrationDb, mysqlRows } from './helpers/mysql-db.ts';

const ROWS = 20_000;
const KILLS = 5;

async function setup(db: MysqlMigrationDb): Promise<void> {
  await db.sql.query(`CREATE TABLE items (id int PRIMARY KEY, name varchar(20) NOT NULL);
                      INSERT INTO items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_${ROWS};
                      CREATE TABLE calls (id int NOT NULL);`);
  await db.sql.query(`CREATE FUNCTION bump(i int) RETURNS bigint MODIFIES SQL DATA
                      BEGIN
                        INSERT INTO calls VALUES (i);
                        RETURN i * 3 + 1;
                      END`);
}

const child = join(import.meta.dirname, 'fixtures/crash-child.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawnRunner(url: string) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, url], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'silent' },
  });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited, stderr: () => stderr };
}

async function progress(db: MysqlMigrationDb): Promise<{ phase: string | null; done: number }> {
  const r = await mysqlRows<{ phase: string; done: string | null }>(
    db.sql,
    `SELECT m.phase, (SELECT rows_done FROM shiftgate.backfill_checkpoints c
                       WHERE c.schema_name = m.schema_name AND c.migration = m.name) AS done
       FROM shiftgate.migrations m WHERE m.schema_name = DATABASE()`,
  ).catch(() => []);
  return { phase: r[0]?.phase ?? null, done: Number(r[0]?.done ?? 0) };
}

/** Whether the server is running a backfill batch's UPDATE of `items` in this database right now. */
async function batchInFlight(db: MysqlMigrationDb): Promise<boolean> {
  const r = await mysqlRows<{ n: number }>(
    db.sql,
    `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
      WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND INFO LIKE 'UPDATE %items%SET%score%'`,
  );
  return Number(r[0]!.n) > 0;
}

async function tableDigest(db: MysqlMigrationDb): Promise<string> {
  const r = await mysqlRows<{ d: string; n: number }>(
    db.sql,
    `SELECT CAST(BIT_XOR(CRC32(CONCAT(id, ':', name, ':', score))) AS CHAR) AS d, COUNT(*) AS n FROM items`,
  );
  return `${r[0]!.d}/${String(r[0]!.n)}`;
}

describe('MySQL crash and resume', () => {
  let crashed: MysqlMigrationDb;
  let reference: MysqlMigrationDb;
  before(async () => {
    crashed = await mysqlMigrationDb('my_crash');
    reference = await mysqlMigrationDb('my_crash_ref');
    await setup(crashed);
    await setup(reference);
  });
  after(async () => {
    await crashed.close();
    await reference.close();
  });

  it('resumes from the checkpoint after every SIGKILL and ends identical to an uninterrupted run', async () => {
    await runCrashMigration(reference.url);

    // Five kills, each once the runner has made progress of its own in the backfill.
    const kills: { phase: string | null; done: number }[] = [];
    let midQuery = 0;
    for (let k = 0; k < KILLS; k++) {
      const runner = spawnRunner(crashed.url);
      const seen = (await progress(crashed)).done;
      const deadline = Date.now() + 60_000;
      let exited = false;
      void runner.exited.then(() => {
        exited = true;
      });
      for (;;) {
        const now = await progress(crashed);
        if (exited || Date.now() > deadline) break;
        if (now.phase === 'backfilling' && now.done > seen + 200) break;
        await sleep(5);
      }
      if (k % 2 === 1) {
        const until = Date.now() + 10_000;
        while (!exited && Date.now() < until && !(await batchInFlight(crashed)));
        if (!exited && Date.now() < until) midQuery++;
      } else await sleep(Math.random() * 100);
      if (exited) break;
      runner.proc.kill('SIGKILL');
      await runner.exited;
      kills.push(await progress(crashed));
    }
    const last = spawnRunner(crashed.url);
    assert.equal(await last.exited, 0, last.stderr());

    const midBackfill = kills.filter((k) => k.phase === 'backfilling' && k.done > 0 && k.done < ROWS);
    assert.equal(midBackfill.length, KILLS, `kills: ${JSON.stringify(kills)}`);
    assert.equal(midQuery, Math.floor(KILLS / 2), 'every other kill landed while a batch was running');

    const calls = await mysqlRows<{ n: number; d: number }>(
      crashed.sql,
      'SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM calls',
    );
    assert.deepEqual(
      calls.map((c) => [Number(c.n), Number(c.d)]),
      [[ROWS, ROWS]],
      'every row computed exactly once: none redone, none skipped',
    );
    const checkpoint = await mysqlRows(
      crashed.sql,
      'SELECT rows_done AS n, done FROM shiftgate.backfill_checkpoints WHERE schema_name = DATABASE()',
    );
    assert.deepEqual(
      checkpoint.map((c) => [Number(c.n), Number(c.done)]),
      [[ROWS, 1]],
    );
    assert.equal(await tableDigest(crashed), await tableDigest(reference));
    const shape = async (db: MysqlMigrationDb) =>
      JSON.stringify(await mysqlFingerprint(db.sql)).replaceAll(db.database.name, '<db>');
    assert.equal(await shape(crashed), await shape(reference));
    const status = await mysqlRows(
      crashed.sql,
      'SELECT phase, phase_done FROM shiftgate.migrations WHERE schema_name = DATABASE()',
    );
    assert.deepEqual(status, [{ phase: 'active', phase_done: 1 }]);
  });
});
