import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columns, rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('add_column', () => {
  it('adds a NOT NULL column filled by up: NOT VALID check first, SET NOT NULL at complete', () =>
    runLifecycle('add_up', {
      setup: `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
              INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, 75) g;`,
      operations: [
        {
          add_column: {
            table: 'users',
            column: { name: 'slug', type: 'text' },
            up: "lower(replace(name, ' ', '-'))",
          },
        },
      ],
      async afterStart({ db, version, round }) {
        assert.deepEqual(await columns(db.sql, 'users'), ['id', 'name', 'slug']);
        const col = await rows(
          db.sql,
          `SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'slug'`,
        );
        assert.deepEqual(
          col,
          [{ attnotnull: false }],
          'the column is added nullable: a brief lock, old inserts keep working',
        );
        const missing = await rows(
          db.sql,
          `SELECT count(*)::int AS n FROM users WHERE slug IS DISTINCT FROM lower(replace(name, ' ', '-'))`,
        );
        assert.equal(missing[0]!.n, 0);
        const old = await db.session();
        await old.query('INSERT INTO users (id, name) VALUES ($1, $2)', [100 + round, 'Old Writer']);
        const next = await db.session(version);
        await next.query('INSERT INTO users (id, name, slug) VALUES ($1, $2, $3)', [
          200 + round,
          'New Writer',
          'custom',
        ]);
        const got = await rows(db.sql, 'SELECT id, slug FROM users WHERE id IN ($1, $2) ORDER BY id', [
          100 + round,
          200 + round,
        ]);
        assert.deepEqual(got, [
          { id: 100 + round, slug: 'old-writer' },
          { id: 200 + round, slug: 'custom' },
        ]);
        await assert.rejects(
          next.query('INSERT INTO users (id, name) VALUES (999, $1)', ['x']),
          /check constraint/,
        );
      },
      async afterComplete({ db }) {
        const col = await rows(
          db.sql,
          `SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'slug'`,
        );
        assert.deepEqual(col, [{ attnotnull: true }]);
        assert.deepEqual(
          await rows(db.sql, `SELECT tgname FROM pg_trigger WHERE tgrelid = 'users'::regclass`),
          [],
        );
      },
    }));

  it('adds nullable columns with a default, a unique key, a check and a foreign key', () =>
    runLifecycle('add_constraints', {
      setup: `CREATE TABLE teams (id int PRIMARY KEY);
              INSERT INTO teams VALUES (1), (2);
              CREATE TABLE members (id int PRIMARY KEY);
              INSERT INTO members SELECT generate_series(1, 20);`,
      operations: [
        {
          add_column: {
            table: 'members',
            column: {
              name: 'team_id',
              type: 'integer',
              nullable: true,
              references: { name: 'members_team_fk', table: 'teams', column: 'id', on_delete: 'SET NULL' },
            },
          },
        },
        {
          add_column: {
            table: 'members',
            column: { name: 'badge', type: 'text', nullable: true, unique: true },
          },
        },
        {
          add_column: {
            table: 'members',
            column: {
              name: 'level',
              type: 'int',
              default: '1',
              check: { name: 'members_level_range', constraint: 'level BETWEEN 1 AND 10' },
            },
          },
        },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT DISTINCT level FROM members'), [{ level: 1 }]);
        const cons = await rows(
          db.sql,
          `SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'members'::regclass ORDER BY 1`,
        );
        assert.deepEqual(cons, [
          { conname: '_shiftgate_nn_level', convalidated: true },
          { conname: 'members_level_range', convalidated: true },
          { conname: 'members_pkey', convalidated: true },
          { conname: 'members_team_fk', convalidated: true },
        ]);
        const idx = await rows(
          db.sql,
          `SELECT indexname FROM pg_indexes WHERE tablename = 'members' ORDER BY 1`,
        );
        assert.deepEqual(
          idx.map((i) => i.indexname),
          ['_shiftgate_tmp_members_badge_key', 'members_pkey'],
        );
      },
      async afterComplete({ db }) {
        const cons = await rows(
          db.sql,
          `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
                                          WHERE conrelid = 'members'::regclass ORDER BY 1`,
        );
        assert.deepEqual(cons, [
          { conname: 'members_badge_key', def: 'UNIQUE (badge)' },
          { conname: 'members_level_range', def: 'CHECK (((level >= 1) AND (level <= 10)))' },
          { conname: 'members_pkey', def: 'PRIMARY KEY (id)' },
          {
            conname: 'members_team_fk',
            def: 'FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE SET NULL',
          },
        ]);
        await assert.rejects(
          db.sql.query('INSERT INTO members (id, level) VALUES (500, 11)'),
          /members_level_range/,
        );
      },
    }));

  it('adds a column to a table created by the same migration, final at once', () =>
    runLifecycle('add_fresh', {
      setup: 'SELECT 1',
      operations: [
        { create_table: { name: 'events', columns: [{ name: 'id', type: 'bigint', pk: true }] } },
        { add_column: { table: 'events', column: { name: 'kind', type: 'text', unique: true } } },
        { create_index: { name: 'events_kind_idx', table: 'events', columns: ['kind', 'id'] } },
      ],
      async afterStart({ db }) {
        const col = await rows(
          db.sql,
          `SELECT attnotnull FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'kind'`,
        );
        assert.deepEqual(col, [{ attnotnull: true }]);
        assert.deepEqual(
          await rows(db.sql, `SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass`),
          [],
        );
      },
      async afterComplete({ db }) {
        const cons = await rows(
          db.sql,
          `SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass ORDER BY 1`,
        );
        assert.deepEqual(
          cons.map((c) => c.conname),
          ['events_kind_key', 'events_pkey'],
        );
      },
    }));
});
