/**
 * One migration command at a time: ten START / COMPLETE / ROLLBACK commands
 * sent at once from ten admin sessions through the real proxy. Exactly one
 * runs; every other one gets 55006 (object_in_use) with a hint, or, when it
 * arrives after the winner finished, the ordinary state error. The
 * migration's record and the schema show that one command's work, done once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { EMAIL_MIGRATION } from '../helpers/audited-users.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

interface Outcome {
  ok: boolean;
  code?: string | undefined;
  message?: string;
  hint?: string | undefined;
}

describe('migration commands from concurrent admin sessions', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let plain: pg.Client;

  before(async () => {
    db = await createPgDatabase('serialised');
    plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    await plain.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await plain.query("INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, 5000) g");
    sg = await startTestShiftgate(db.url);
    sg.writeMigration('02_email', EMAIL_MIGRATION);
  });

  after(async () => {
    await plain.end();
    await sg.stop();
    await db.drop();
  });

  /** Opens every session first, then sends all commands in the same tick. */
  async function race(commands: string[]): Promise<Outcome[]> {
    const clients = await Promise.all(
      commands.map(async () => {
        const c = new pg.Client({ connectionString: sg.via(db.url) });
        await c.connect();
        return c;
      }),
    );
    try {
      const settled = await Promise.allSettled(commands.map((sql, i) => clients[i]!.query(sql)));
      return settled.map((s) =>
        s.status === 'fulfilled'
          ? { ok: true }
          : {
              ok: false,
              code: (s.reason as pg.DatabaseError).code,
              message: (s.reason as Error).message,
              hint: (s.reason as pg.DatabaseError).hint,
            },
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  }

  function assertOneRan(outcomes: Outcome[], lateCodes: string[]): void {
    assert.equal(outcomes.filter((o) => o.ok).length, 1, JSON.stringify(outcomes, null, 1));
    const busy = outcomes.filter((o) => o.code === '55006');
    assert.ok(busy.length >= 1, `no command was refused as busy: ${JSON.stringify(outcomes)}`);
    for (const o of busy) {
      assert.match(o.message!, /in progress/, o.message);
      assert.ok(o.hint && o.hint.length > 0, 'a busy refusal says what to do');
    }
    for (const o of outcomes.filter((x) => !x.ok && x.code !== '55006'))
      assert.ok(lateCodes.includes(o.code!), `unexpected refusal: ${JSON.stringify(o)}`);
  }

  async function record() {
    return (
      await plain.query('SELECT name, phase, phase_done, error FROM shiftgate.migrations ORDER BY created_at')
    ).rows;
  }

  test('ten STARTs: one starts the migration, the others are refused', async () => {
    const outcomes = await race(Array.from({ length: 10 }, () => "SHIFTGATE START '02_email'"));
    // A START that arrives after the winner returned finds its backfill running (55000).
    assertOneRan(outcomes, ['55000']);
    await sg.waitForPhase(db.url, 'active');
    assert.deepEqual(await record(), [{ name: '02_email', phase: 'active', phase_done: true, error: null }]);
    const bad = await plain.query(
      "SELECT count(*)::int AS n FROM users WHERE email IS DISTINCT FROM lower(replace(name, ' ', '.')) || '@example.com'",
    );
    assert.equal(bad.rows[0].n, 0);
  });

  test('five COMPLETEs and five ROLLBACKs: one of them runs, once', async () => {
    const commands = Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0 ? 'SHIFTGATE COMPLETE FORCE' : 'SHIFTGATE ROLLBACK',
    );
    const outcomes = await race(commands);
    // One that arrives after the winner finished finds no migration in flight (55000).
    assertOneRan(outcomes, ['55000']);
    const winner = commands[outcomes.findIndex((o) => o.ok)]!;
    const rows = await record();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].phase, winner.includes('COMPLETE') ? 'completed' : 'rolled_back');
    assert.equal(rows[0].error, null);
    const phases = await plain.query(
      "SELECT phase, count(*)::int AS n FROM shiftgate.events WHERE event = 'begin' AND phase IN ('contracting', 'rolling_back') GROUP BY phase",
    );
    assert.equal(phases.rows.length, 1, 'only one of COMPLETE and ROLLBACK ran');
    assert.equal(phases.rows[0].n, 1, 'and it ran once');
  });
});
