/** Pure parts of the engine: no database. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mysqlMigrationDialect } from '../../src/dialects/mysql/migration-driver.ts';
import { renameIdentifiers } from '../../src/dialects/postgres/ddl.ts';
import { postgresMigrationDialect } from '../../src/dialects/postgres/migration-driver.ts';
import { nextBatchSize } from '../../src/migrations/backfill.ts';
import type { MigrationCapabilities } from '../../src/migrations/dialect.ts';
import { switchingTail } from '../../src/migrations/engine.ts';
import type { SchemaModel } from '../../src/migrations/model.ts';
import { boundedName } from '../../src/migrations/names.ts';
import { planMigration } from '../../src/migrations/planner.ts';
import { migration } from './helpers/db.ts';

describe('renameIdentifiers', () => {
  const r = { price: '_shiftgate_new_price', Qty: 'q2' };
  it('renames column references only', () => {
    assert.equal(renameIdentifiers('price > 0 AND "Qty" < 5', r), '"_shiftgate_new_price" > 0 AND "q2" < 5');
    assert.equal(
      renameIdentifiers("price(x) + t.price + 'price' + x::price", r),
      "price(x) + t.price + 'price' + x::price",
    );
    assert.equal(
      renameIdentifiers("E'it''s \\' price' || price -- price\n", r),
      "E'it''s \\' price' || \"_shiftgate_new_price\" -- price\n",
    );
    assert.equal(renameIdentifiers('$$price$$ || PRICE', r), '$$price$$ || "_shiftgate_new_price"');
  });
});

describe('batch sizing', () => {
  const sizing = { targetBatchMs: 100, minBatch: 100, maxBatch: 10_000 };
  it('moves toward the target time, at most doubling or halving, within bounds', () => {
    assert.equal(nextBatchSize(1000, 50, sizing), 2000);
    assert.equal(nextBatchSize(1000, 10, sizing), 2000);
    assert.equal(nextBatchSize(1000, 400, sizing), 500);
    assert.equal(nextBatchSize(1000, 125, sizing), 800);
    assert.equal(nextBatchSize(9000, 10, sizing), 10_000);
    assert.equal(nextBatchSize(120, 1000, sizing), 100);
  });
});

describe('names', () => {
  it('fit the identifier limit and stay distinct', () => {
    const a = boundedName(63, '_shiftgate_new_', 'x'.repeat(60));
    const b = boundedName(63, '_shiftgate_new_', `${'x'.repeat(59)}y`);
    assert.equal(Buffer.byteLength(a), 63);
    assert.notEqual(a, b);
    assert.equal(boundedName(63, '_shiftgate_new_', 'email'), '_shiftgate_new_email');
  });
});

describe('planner', () => {
  const model: SchemaModel = {
    schema: 'public',
    tables: [
      {
        name: 'users',
        physical: 'users',
        columns: [
          {
            name: 'id',
            physical: 'id',
            type: 'integer',
            nullable: false,
            default: null,
            comment: null,
            generated: false,
          },
          {
            name: 'name',
            physical: 'name',
            type: 'text',
            nullable: true,
            default: null,
            comment: null,
            generated: false,
          },
        ],
        constraints: [
          {
            name: 'users_pkey',
            type: 'primary_key',
            columns: ['id'],
            definition: 'PRIMARY KEY (id)',
            validated: true,
            index: 'users_pkey',
            refTable: null,
            refColumns: [],
          },
        ],
        indexes: [],
        comment: null,
        replicaIdentity: 'default',
        replicaIndex: null,
      },
    ],
  };
  it('runs renames last at complete, column renames before table renames', () => {
    const plan = planMigration(
      migration('x', [
        { rename_table: { from: 'users', to: 'people' } },
        { rename_column: { table: 'people', from: 'name', to: 'full_name' } },
        { alter_column: { table: 'people', column: 'id', comment: 'key' } },
      ]),
      model,
      postgresMigrationDialect.capabilities,
    );
    assert.deepEqual(
      plan.complete.map((a) => a.action.kind),
      ['rename_column', 'rename_table'],
    );
    assert.deepEqual(plan.complete[0]!.action, {
      kind: 'rename_column',
      table: 'users',
      from: 'name',
      to: 'full_name',
    });
    assert.deepEqual(
      plan.start.map((a) => a.action),
      [{ kind: 'set_comment', table: 'users', column: 'id', comment: 'key' }],
    );
    assert.equal(plan.before.tables[0]!.name, 'users', 'the input model is not changed');
  });
  it('without transactional DDL sets NOT NULL first at complete, before the switching tail the proxies are held for', () => {
    const plan = (caps: MigrationCapabilities) =>
      planMigration(
        migration('nn', [
          {
            alter_column: {
              table: 'users',
              column: 'name',
              nullable: false,
              up: "COALESCE(name, '')",
              down: 'name',
            },
          },
        ]),
        model,
        caps,
      ).complete;
    const mysql = plan(mysqlMigrationDialect.capabilities);
    const kinds = mysql.map((a) => a.action.kind);
    assert.equal(kinds[0], 'set_not_null', kinds.join(', '));
    // The table rewrite runs while the sync triggers still carry every write over; the hold starts at their removal.
    assert.equal(kinds[switchingTail(mysql)], 'remove_sync');
    assert.equal(switchingTail(mysql), 1);
    assert.ok(kinds.indexOf('rename_column') > kinds.indexOf('remove_sync'));
    // With transactional DDL the order is the planner's own: the switch is one transaction anyway.
    const pg = plan(postgresMigrationDialect.capabilities).map((a) => a.action.kind);
    assert.ok(pg.indexOf('set_not_null') > pg.indexOf('remove_sync'), pg.join(', '));
  });
  it('accepts the three spellings of index columns', () => {
    for (const columns of [
      ['name', 'id'],
      [{ column: 'name', sort: 'DESC' }, { column: 'id' }],
      { name: { sort: 'DESC' }, id: {} },
    ]) {
      const plan = planMigration(
        migration('i', [{ create_index: { name: 'ix', table: 'users', columns } }]),
        model,
        postgresMigrationDialect.capabilities,
      );
      const action = plan.start[0]!.action;
      assert.ok(action.kind === 'create_index');
      assert.deepEqual(
        action.columns.map((c) => c.column),
        ['name', 'id'],
      );
    }
  });
});
