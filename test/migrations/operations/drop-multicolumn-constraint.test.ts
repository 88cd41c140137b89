import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows } from '../helpers/db.ts';
import { runLifecycle } from '../helpers/lifecycle.ts';

describe('drop_multicolumn_constraint', () => {
  it('drops a two-column unique constraint through two shadow columns', () =>
    runLifecycle('dmc_unique', {
      setup: `CREATE TABLE slots (id int PRIMARY KEY, day int, hour int, CONSTRAINT slots_day_hour UNIQUE (day, hour));
              CREATE INDEX slots_hour ON slots (hour);
              INSERT INTO slots VALUES (1, 1, 9), (2, 1, 10);`,
      operations: [
        {
          drop_multicolumn_constraint: {
            table: 'slots',
            name: 'slots_day_hour',
            up: { day: 'day', hour: 'hour' },
            down: { day: 'day', hour: 'hour + 100 * id' },
          },
        },
      ],
      async afterStart({ db, version, round }) {
        const next = await db.session(version);
        await next.query(
          'INSERT INTO slots (id, _shiftgate_new_day, _shiftgate_new_hour) VALUES ($1, 1, 9)',
          [10 + round],
        );
        assert.deepEqual(await rows(db.sql, 'SELECT day, hour FROM slots WHERE id = $1', [10 + round]), [
          { day: 1, hour: 9 + 100 * (10 + round) },
        ]);
        await db.sql.query('DELETE FROM slots WHERE id > 2');
      },
      async afterComplete({ db }) {
        await db.sql.query('INSERT INTO slots VALUES (3, 1, 9)');
        const idx = await rows(
          db.sql,
          `SELECT indexdef FROM pg_indexes WHERE tablename = 'slots' ORDER BY 1`,
        );
        assert.deepEqual(
          idx.map((i) => i.indexdef),
          [
            'CREATE INDEX slots_hour ON public.slots USING btree (hour)',
            'CREATE UNIQUE INDEX slots_pkey ON public.slots USING btree (id)',
          ],
        );
      },
    }));
});
