/**
 * sysbench oltp_read_write with server-side prepared statements, bound to a
 * migration's new version, should run straight through COMPLETE: every statement
 * it prepared names the altered column by its new-version translation
 * (the shadow column), which changes at the switch, and libmariadb never
 * prepares a statement again on ER_NEED_REPREPARE. The proxy prepares the
 * new translations itself once its version map changes; the run should end
 * without a fatal error or a reconnect, its writes in the completed column.
 * MariaDB has no transactional DDL: the contract's switching actions commit
 * one by one inside one hold of the proxy's statements on the table, so no
 * statement meets the schema between its ALTERs and the proxy's new map.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { sysbenchConnectionArgs } from '../../bench/lib/sysbench.ts';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';

const run = promisify(execFile);
const MIGRATION = '01_k_bigint';

describe('sysbench prepared statements across COMPLETE (mysql)', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let root: mysql.Connection;
  let dir: string;
  /** sysbench's own account: the config binds it to the new version. */
  const user = `sg_sb_${randomBytes(4).toString('hex')}`;

  before(async () => {
    db = await createMysqlDatabase('sb_cutover');
    root = await mysql.createConnection(MYSQL_URL);
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'sb']);
    await root.query(`GRANT ALL ON \`${db.name}\`.* TO ?@?`, [user, '%']);
    dir = mkdtempSync(join(tmpdir(), 'shiftgate-sb-cutover-'));
    writeFileSync(
      join(dir, `${MIGRATION}.yaml`),
      [
        'operations:',
        '  - alter_column:',
        '      table: sbtest1',
        '      column: k',
        '      type: bigint',
        "      up: 'k'",
        "      down: 'k'",
      ].join('\n'),
    );
    const config = loadConfig({
      env: {},
      flags: {
        upstream: db.url,
        listen: '127.0.0.1:0',
        migrations: dir,
        'admin.users': 'root',
        'proxy.version_rules': JSON.stringify([{ user, version: MIGRATION }]),
      },
    });
    sg = await startShiftgate(config, db.url, { http: false });
  });

  after(async () => {
    await sg?.stop();
    await root?.query('DROP USER IF EXISTS ?@?', [user, '%']);
    await root?.end();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** sysbench's table options, connected as `url` says. */
  const sysbench = (url: URL, args: string[], timeout: number) =>
    run(
      'sysbench',
      [
        'oltp_read_write',
        ...sysbenchConnectionArgs(url, db.name),
        '--tables=1',
        '--table-size=50000',
        ...args,
      ],
      { timeout },
    );

  it('runs on through COMPLETE with no fatal error and no reconnect', async () => {
    // Straight to MariaDB: the table exists before the migration that alters it.
    await sysbench(new URL(db.url), ['prepare'], 120_000);
    const admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: sg.proxy.address.port,
      user: 'root',
      database: db.name,
    });
    try {
      await admin.query(`SHIFTGATE START '${MIGRATION}'`);
      const phase = async () =>
        ((await admin.query('SHOW SHIFTGATE STATUS')) as unknown as [{ phase: string }[]])[0][0]?.phase;
      for (let i = 0; (await phase()) !== 'active'; i++) {
        assert.ok(i < 600, 'the migration reaches active');
        await new Promise((r) => setTimeout(r, 100));
      }
      // The proxy's version map has the new version once a session can bind to it.
      const bench = sysbench(
        new URL(`mysql://${user}:sb@127.0.0.1:${sg.proxy.address.port}/`),
        ['--threads=4', '--time=8', '--report-interval=0', 'run'],
        90_000,
      ).then(
        (r) => r,
        (err: { code?: number; stdout?: string; stderr?: string }) => {
          throw new Error(`sysbench failed (${err.code}):\n${err.stdout}\n${err.stderr}`);
        },
      );
      // Held here so a failure before COMPLETE is reported below, not as an unhandled rejection.
      bench.catch(() => {});
      await new Promise((r) => setTimeout(r, 3000));
      await admin.query('SHIFTGATE COMPLETE FORCE');
      const { stdout } = await bench;
      const transactions = Number(/transactions:\s+(\d+)/.exec(stdout)?.[1]);
      const reconnects = Number(/reconnects:\s+(\d+)/.exec(stdout)?.[1]);
      assert.ok(transactions > 50, `transactions: ${transactions}\n${stdout}`);
      assert.equal(reconnects, 0, stdout);
      // The switch held statements, and none of them waited past the bound (each would have had an
      // error sysbench retries; its own deadlocks are counted with them, so not asserted there).
      const held = (await sg.proxy.ctx.metrics.switchHeld.get()).values;
      assert.ok((held.find((v) => v.labels.outcome === 'released')?.value ?? 0) > 0, 'statements were held');
      assert.equal(held.find((v) => v.labels.outcome === 'timed_out')?.value ?? 0, 0, 'none timed out');
      // COMPLETE answers once the contract is done: no migration is in flight any more.
      assert.equal(await phase(), undefined);
      // The writes after the switch went to k itself: its type is the new one, and the column is whole.
      const [[col]] = (await root.query(
        'SELECT DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?',
        [db.name, 'sbtest1', 'k'],
      )) as unknown as [[{ type: string }]];
      assert.equal(col.type, 'bigint');
      const [[nulls]] = (await root.query(
        `SELECT COUNT(*) AS n FROM \`${db.name}\`.sbtest1 WHERE k IS NULL`,
      )) as unknown as [[{ n: number }]];
      assert.equal(Number(nulls.n), 0);
    } finally {
      await admin.end();
    }
  });
});
