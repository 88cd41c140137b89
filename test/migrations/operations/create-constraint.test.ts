import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columns, rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

const constraints = async (db: { sql: import('pg').Client }, table: string) =>
  rows(
    db.sql,
    `SELECT conname, pg_get_constraintdef(oid) AS def, convalidated AS valid FROM pg_constraint
                 WHERE conrelid = $1::regclass ORDER BY conname`,
    [table],
  );

describe('create_constraint', () => {
  it('adds a multi-column check through shadow columns; old writers are never refused', () =>
    runLifecycle('cc_check', {
      setup: `CREATE TABLE ranges (id int PRIMARY KEY, lo int, hi int);
              INSERT INTO ranges VALUES (1, 1, 5), (2, 9, 3), (3, NULL, 4);`,
      operations: [
        {
          create_constraint: {
            table: 'ranges',
            name: 'ranges_ordered',
            type: 'check',
            columns: ['lo', 'hi'],
            check: 'lo <= hi',
            up: { lo: 'least(coalesce(lo, 0), hi)', hi: 'greatest(coalesce(lo, 0), hi)' },
            down: { lo: 'lo', hi: 'hi' },
          },
        },
      ],
      async afterStart({ db, version, round }) {
        assert.deepEqual(await columns(db.sql, 'ranges'), [
          'id',
          'lo',
          'hi',
          '_shiftgate_new_lo',
          '_shiftgate_new_hi',
        ]);
        const old = await db.session();
        await old.query('INSERT INTO ranges VALUES ($1, 50, 10)', [10 + round]);
        const next = await db.session(version);
        await assert.rejects(
          next.query('INSERT INTO ranges (id, _shiftgate_new_lo, _shiftgate_new_hi) VALUES ($1, 9, 1)', [
            20 + round,
          ]),
          /ranges_ordered/,
        );
        const got = await rows(
          db.sql,
          'SELECT id, lo, hi, _shiftgate_new_lo AS nlo, _shiftgate_new_hi AS nhi FROM ranges ORDER BY id',
        );
        assert.deepEqual(got, [
          { id: 1, lo: 1, hi: 5, nlo: 1, nhi: 5 },
          { id: 2, lo: 9, hi: 3, nlo: 3, nhi: 9 },
          { id: 3, lo: null, hi: 4, nlo: 0, nhi: 4 },
          { id: 10 + round, lo: 50, hi: 10, nlo: 10, nhi: 50 },
        ]);
        await db.sql.query('DELETE FROM ranges WHERE id > 3');
      },
      async afterComplete({ db }) {
        assert.deepEqual(await columns(db.sql, 'ranges'), ['id', 'lo', 'hi']);
        const c = await constraints(db, 'ranges');
        assert.deepEqual(
          c.map((x) => [x.conname, x.valid]),
          [
            ['ranges_ordered', true],
            ['ranges_pkey', true],
          ],
        );
        assert.deepEqual(await rows(db.sql, 'SELECT lo, hi FROM ranges WHERE id = 2'), [{ lo: 3, hi: 9 }]);
      },
    }));

  it('adds a unique constraint over two columns from an index built concurrently', () =>
    runLifecycle('cc_unique', {
      setup: `CREATE TABLE seats (id int PRIMARY KEY, row_no int, seat int);
              INSERT INTO seats VALUES (1, 1, 1), (2, 1, 1), (3, 1, 2);`,
      operations: [
        {
          create_constraint: {
            table: 'seats',
            name: 'seats_position',
            type: 'unique',
            columns: ['row_no', 'seat'],
            up: { row_no: 'row_no', seat: 'CASE WHEN id = 2 THEN 3 ELSE seat END' },
            down: { row_no: 'row_no', seat: 'seat' },
          },
        },
      ],
      async afterStart({ db }) {
        const idx = await rows(
          db.sql,
          `SELECT indexname FROM pg_indexes WHERE tablename = 'seats' ORDER BY 1`,
        );
        assert.deepEqual(
          idx.map((i) => i.indexname),
          ['_shiftgate_tmp_seats_position', 'seats_pkey'],
        );
      },
      async afterComplete({ db }) {
        const c = await constraints(db, 'seats');
        assert.deepEqual(
          c.map((x) => x.def),
          ['PRIMARY KEY (id)', 'UNIQUE (row_no, seat)'],
        );
      },
    }));

  it('adds a foreign key NOT VALID, then validates it', () =>
    runLifecycle('cc_fk', {
      setup: `CREATE TABLE authors (id int PRIMARY KEY); INSERT INTO authors VALUES (1), (2);
              CREATE TABLE posts (id int PRIMARY KEY, author int); INSERT INTO posts VALUES (1, 1), (2, 7);`,
      operations: [
        {
          create_constraint: {
            table: 'posts',
            name: 'posts_author_fk',
            type: 'foreign_key',
            columns: ['author'],
            references: { table: 'authors', columns: ['id'], on_delete: 'CASCADE' },
            up: { author: 'CASE WHEN author IN (SELECT id FROM authors) THEN author END' },
            down: { author: 'author' },
          },
        },
      ],
      async afterStart({ db }) {
        const c = await constraints(db, 'posts');
        assert.deepEqual(
          c.find((x) => x.conname === 'posts_author_fk'),
          {
            conname: 'posts_author_fk',
            def: 'FOREIGN KEY (_shiftgate_new_author) REFERENCES authors(id) ON DELETE CASCADE',
            valid: true,
          },
        );
      },
      async afterComplete({ db }) {
        assert.deepEqual(await rows(db.sql, 'SELECT id, author FROM posts ORDER BY id'), [
          { id: 1, author: 1 },
          { id: 2, author: null },
        ]);
        const c = await constraints(db, 'posts');
        assert.equal(
          c.find((x) => x.conname === 'posts_author_fk')?.def,
          'FOREIGN KEY (author) REFERENCES authors(id) ON DELETE CASCADE',
        );
      },
    }));

  it('adds a primary key to a table walked by its unique NOT NULL key', () =>
    runLifecycle('cc_pk', {
      setup: `CREATE TABLE tags (code text NOT NULL UNIQUE, label text);
              INSERT INTO tags VALUES ('a', 'A'), ('b', NULL);`,
      operations: [
        {
          create_constraint: {
            table: 'tags',
            name: 'tags_pkey',
            type: 'primary_key',
            columns: ['label'],
            up: { label: "coalesce(label, 'label-' || code)" },
            down: { label: 'label' },
          },
        },
      ],
      async afterComplete({ db }) {
        const c = await constraints(db, 'tags');
        assert.deepEqual(
          c.map((x) => x.def),
          ['UNIQUE (code)', 'PRIMARY KEY (label)'],
        );
        assert.deepEqual(await rows(db.sql, 'SELECT label FROM tags ORDER BY code'), [
          { label: 'A' },
          { label: 'label-b' },
        ]);
      },
    }));
});
