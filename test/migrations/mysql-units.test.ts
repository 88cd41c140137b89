/** Pure pieces of the MySQL migration driver: expression rewriting, key ranges, trigger text, refusals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refuseMysqlAction, renderMysqlAction } from '../../src/dialects/mysql/ddl.ts';
import { referencedColumns, replaceColumns } from '../../src/dialects/mysql/expressions.ts';
import {
  keyCompare,
  lockName,
  lockTimeoutSeconds,
  unsupportedServer,
} from '../../src/dialects/mysql/migration-driver.ts';
import { literal } from '../../src/dialects/mysql/quote.ts';
import { notNullColumnOf, triggerName } from '../../src/dialects/mysql/triggers.ts';
import { DEFAULT_LOCK_POLICY } from '../../src/migrations/dialect.ts';

describe('MySQL driver units', () => {
  it('rewrites column references, leaving strings, comments, calls, qualified names and variables alone', () => {
    const sql = "CONCAT(name, ' name ', `Price` * 2) + t.name + @name -- name\n + LENGTH(name) + name(1)";
    assert.deepEqual([...referencedColumns(sql)].sort(), ['Price', 'name']);
    assert.equal(
      replaceColumns(sql, (c) => (c === 'name' ? 'NEW.`n`' : c === 'Price' ? 'NEW.`p`' : null)),
      "CONCAT(NEW.`n`, ' name ', NEW.`p` * 2) + t.name + @name -- name\n + LENGTH(NEW.`n`) + name(1)",
    );
    assert.equal(
      replaceColumns("'it''s' || x", (c) => (c === 'x' ? 'y' : null)),
      "'it''s' || y",
    );
    assert.equal(
      replaceColumns("'a\\'b' x", (c) => (c === 'x' ? 'y' : null)),
      "'a\\'b' y",
    );
  });

  it('spells keyset ranges out column by column', () => {
    const params: unknown[] = [];
    assert.equal(keyCompare(['a', 'b'], ['1', '2'], false, false, params), '(a > ? OR (a = ? AND b > ?))');
    assert.deepEqual(params, ['1', '1', '2']);
    const upper: unknown[] = [];
    assert.equal(keyCompare(['a'], ['9'], true, true, upper), '(a <= ?)');
  });

  it('rounds the lock timeout up to whole seconds, at least one; bounds lock and trigger names', () => {
    assert.equal(lockTimeoutSeconds(DEFAULT_LOCK_POLICY), 1);
    assert.equal(lockTimeoutSeconds({ ...DEFAULT_LOCK_POLICY, lockTimeoutMs: 2500 }), 3);
    assert.ok(lockName('x'.repeat(80)).length <= 64);
    assert.ok(triggerName('t'.repeat(64), '_shiftgate_sync_'.padEnd(64, 'c'), 'update').length <= 64);
    assert.notEqual(triggerName('a', 'n', 'insert'), triggerName('a', 'n', 'update'));
  });

  it('quotes literals with backslash escapes', () => {
    assert.equal(literal("it's a \\ test"), "'it''s a \\\\ test'");
  });

  it('renders NOT NULL check triggers whose column can be read back', () => {
    const [insert] = renderMysqlAction(
      { kind: 'add_not_null_check', table: 'orders', name: "_shiftgate_nn_it's", column: 'we`ird' },
      'db',
    );
    assert.match(insert!.sql, /BEFORE INSERT ON `db`.`orders`/);
    assert.equal(notNullColumnOf(insert!.sql, "_shiftgate_nn_it's"), 'we`ird');
    assert.equal(notNullColumnOf(insert!.sql, '_shiftgate_nn_other'), null);
    // The shape of the check triggers created before checks named themselves: one check, its trigger's.
    const earlier =
      "BEGIN\n  IF NEW.`a``b` IS NULL THEN\n    SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'Shiftgate: it''s \\\\ (x)';\n  END IF;\nEND";
    assert.equal(notNullColumnOf(earlier, '_shiftgate_nn_x'), 'a`b');
  });

  it('carries the NOT NULL checks of an operation in its sync trigger, and hands them over at remove_sync', () => {
    const notNull = [
      { column: '_shiftgate_new_a', name: '_shiftgate_nn__shiftgate_new_a' },
      { column: '_shiftgate_new_b', name: '_shiftgate_nn__shiftgate_new_b' },
    ];
    const [insert, update] = renderMysqlAction(
      {
        kind: 'install_sync',
        table: 't',
        name: '_shiftgate_sync_a_b',
        version: 'v2',
        columns: ['a', 'b'],
        up: [
          { target: '_shiftgate_new_a', copyFrom: 'a' },
          { target: '_shiftgate_new_b', copyFrom: 'b' },
        ],
        upBindings: [
          { variable: 'a', column: 'a' },
          { variable: 'b', column: 'b' },
        ],
        down: [],
        downBindings: [],
        notNull,
      },
      'db',
    ).map((s) => s.sql);
    for (const sql of [insert!, update!]) {
      // The checks follow the assignments, inside the branch the backfill's own batches skip.
      const guard = sql.indexOf('@shiftgate_backfill');
      const assignment = sql.lastIndexOf('SET NEW.`_shiftgate_new_b`');
      const checkA = sql.indexOf('IF NEW.`_shiftgate_new_a` IS NULL THEN SIGNAL');
      assert.ok(guard >= 0 && guard < assignment && assignment < checkA, sql);
      assert.equal(notNullColumnOf(sql, notNull[0]!.name), '_shiftgate_new_a');
      assert.equal(notNullColumnOf(sql, notNull[1]!.name), '_shiftgate_new_b');
    }
    const remove = renderMysqlAction(
      { kind: 'remove_sync', table: 't', name: '_shiftgate_sync_a_b', notNull },
      'db',
    );
    assert.deepEqual(
      remove.map((s) => s.sql.split('\n')[0]),
      [
        'CREATE TRIGGER `db`.`_shiftgate_nn__shiftgate_new_a__t_bi` BEFORE INSERT ON `db`.`t` FOR EACH ROW',
        'CREATE TRIGGER `db`.`_shiftgate_nn__shiftgate_new_a__t_bu` BEFORE UPDATE ON `db`.`t` FOR EACH ROW',
        'CREATE TRIGGER `db`.`_shiftgate_nn__shiftgate_new_b__t_bi` BEFORE INSERT ON `db`.`t` FOR EACH ROW',
        'CREATE TRIGGER `db`.`_shiftgate_nn__shiftgate_new_b__t_bu` BEFORE UPDATE ON `db`.`t` FOR EACH ROW',
        'DROP TRIGGER IF EXISTS `db`.`_shiftgate_sync_a_b__t_bi`',
        'DROP TRIGGER IF EXISTS `db`.`_shiftgate_sync_a_b__t_bu`',
      ],
    );
    assert.ok(
      remove.slice(0, 4).every((s) => s.skipIf),
      'each hand-over is skipped when done or not needed',
    );
  });

  it('every ALTER TABLE names an online algorithm', () => {
    const alters = [
      renderMysqlAction(
        { kind: 'add_column', table: 't', column: { name: 'c', type: 'int', nullable: true, default: null } },
        'd',
      ),
      renderMysqlAction({ kind: 'drop_column', table: 't', column: 'c' }, 'd'),
      renderMysqlAction({ kind: 'rename_column', table: 't', from: 'a', to: 'b' }, 'd'),
      renderMysqlAction({ kind: 'set_default', table: 't', column: 'c', default: '1' }, 'd'),
      renderMysqlAction(
        {
          kind: 'create_index',
          table: 't',
          name: 'i',
          columns: [{ column: 'c', sort: 'DESC' }],
          unique: true,
          method: null,
          predicate: null,
          storageParameters: null,
          include: [],
          nullsNotDistinct: false,
          online: true,
        },
        'd',
      ),
    ]
      .flat()
      .map((s) => s.sql)
      .filter((s) => s.startsWith('ALTER TABLE') && !s.includes('<'));
    assert.equal(alters.length, 5);
    for (const sql of alters) assert.match(sql, /, ALGORITHM=(INSTANT|INPLACE, LOCK=NONE)$/, sql);
  });

  it('refuses what MySQL lacks or could only do with a table copy, naming the field', () => {
    const model = { schema: 'd', tables: [] };
    assert.equal(
      refuseMysqlAction({ kind: 'set_replica_identity', table: 't', identity: 'full', index: null }, model)
        ?.field,
      'identity',
    );
    assert.match(
      refuseMysqlAction(
        { kind: 'add_check', table: 't', name: 'c', expression: 'x > 0', noInherit: false, validated: false },
        model,
      )?.reason ?? '',
      /ALGORITHM=COPY/,
    );
    assert.equal(
      refuseMysqlAction(
        { kind: 'add_check', table: 't', name: 'c', expression: 'x > 0', noInherit: false, validated: true },
        model,
      ),
      null,
    );
    assert.equal(
      refuseMysqlAction(
        {
          kind: 'copy_constraint',
          table: 't',
          name: '_shiftgate_tmp_fk',
          definition: 'FOREIGN KEY (`a`) REFERENCES `p` (`id`)',
          renameColumns: {},
        },
        model,
      ),
      null,
    );
  });

  it('serves MariaDB 10.5 and later, and says why it refuses other servers', () => {
    assert.equal(unsupportedServer('10.11.19-MariaDB-0+deb12u1'), null);
    assert.equal(unsupportedServer('11.4.2-MariaDB'), null);
    assert.match(unsupportedServer('10.4.30-MariaDB') ?? '', /MariaDB 10.5 or later/);
    assert.match(unsupportedServer('8.0.36') ?? '', /MySQL 8.0.36 are not supported yet/);
  });
});
