import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

const defs = async (db: { sql: import('pg').Client }) =>
  (
    await rows<{ indexdef: string }>(
      db.sql,
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'docs' AND indexname <> 'docs_pkey' ORDER BY indexname`,
    )
  ).map((r) => r.indexdef);

describe('create_index', () => {
  it('builds indexes concurrently with sort order, nulls, opclass, method, predicate and storage parameters', () =>
    runLifecycle('create_index', {
      setup: `CREATE TABLE docs (id int PRIMARY KEY, title text, body jsonb, score int, slug text);
              INSERT INTO docs SELECT g, 't' || g, jsonb_build_object('k', g), g, 's' || g FROM generate_series(1, 50) g;`,
      operations: [
        {
          create_index: {
            name: 'docs_score_title',
            table: 'docs',
            columns: [
              { column: 'score', sort: 'DESC', nulls: 'LAST' },
              { column: 'title', collate: 'C' },
            ],
            predicate: 'score > 10',
            storage_parameters: 'fillfactor = 70',
          },
        },
        {
          create_index: {
            name: 'docs_body',
            table: 'docs',
            method: 'gin',
            columns: { body: { opclass: { name: 'jsonb_path_ops' } } },
          },
        },
        { create_index: { name: 'docs_slug', table: 'docs', unique: true, columns: ['slug'] } },
        { create_index: { name: 'docs_title_hash', table: 'docs', method: 'hash', columns: ['title'] } },
      ],
      async afterStart({ db }) {
        assert.deepEqual(await defs(db), [
          'CREATE INDEX docs_body ON public.docs USING gin (body jsonb_path_ops)',
          'CREATE INDEX docs_score_title ON public.docs USING btree (score DESC NULLS LAST, title COLLATE "C") WITH (fillfactor=\'70\') WHERE (score > 10)',
          'CREATE UNIQUE INDEX docs_slug ON public.docs USING btree (slug)',
          'CREATE INDEX docs_title_hash ON public.docs USING hash (title)',
        ]);
        const invalid = await rows(db.sql, `SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`);
        assert.deepEqual(invalid, [{ n: 0 }]);
      },
      async afterComplete({ db }) {
        assert.equal((await defs(db)).length, 4);
      },
    }));
});
