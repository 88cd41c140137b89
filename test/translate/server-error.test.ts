/**
 * mapServerError, the pure part of "errors in the version's words", on the
 * fixture's version map: which fields change, which stay, and that an error
 * that names nothing the version sees differently is left as the server's
 * bytes (null). The whole path through the proxy is in
 * test/versions/pg-server-errors.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorField } from '../../src/dialects/postgres/codec/error-fields.ts';
import { mapServerError } from '../../src/dialects/postgres/translate/server-error.ts';
import { buildVersionMap } from '../../src/versions/index.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

const map = buildVersionMap(
  {
    ...FIXTURE_PHYSICAL,
    tables: [
      ...FIXTURE_PHYSICAL.tables,
      // An untouched table with a column named like users' renamed one.
      { name: 'products', columns: [{ name: 'name', nullable: true, hasDefault: false }] },
    ],
  },
  HISTORY,
);
const v3 = map.version('03_split')!;
const base: ErrorField[] = [
  ['S', 'ERROR'],
  ['V', 'ERROR'],
];

describe('mapServerError', () => {
  test('a NOT VALID check standing in for NOT NULL becomes the 23502 of the column', () => {
    const out = mapServerError(
      [
        ...base,
        ['C', '23514'],
        ['M', 'new row for relation "users" violates check constraint "_shiftgate_nn__shiftgate_new_age"'],
        ['D', 'Failing row contains (1, Alice, ...).'],
        ['s', 'public'],
        ['t', 'users'],
        ['n', '_shiftgate_nn__shiftgate_new_age'],
        ['F', 'execMain.c'],
      ],
      v3,
    );
    assert.deepEqual(out, [
      ...base,
      ['C', '23502'],
      ['M', 'null value in column "age" of relation "users" violates not-null constraint'],
      ['s', 'public'],
      ['t', 'users'],
      ['c', 'age'],
      ['F', 'execMain.c'],
    ]);
  });

  test('renamed tables and columns in message, fields and key detail', () => {
    const out = mapServerError(
      [
        ...base,
        ['C', '23505'],
        ['M', 'duplicate key value violates unique constraint "users_name_key"'],
        ['D', 'Key (name)=(Alice) already exists.'],
        ['t', 'users'],
        ['n', 'users_name_key'],
      ],
      v3,
    );
    assert.deepEqual(out?.slice(2), [
      ['C', '23505'],
      ['M', 'duplicate key value violates unique constraint "users_name_key"'],
      ['D', 'Key (full_name)=(Alice) already exists.'],
      ['t', 'users'],
      ['n', 'users_name_key'],
    ]);
    const fk = mapServerError(
      [
        ...base,
        ['C', '23503'],
        ['M', 'insert or update on table "orders" violates foreign key constraint "orders_user_id_fkey"'],
        ['D', 'Key (user_id)=(9) is not present in table "users".'],
        ['t', 'orders'],
      ],
      v3,
    );
    assert.equal(
      fk?.[3]?.[1],
      'insert or update on table "purchases" violates foreign key constraint "orders_user_id_fkey"',
    );
    assert.equal(fk?.[5]?.[1], 'purchases');
  });

  test('a column named without its table is mapped only when every table agrees on its name', () => {
    const shadow = mapServerError(
      [
        ...base,
        ['C', '42804'],
        ['M', 'column "_shiftgate_new_age" is of type bigint but expression is of type boolean'],
      ],
      v3,
    );
    assert.equal(shadow?.[3]?.[1], 'column "age" is of type bigint but expression is of type boolean');
    // users.name is full_name to this version, products.name is name: left as the server said it.
    assert.equal(
      mapServerError(
        [...base, ['C', '42804'], ['M', 'column "name" is of type text but expression is of type integer']],
        v3,
      ),
      null,
    );
  });

  test('hints about hidden columns and context lines of the sync triggers are left out', () => {
    const out = mapServerError(
      [
        ...base,
        ['C', '42703'],
        ['M', 'column "legac" does not exist'],
        ['H', 'Perhaps you meant to reference the column "users.legacy".'],
        ['W', 'PL/pgSQL function shiftgate.users___shiftgate_sync_age() line 4 at assignment'],
      ],
      v3,
    );
    assert.deepEqual(out?.slice(2), [
      ['C', '42703'],
      ['M', 'column "legac" does not exist'],
    ]);
  });

  test('an error that names nothing this version sees differently is not re-made', () => {
    assert.equal(mapServerError([...base, ['C', '22012'], ['M', 'division by zero']], v3), null);
    assert.equal(
      mapServerError(
        [
          ...base,
          ['C', '23505'],
          ['M', 'duplicate key value violates unique constraint "tags_pkey"'],
          ['D', 'Key (id)=(1) already exists.'],
          ['t', 'tags'],
        ],
        v3,
      ),
      null,
    );
  });
});
