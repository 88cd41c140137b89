import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columns, rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('rename_column', () => {
  it('keeps one physical column for both versions and renames it at complete', () =>
    runLifecycle('rename_col', {
      setup: `CREATE TABLE users (id int PRIMARY KEY, mail text UNIQUE);
              CREATE INDEX users_mail_lower ON users (lower(mail));
              INSERT INTO users VALUES (1, 'a@x');`,
      operations: [{ rename_column: { table: 'users', from: 'mail', to: 'email' } }],
      async afterStart({ db, version, round }) {
        assert.deepEqual(await columns(db.sql, 'users'), ['id', 'mail']);
        const next = await db.session(version);
        await next.query('INSERT INTO users VALUES ($1, $2)', [10 + round, `n${round}@x`]);
        assert.deepEqual(await rows(db.sql, 'SELECT count(*)::int AS n FROM users'), [{ n: 2 }]);
        await db.sql.query('DELETE FROM users WHERE id > 1');
      },
      async afterComplete({ db }) {
        assert.deepEqual(await columns(db.sql, 'users'), ['id', 'email']);
        const idx = await rows(
          db.sql,
          `SELECT indexdef FROM pg_indexes WHERE indexname = 'users_mail_lower'`,
        );
        assert.deepEqual(idx, [
          { indexdef: 'CREATE INDEX users_mail_lower ON public.users USING btree (lower(email))' },
        ]);
      },
    }));

  it('renames a column and then indexes it under its new name in the same migration', () =>
    runLifecycle('rename_then_index', {
      setup: 'CREATE TABLE t (id int PRIMARY KEY, a int);',
      operations: [
        { rename_column: { table: 't', from: 'a', to: 'b' } },
        { create_index: { name: 't_b_idx', table: 't', columns: ['b'] } },
      ],
      async afterStart({ db }) {
        const idx = await rows(db.sql, `SELECT indexdef FROM pg_indexes WHERE indexname = 't_b_idx'`);
        assert.deepEqual(idx, [{ indexdef: 'CREATE INDEX t_b_idx ON public.t USING btree (a)' }]);
      },
      async afterComplete({ db }) {
        assert.deepEqual(await columns(db.sql, 't'), ['id', 'b']);
      },
    }));
});
