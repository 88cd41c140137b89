import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columns, rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('create_table', () => {
  it('creates a table with every kind of column and constraint, dropped again on rollback', () =>
    runLifecycle('create_full', {
      setup: 'CREATE TABLE owners (id int PRIMARY KEY);',
      operations: [
        {
          create_table: {
            name: 'bookings',
            comment: 'room bookings',
            columns: [
              {
                name: 'id',
                type: 'bigint',
                pk: true,
                generated: { identity: { user_specified_values: 'BY DEFAULT' } },
              },
              {
                name: 'owner_id',
                type: 'int',
                references: {
                  name: 'bookings_owner_fk',
                  table: 'owners',
                  column: 'id',
                  on_delete: 'CASCADE',
                },
              },
              { name: 'room', type: 'text', comment: 'room code' },
              { name: 'during', type: 'tstzrange' },
              {
                name: 'guests',
                type: 'int',
                default: '1',
                check: { name: 'bookings_guests_positive', constraint: 'guests > 0' },
              },
              { name: 'ref', type: 'text', nullable: true, unique: true },
              { name: 'total', type: 'numeric', generated: { expression: 'guests * 10' } },
            ],
            constraints: [
              {
                name: 'bookings_room_owner',
                type: 'unique',
                columns: ['room', 'owner_id'],
                nulls_not_distinct: true,
              },
              {
                name: 'bookings_no_overlap',
                type: 'exclude',
                exclude: { index_method: 'gist', elements: 'during WITH &&' },
              },
              { name: 'bookings_room_code', type: 'check', check: "room ~ '^[A-Z]'" },
            ],
          },
        },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await columns(db.sql, 'bookings'), [
          'id',
          'owner_id',
          'room',
          'during',
          'guests',
          'ref',
          'total',
        ]);
        const cons = await rows(
          db.sql,
          `SELECT conname, contype FROM pg_constraint WHERE conrelid = 'bookings'::regclass ORDER BY 1`,
        );
        assert.deepEqual(
          cons.map((c) => `${c.conname}:${c.contype}`),
          [
            'bookings_guests_positive:c',
            'bookings_no_overlap:x',
            'bookings_owner_fk:f',
            'bookings_pkey:p',
            'bookings_ref_key:u',
            'bookings_room_code:c',
            'bookings_room_owner:u',
          ],
        );
        const nullable = await rows(
          db.sql,
          `SELECT attname FROM pg_attribute WHERE attrelid = 'bookings'::regclass
                                               AND attnum > 0 AND NOT attnotnull ORDER BY attnum`,
        );
        assert.deepEqual(
          nullable.map((r) => r.attname),
          ['ref'],
          'pgroll columns are NOT NULL unless nullable: true',
        );
        await db.sql.query('INSERT INTO owners VALUES (1) ON CONFLICT DO NOTHING');
        await db.sql.query(
          `INSERT INTO bookings (owner_id, room, during) VALUES (1, 'A1', '[2024-01-01,2024-01-02)')`,
        );
        await assert.rejects(
          db.sql.query(
            `INSERT INTO bookings (owner_id, room, during) VALUES (1, 'B1', '[2024-01-01 12:00,2024-01-03)')`,
          ),
          /bookings_no_overlap/,
        );
        const got = await rows(
          db.sql,
          `SELECT total::int AS total, obj_description('bookings'::regclass, 'pg_class') AS c FROM bookings`,
        );
        assert.deepEqual(got, [{ total: 10, c: 'room bookings' }]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT count(*)::int AS n FROM bookings'), [{ n: 1 }]);
      },
    }));

  it('creates a table that references itself and one with a composite primary key', () =>
    runLifecycle('create_self', {
      setup: 'SELECT 1',
      operations: [
        {
          create_table: {
            name: 'nodes',
            columns: [
              { name: 'id', type: 'int', pk: true },
              {
                name: 'parent',
                type: 'int',
                nullable: true,
                references: { name: 'nodes_parent_fk', table: 'nodes', column: 'id' },
              },
            ],
          },
        },
        {
          create_table: {
            name: 'edges',
            columns: [
              { name: 'a', type: 'int' },
              { name: 'b', type: 'int' },
            ],
            constraints: [
              { name: 'edges_pk', type: 'primary_key', columns: ['a', 'b'] },
              {
                name: 'edges_a_fk',
                type: 'foreign_key',
                columns: ['a'],
                references: { table: 'nodes', columns: ['id'] },
              },
            ],
          },
        },
      ],
      async afterStart({ db }) {
        await db.sql.query('INSERT INTO nodes VALUES (1, NULL), (2, 1)');
        await assert.rejects(db.sql.query('INSERT INTO nodes VALUES (3, 42)'), /nodes_parent_fk/);
        await db.sql.query('INSERT INTO edges VALUES (1, 2)');
        await assert.rejects(db.sql.query('INSERT INTO edges VALUES (1, 2)'), /edges_pk/);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT count(*)::int AS n FROM edges'), [{ n: 1 }]);
      },
    }));
});
