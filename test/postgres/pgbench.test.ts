/** pgbench through the proxy: initialisation, then TPC-B-like runs in every query mode. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startPgProxy, type TestPgProxy } from '../helpers/pg-proxy.ts';

const run = promisify(execFile);

describe('pgbench through the proxy', () => {
  let db: TestDatabase;
  let proxy: TestPgProxy;
  let url: string;

  before(async () => {
    db = await createPgDatabase('pgbench');
    proxy = await startPgProxy(db.url);
    url = proxy.via(db.url);
  });

  after(async () => {
    await proxy.stop();
    await db.drop();
  });

  test('pgbench -i initialises through the proxy (COPY and DDL)', async () => {
    const { stderr } = await run('pgbench', ['-i', '-s', '1', '-q', url]);
    assert.match(stderr, /done in/);
  });

  for (const mode of ['simple', 'extended', 'prepared']) {
    test(`pgbench -M ${mode}: transactions complete with zero failures`, async () => {
      const { stdout } = await run('pgbench', ['-M', mode, '-c', '4', '-j', '2', '-T', '3', '-n', url]);
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
      assert.ok(processed > 50, `processed ${processed} transactions`);
      const failed = /number of failed transactions: (\d+)/.exec(stdout);
      assert.equal(failed?.[1], '0', stdout);
    });
  }
});
