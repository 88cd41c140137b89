/**
 * The migration runner is killed with SIGKILL at random moments, several
 * times; each restart resumes from the checkpoint. `up` calls a function that
 * logs every row it computes, so a redone or skipped row shows up; the final
 * table must equal the one an uninterrupted run produces.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCrashMigration } from './fixtures/crash-child.ts';
import { type MigrationDb, migrationDb, rows } from './helpers/db.ts';
import { fingerprint } from './helpers/fingerprint.ts';

const ROWS = 40_000;
const SETUP = `
  CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
  INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g;
  CREATE TABLE calls (id int NOT NULL);
  CREATE FUNCTION bump(i int) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    INSERT INTO calls VALUES (i);
    RETURN i::bigint * 3 + 1;
  END $$;`;

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

async function progress(db: MigrationDb): Promise<{ phase: string | null; done: number }> {
  const r = await rows<{ phase: string; done: string | null }>(
    db.sql,
    `SELECT m.phase, (SELECT rows_done FROM shiftgate.backfill_checkpoints c WHERE c.migration = m.name) AS done
       FROM shiftgate.migrations m`,
  ).catch(() => []);
  return { phase: r[0]?.phase ?? null, done: Number(r[0]?.done ?? 0) };
}

async function tableDigest(db: MigrationDb): Promise<string> {
  const r = await rows<{ d: string }>(
    db.sql,
    `SELECT md5(string_agg(id || ':' || name || ':' || score, ',' ORDER BY id)) AS d FROM items`,
  );
  return r[0]!.d;
}

describe('crash and resume', () => {
  let crashed: MigrationDb;
  let reference: MigrationDb;
  before(async () => {
    crashed = await migrationDb('crash');
    reference = await migrationDb('crash_ref');
    await crashed.sql.query(SETUP);
    await reference.sql.query(SETUP);
  });
  after(async () => {
    await crashed.close();
    await reference.close();
  });

  it('resumes from the checkpoint after every SIGKILL and ends identical to an uninterrupted run', async () => {
    await runCrashMigration(reference.url);

    const kills: { phase: string | null; done: number }[] = [];
    // The first kill lands anywhere (start-up, expand, backfill); the next ones inside the backfill.
    const first = spawnRunner(crashed.url);
    await sleep(300 + Math.random() * 1200);
    kills.push(await progress(crashed));
    first.proc.kill('SIGKILL');
    await first.exited;
    for (let k = 0; k < 4; k++) {
      const runner = spawnRunner(crashed.url);
      const seen = (await progress(crashed)).done;
      const deadline = Date.now() + 60_000;
      let exited = false;
      void runner.exited.then(() => {
        exited = true;
      });
      // Wait until this run has made progress of its own, then kill at a random moment.
      while (!exited && Date.now() < deadline && (await progress(crashed)).done <= seen + 500)
        await sleep(10);
      await sleep(Math.random() * 150);
      const at = await progress(crashed);
      if (exited) break;
      runner.proc.kill('SIGKILL');
      await runner.exited;
      kills.push(at);
    }
    const last = spawnRunner(crashed.url);
    assert.equal(await last.exited, 0, last.stderr());

    const midBackfill = kills.filter((k) => k.phase === 'backfilling' && k.done > 0 && k.done < ROWS);
    assert.ok(midBackfill.length >= 3, `kills: ${JSON.stringify(kills)}`);

    const calls = await rows<{ n: number; distinct: number }>(
      crashed.sql,
      'SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM calls',
    );
    assert.deepEqual(
      calls,
      [{ n: ROWS, distinct: ROWS }],
      'every row computed exactly once: none redone, none skipped',
    );
    const checkpoint = await rows(
      crashed.sql,
      'SELECT rows_done::int AS n, done FROM shiftgate.backfill_checkpoints',
    );
    assert.deepEqual(checkpoint, [{ n: ROWS, done: true }]);
    assert.equal(await tableDigest(crashed), await tableDigest(reference));
    assert.deepEqual(await fingerprint(crashed.sql), await fingerprint(reference.sql));
    const status = await rows(crashed.sql, 'SELECT phase, phase_done FROM shiftgate.migrations');
    assert.deepEqual(status, [{ phase: 'active', phase_done: true }]);
  });
});
