/** The dialect-neutral version map: every version's logical schema on the physical one. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildVersionMap,
  INITIAL_VERSION,
  type LogicalTable,
  type PhysicalSchema,
  TouchMatcher,
  VersionMapError,
} from '../../src/versions/index.ts';
import { V0, V1, V2, V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

const mapping = (t: LogicalTable | undefined) => t?.columns.map((c) => `${c.name}:${c.physical}`);
const col = (name: string, nullable = true, hasDefault = false) => ({ name, nullable, hasDefault });

describe('buildVersionMap', () => {
  const map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);

  test('lists the versions oldest first, the latest and the latest completed', () => {
    assert.deepEqual(
      map.versions.map((v) => v.name),
      [INITIAL_VERSION, V1, V2, V3],
    );
    assert.equal(map.latest, V3);
    assert.equal(map.latestCompleted, V2);
  });

  test('the in-flight version maps renames and shadow columns, in the column order complete leaves', () => {
    const users = map.version(V3)?.table('users');
    // The shadow column is physically last; complete renames it into place there.
    assert.deepEqual(mapping(users), [
      'id:id',
      'full_name:name',
      'email:email',
      'Nick Name:Nick Name',
      'bio:bio',
      'age:_shiftgate_new_age',
    ]);
    assert.deepEqual(users?.hidden, [
      { physical: 'age', omittable: true },
      { physical: 'legacy', omittable: true },
    ]);
    assert.equal(users?.rewrites, true);
    assert.equal(users?.sameColumns, false);
    const purchases = map.version(V3)?.table('purchases');
    assert.equal(purchases?.physical, 'orders');
    assert.equal(purchases?.sameColumns, true);
    assert.equal(map.version(V3)?.table('orders'), undefined);
    assert.equal(map.version(V3)?.isHiddenTable('orders'), true);
    assert.equal(map.version(V3)?.table('tags')?.rewrites, false);
  });

  test('the version before the in-flight migration hides what it added', () => {
    const v2 = map.version(V2)!;
    assert.deepEqual(mapping(v2.table('users')), [
      'id:id',
      'name:name',
      'email:email',
      'age:age',
      'legacy:legacy',
      'Nick Name:Nick Name',
    ]);
    // The shadow column is filled by the sync trigger; bio is nullable.
    assert.deepEqual(v2.table('users')?.hidden, [
      { physical: 'bio', omittable: true },
      { physical: '_shiftgate_new_age', omittable: true },
    ]);
    assert.equal(v2.table('tags'), undefined);
    assert.equal(v2.isHiddenTable('tags'), true);
    assert.equal(v2.table('orders')?.rewrites, false);
  });

  test('older versions undo completed migrations: renames map to the new physical names, drops are unservable', () => {
    const v0 = map.version(V0)!;
    assert.deepEqual(mapping(v0.table('users')), [
      'id:id',
      'name:name',
      'mail:email',
      'age:age',
      'legacy:legacy',
      'fax:null',
    ]);
    assert.equal(v0.table('sessions')?.physical, null);
    assert.deepEqual(v0.table('order_items')?.hidden, [{ physical: 'batch', omittable: false }]);
    assert.deepEqual(mapping(map.version(V1)!.table('users')), [
      'id:id',
      'name:name',
      'email:email',
      'age:age',
      'legacy:legacy',
    ]);
  });

  test('a completed alter_column with rename maps the old name onto the renamed-in-place column', () => {
    const physical: PhysicalSchema = {
      schema: 'public',
      tables: [{ name: 't', columns: [col('id', false, true), col('size_kb')] }],
    };
    const m = buildVersionMap(physical, [
      {
        name: 'a',
        inFlight: false,
        changes: [{ kind: 'alter_column', table: 't', column: 'size', name: 'size_kb' }],
      },
    ]);
    assert.deepEqual(mapping(m.version(INITIAL_VERSION)?.table('t')), ['id:id', 'size:size_kb']);
    assert.equal(m.version('a')?.table('t')?.rewrites, false);
    assert.equal(m.version('a')?.identity, true);
  });

  test('an in-flight add_column under a temporary physical name, and a table renamed aside for drop', () => {
    const physical: PhysicalSchema = {
      schema: 'app',
      tables: [
        { name: 't', columns: [col('id', false, true), col('_tmp_x', false)] },
        { name: '_deleted_old', columns: [col('id')] },
      ],
    };
    const m = buildVersionMap(physical, [
      {
        name: 'b',
        inFlight: true,
        changes: [
          { kind: 'add_column', table: 't', column: 'x', physical: '_tmp_x', filledByTrigger: true },
          { kind: 'drop_table', table: 'old', physical: '_deleted_old' },
        ],
      },
    ]);
    assert.deepEqual(mapping(m.version('b')?.table('t')), ['id:id', 'x:_tmp_x']);
    assert.deepEqual(m.version(INITIAL_VERSION)?.table('t')?.hidden, [
      { physical: '_tmp_x', omittable: true },
    ]);
    assert.equal(m.version(INITIAL_VERSION)?.table('old')?.physical, '_deleted_old');
    assert.equal(m.version('b')?.table('old'), undefined);
    assert.equal(m.version('b')?.isHiddenTable('_deleted_old'), true);
  });

  test('a history that does not fit the physical schema is a VersionMapError naming the migration and change', () => {
    assert.throws(
      () =>
        buildVersionMap(FIXTURE_PHYSICAL, [
          { name: 'x', inFlight: true, changes: [{ kind: 'alter_column', table: 'users', column: 'email' }] },
        ]),
      (e: unknown) =>
        e instanceof VersionMapError &&
        e.migration === 'x' &&
        e.change === 0 &&
        /_shiftgate_new_email/.test(e.message),
    );
    assert.throws(
      () =>
        buildVersionMap(FIXTURE_PHYSICAL, [
          {
            name: 'y',
            inFlight: false,
            changes: [{ kind: 'rename_column', table: 'nope', from: 'a', to: 'b' }],
          },
        ]),
      (e: unknown) => e instanceof VersionMapError && e.migration === 'y' && e.change === 0,
    );
    assert.throws(
      () =>
        buildVersionMap(FIXTURE_PHYSICAL, [
          { name: 'p', inFlight: true, changes: [] },
          { name: 'q', inFlight: true, changes: [] },
        ]),
      (e: unknown) => e instanceof VersionMapError && e.migration === 'p',
    );
  });

  test('with no history there is one identity version and nothing to rewrite', () => {
    const m = buildVersionMap(FIXTURE_PHYSICAL, []);
    assert.equal(m.latest, INITIAL_VERSION);
    assert.equal(m.version(INITIAL_VERSION)?.identity, true);
    assert.equal(m.version(INITIAL_VERSION)?.mayTouch('SELECT * FROM users'), false);
  });
});

describe('fast path', () => {
  const map = buildVersionMap(FIXTURE_PHYSICAL, HISTORY);

  test('mayTouch sees migrating tables however they are spelled, and nothing else', () => {
    const v3 = map.version(V3)!;
    assert.equal(v3.mayTouch('select * from USERS'), true);
    assert.equal(v3.mayTouch('SELECT * FROM public."purchases"'), true);
    assert.equal(v3.mayTouch('SELECT * FROM orders'), true); // the physical name, refused later
    assert.equal(v3.mayTouch('SELECT sku FROM order_items'), false);
    assert.equal(v3.mayTouch('SELECT * FROM tags'), false);
    assert.equal(v3.mayTouch('SELECT * FROM U&"\\0075sers"'), true);
    assert.equal(map.version(V2)!.mayTouch('SELECT * FROM tags'), true);
  });

  test('TouchMatcher matches doubled quotes inside quoted identifiers', () => {
    const m = new TouchMatcher(['we"ird']);
    assert.equal(m.test('SELECT * FROM "we""ird"'), true);
    assert.equal(m.test('SELECT * FROM weird'), false);
    assert.equal(new TouchMatcher([]).empty, true);
  });
});
