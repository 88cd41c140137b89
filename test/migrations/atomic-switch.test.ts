/**
 * The switch is atomic: COMPLETE and ROLLBACK run their DDL in one
 * transaction (PostgreSQL has transactional DDL) that also records the
 * phase's end, so another session sees either the whole old schema with
 * the migration still in flight or the whole new one with it finished,
 * never a half-switched table. Checked from a second session at the moment
 * the switch's work is done but not committed (the engine's crash-point
 * hook), and again after the commit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type MigrationDb, migration, migrationDb } from './helpers/db.ts';

/** Several operations, so the contract and the rollback are several actions each. */
const MIGRATION = migration('02_switch', [
  { rename_column: { table: 'users', from: 'name', to: 'full_name' } },
  {
    add_column: {
      table: 'users',
      column: { name: 'email', type: 'text', nullable: false, unique: true },
      up: "lower(name) || '@x'",
    },
  },
  { alter_column: { table: 'users', column: 'age', type: 'bigint', up: 'age', down: 'age::int' } },
  { rename_table: { from: 'users', to: 'people' } },
]);

describe('the switch runs as one transaction', () => {
  for (const command of ['complete', 'rollback'] as const) {
    describe(command, () => {
      let db: MigrationDb;
      before(async () => {
        db = await migrationDb(`atomic_${command}`);
        await db.sql.query(`CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, age int);
          INSERT INTO users SELECT g, 'User' || g, g FROM generate_series(1, 50) g`);
        const engine = await db.engine();
        assert.equal((await engine.start(MIGRATION)).phase, 'active');
      });
      after(() => db.close());

      it('another session sees the schema and the phase before the switch until it commits, then both after', async () => {
        // Plain catalog reads: they take no lock, so they can look while the switch holds its locks.
        const shape = async () =>
          (
            await db.sql.query<{ c: string }>(
              `SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                      || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS c
                 FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
                  AND NOT a.attisdropped
                ORDER BY c.relname, a.attnum`,
            )
          ).rows.map((r) => r.c);
        const beforeSwitch = await shape();
        const phaseOf = async () =>
          (
            await db.sql.query<{ phase: string; phase_done: boolean }>(
              `SELECT phase, phase_done FROM shiftgate.migrations WHERE name = '02_switch'`,
            )
          ).rows[0];
        const seen: { boundary: number; schemaUnchanged: boolean; phase: string }[] = [];
        const engine = await db.engine({
          crashPointForTests: async ({ phase, boundary }) => {
            if (phase !== (command === 'complete' ? 'contracting' : 'rolling_back')) return;
            const schemaUnchanged = JSON.stringify(await shape()) === JSON.stringify(beforeSwitch);
            seen.push({ boundary, schemaUnchanged, phase: (await phaseOf())!.phase });
          },
        });
        const status = await engine[command]();
        const done = command === 'complete' ? 'completed' : 'rolled_back';
        assert.equal(status.phase, done);
        // The first crash point is inside the switch's one transaction: nothing of it is visible yet.
        assert.deepEqual(seen[0], {
          boundary: 1,
          schemaUnchanged: true,
          phase: command === 'complete' ? 'contracting' : 'rolling_back',
        });
        // The next one follows its commit: the whole switch and the phase's end, together.
        assert.equal(seen[1]?.schemaUnchanged, false);
        assert.equal(seen[1]?.phase, done);
        assert.deepEqual(await phaseOf(), { phase: done, phase_done: true });
        assert.deepEqual(
          await shape(),
          command === 'complete'
            ? [
                'people.id integer not null',
                'people.full_name text not null',
                'people.email text not null',
                'people.age bigint',
              ]
            : ['users.id integer not null', 'users.name text not null', 'users.age integer'],
        );
      });
    });
  }
});
