/**
 * The physical schema of fixture.ts's DDL as introspection reports it, for
 * the tests and the benchmark that need no server. cases.test.ts checks
 * that it matches what the real server reports.
 */
import type { PhysicalSchema } from '../../src/versions/index.ts';

const col = (name: string, nullable = true, hasDefault = false) => ({ name, nullable, hasDefault });

export const FIXTURE_PHYSICAL: PhysicalSchema = {
  schema: 'public',
  tables: [
    {
      name: 'order_items',
      columns: [
        col('id', false, true),
        col('order_id', false),
        col('sku', false),
        col('qty', false, true),
        col('batch', false),
      ],
    },
    { name: 'orders', columns: [col('id', false, true), col('user_id', false), col('total'), col('note')] },
    { name: 'tags', columns: [col('id', false, true), col('user_id'), col('label', false)] },
    {
      name: 'users',
      columns: [
        col('id', false, true),
        col('name', false),
        col('email'),
        col('age'),
        col('legacy', false, true),
        col('Nick Name'),
        col('bio'),
        col('_shiftgate_new_age'),
      ],
    },
  ],
};
