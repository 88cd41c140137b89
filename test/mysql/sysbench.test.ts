/**
 * sysbench oltp_read_write through Shiftgate: prepare, then a short run
 * (libmariadb, server-side prepared statements, 4 threads) that must end
 * with zero errors and zero reconnects.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';

const run = promisify(execFile);

describe('sysbench through Shiftgate (mysql)', () => {
  let db: TestDatabase;
  let proxy: MysqlProxy;

  before(async () => {
    db = await createMysqlDatabase('sysbench');
    proxy = await startMysqlProxy();
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  it('oltp_read_write: prepare and a short run with zero errors', async () => {
    const common = [
      'oltp_read_write',
      '--db-driver=mysql',
      '--mysql-host=127.0.0.1',
      `--mysql-port=${proxy.port}`,
      '--mysql-user=root',
      `--mysql-db=${db.name}`,
      '--tables=4',
      // Enough rows that 4 threads do not deadlock each other (sysbench counts deadlocks as ignored errors).
      '--table-size=200000',
    ];
    await run('sysbench', [...common, 'prepare'], { timeout: 120_000 });
    const { stdout } = await run(
      'sysbench',
      [...common, '--threads=4', '--time=4', '--report-interval=0', 'run'],
      {
        timeout: 60_000,
      },
    );
    const transactions = Number(/transactions:\s+(\d+)/.exec(stdout)?.[1]);
    const errors = Number(/ignored errors:\s+(\d+)/.exec(stdout)?.[1]);
    const reconnects = Number(/reconnects:\s+(\d+)/.exec(stdout)?.[1]);
    assert.ok(transactions > 50, `transactions: ${transactions}\n${stdout}`);
    assert.equal(errors, 0, stdout);
    assert.equal(reconnects, 0, stdout);
    // Every statement sysbench ran was timed through the proxy.
    const timed = (await proxy.proxy.ctx.metrics.statementDuration.get()).values.find(
      (v) => v.metricName === 'shiftgate_statement_duration_seconds_count' && v.labels.dialect === 'mysql',
    )!.value;
    assert.ok(timed > transactions * 18, `statements timed: ${timed}`);
  });
});
