import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columns, rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

const SHADOW = '_shiftgate_new_amount';

describe('alter_column', () => {
  it('changes a type through a shadow column kept in sync both ways', () =>
    runLifecycle('alter_type', {
      setup: `CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL);
              INSERT INTO orders SELECT g, g FROM generate_series(1, 120) g;`,
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
      async afterStart({ db, version, round }) {
        assert.deepEqual(await columns(db.sql, 'orders'), ['id', 'amount', SHADOW]);
        const bad = await rows(
          db.sql,
          `SELECT count(*)::int AS n FROM orders WHERE ${SHADOW} IS DISTINCT FROM amount * 100`,
        );
        assert.equal(bad[0]!.n, 0, 'backfill fills every row with up(old)');
        const base = 1000 * round;
        // An old-version writer knows only `amount`.
        const old = await db.session();
        await old.query('INSERT INTO orders (id, amount) VALUES ($1, 7)', [base]);
        await old.query('UPDATE orders SET amount = 9 WHERE id = 5');
        // A new-version writer writes the new column (the proxy maps `amount` to the shadow).
        const next = await db.session(version);
        await next.query(`INSERT INTO orders (id, ${SHADOW}) VALUES ($1, 4200)`, [base + 1]);
        await next.query(`UPDATE orders SET ${SHADOW} = 1300 WHERE id = 6`);
        const got = await rows(
          db.sql,
          `SELECT id, amount, ${SHADOW}::int AS shadow FROM orders WHERE id IN (5, 6, $1, $2) ORDER BY id`,
          [base, base + 1],
        );
        assert.deepEqual(got, [
          { id: 5, amount: 9, shadow: 900 },
          { id: 6, amount: 13, shadow: 1300 },
          { id: base, amount: 7, shadow: 700 },
          { id: base + 1, amount: 42, shadow: 4200 },
        ]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await columns(db.sql, 'orders'), ['id', 'amount']);
        const type = await rows(
          db.sql,
          `SELECT format_type(atttypid, atttypmod) AS t, attnotnull FROM pg_attribute
                                          WHERE attrelid = 'orders'::regclass AND attname = 'amount'`,
        );
        assert.deepEqual(type, [{ t: 'bigint', attnotnull: true }]);
        const got = await rows(
          db.sql,
          'SELECT amount::int AS amount FROM orders WHERE id IN (1, 2, 5) ORDER BY id',
        );
        assert.deepEqual(got, [{ amount: 100 }, { amount: 200 }, { amount: 900 }]);
      },
    }));

  it('sets NOT NULL through a NOT VALID check, validated, then SET NOT NULL at complete', () =>
    runLifecycle('alter_notnull', {
      setup: `CREATE TABLE users (id int PRIMARY KEY, email text);
              INSERT INTO users VALUES (1, 'a@x'), (2, NULL), (3, 'c@x');`,
      operations: [
        {
          alter_column: {
            table: 'users',
            column: 'email',
            nullable: false,
            up: "coalesce(email, 'none')",
            down: 'email',
          },
        },
      ],
      async afterStart({ db, round }) {
        const check = await rows(
          db.sql,
          `SELECT conname, convalidated FROM pg_constraint
                                           WHERE conrelid = 'users'::regclass AND contype = 'c'`,
        );
        assert.deepEqual(check, [{ conname: '_shiftgate_nn__shiftgate_new_email', convalidated: true }]);
        const old = await db.session();
        await old.query('INSERT INTO users VALUES ($1, NULL)', [10 * round]);
        const got = await rows(
          db.sql,
          'SELECT id, email, _shiftgate_new_email AS e FROM users WHERE id IN (2, $1) ORDER BY id',
          [10 * round],
        );
        assert.deepEqual(got, [
          { id: 2, email: null, e: 'none' },
          { id: 10 * round, email: null, e: 'none' },
        ]);
      },
      async afterComplete({ db }) {
        const col = await rows(
          db.sql,
          `SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`,
        );
        assert.deepEqual(col, [{ attnotnull: true }]);
        const checks = await rows(
          db.sql,
          `SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'c'`,
        );
        assert.deepEqual(checks, []);
        await assert.rejects(db.sql.query('INSERT INTO users VALUES (99, NULL)'), /null value/);
      },
    }));

  it('adds unique, check and foreign key to a column and keeps its existing index and constraints', () =>
    runLifecycle('alter_constraints', {
      setup: `CREATE TABLE teams (id int PRIMARY KEY);
              INSERT INTO teams SELECT generate_series(1, 5);
              CREATE TABLE players (id int PRIMARY KEY, team int CONSTRAINT players_team_positive CHECK (team > 0),
                                    code text CONSTRAINT players_code_key UNIQUE, score int);
              CREATE INDEX players_team_score ON players (team, id);
              COMMENT ON COLUMN players.team IS 'the team';
              INSERT INTO players SELECT g, 1 + g % 5, 'p' || g, g FROM generate_series(1, 40) g;`,
      operations: [
        {
          alter_column: {
            table: 'players',
            column: 'team',
            references: { name: 'players_team_fkey', table: 'teams', column: 'id', on_delete: 'CASCADE' },
            check: { name: 'players_team_small', constraint: 'team < 100' },
            up: 'CASE WHEN team > 5 THEN 5 ELSE team END',
            down: 'team',
          },
        },
        {
          alter_column: {
            table: 'players',
            column: 'score',
            unique: { name: 'players_score_key' },
            up: 'score',
            down: 'score',
          },
        },
      ],
      async afterStart({ db }) {
        const cons = await rows(
          db.sql,
          `SELECT conname, convalidated FROM pg_constraint
                                          WHERE conrelid = 'players'::regclass ORDER BY conname`,
        );
        const names = cons.map((c) => c.conname);
        assert.ok(names.includes('players_team_fkey') && names.includes('players_team_small'));
        assert.ok(
          cons.every((c) => c.convalidated),
          'the validating phase validated every NOT VALID constraint',
        );
        const idx = await rows(
          db.sql,
          `SELECT indexname FROM pg_indexes WHERE tablename = 'players' ORDER BY 1`,
        );
        assert.ok(idx.some((i) => i.indexname === '_shiftgate_tmp_players_team_score'));
        assert.ok(idx.some((i) => i.indexname === '_shiftgate_tmp_players_score_key'));
        // An old-version write with a team the new check refuses still succeeds: only its shadow is clamped.
        const old = await db.session();
        await old.query('UPDATE players SET team = 5 WHERE id = 1');
        const got = await rows(db.sql, 'SELECT team, _shiftgate_new_team AS t FROM players WHERE id = 1');
        assert.deepEqual(got, [{ team: 5, t: 5 }]);
      },
      async afterComplete({ db }) {
        const cons = await rows(
          db.sql,
          `SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint
                                          WHERE conrelid = 'players'::regclass ORDER BY conname`,
        );
        assert.deepEqual(
          cons.map((c) => [c.conname, c.def, c.convalidated]),
          [
            ['players_code_key', 'UNIQUE (code)', true],
            ['players_pkey', 'PRIMARY KEY (id)', true],
            ['players_score_key', 'UNIQUE (score)', true],
            ['players_team_fkey', 'FOREIGN KEY (team) REFERENCES teams(id) ON DELETE CASCADE', true],
            ['players_team_positive', 'CHECK ((team > 0))', true],
            ['players_team_small', 'CHECK ((team < 100))', true],
          ],
        );
        const idx = await rows(
          db.sql,
          `SELECT indexdef FROM pg_indexes WHERE indexname = 'players_team_score'`,
        );
        assert.deepEqual(idx, [
          { indexdef: 'CREATE INDEX players_team_score ON public.players USING btree (team, id)' },
        ]);
        const comment = await rows(
          db.sql,
          `SELECT col_description('players'::regclass, attnum) AS c FROM pg_attribute
                                             WHERE attrelid = 'players'::regclass AND attname = 'team'`,
        );
        assert.deepEqual(comment, [{ c: 'the team' }]);
        await assert.rejects(
          db.sql.query('INSERT INTO players (id, team, score) VALUES (100, 77, 1000)'),
          /foreign key|check/,
        );
      },
    }));

  it('changes a default and a comment in place and restores them on rollback', () =>
    runLifecycle('alter_default', {
      setup: `CREATE TABLE items (id int PRIMARY KEY, status text DEFAULT 'new');
              COMMENT ON COLUMN items.status IS 'old comment';`,
      operations: [
        {
          alter_column: { table: 'items', column: 'status', default: "'draft'", comment: 'lifecycle state' },
        },
      ],
      async afterStart({ db }) {
        const got = await rows(
          db.sql,
          `SELECT pg_get_expr(d.adbin, d.adrelid) AS def, col_description(a.attrelid, a.attnum) AS c
                                          FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                                         WHERE a.attrelid = 'items'::regclass AND a.attname = 'status'`,
        );
        assert.deepEqual(got, [{ def: "'draft'::text", c: 'lifecycle state' }]);
        assert.deepEqual(await columns(db.sql, 'items'), ['id', 'status']);
      },
      async afterComplete({ db }) {
        await db.sql.query('INSERT INTO items (id) VALUES (1)');
        assert.deepEqual(await rows(db.sql, 'SELECT status FROM items'), [{ status: 'draft' }]);
      },
    }));

  it('renames a column with `name` at complete only', () =>
    runLifecycle('alter_name', {
      setup: 'CREATE TABLE people (id int PRIMARY KEY, nm text); INSERT INTO people VALUES (1, $$ann$$);',
      operations: [{ alter_column: { table: 'people', column: 'nm', name: 'full_name' } }],
      async afterStart({ db }) {
        assert.deepEqual(await columns(db.sql, 'people'), ['id', 'nm']);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT full_name FROM people'), [{ full_name: 'ann' }]);
      },
    }));
});
