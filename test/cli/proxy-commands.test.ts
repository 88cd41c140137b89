/** `shiftgate start|status|pause|resume|complete|rollback|sessions` against a running proxy. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { renderProgress, renderTable } from '../../src/cli/render.ts';
import { CLI } from '../helpers/cli.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const run = promisify(execFile);

describe('proxy commands of the CLI', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let proxyUrl: string;
  const cli = (...args: string[]) =>
    run(process.execPath, [...CLI, ...args, '--proxy', proxyUrl], {
      env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn' },
    });

  before(async () => {
    db = await createPgDatabase('cli');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
    await setup.query("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 500) g");
    await setup.end();
    sg = await startTestShiftgate(db.url);
    proxyUrl = sg.via(db.url);
    sg.writeMigration(
      '02_rename',
      'operations:\n  - rename_column: { table: users, from: name, to: full_name }\n',
    );
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  test('start, status, sessions, pause, resume, complete print the admin results', async () => {
    const started = await cli('start', '02_rename');
    assert.match(started.stdout, /02_rename \| \w+ +\| started/);
    await sg.waitForPhase(db.url, 'active');
    const status = await cli('status');
    assert.match(status.stdout, /^name +\| phase/);
    assert.match(status.stdout, /02_rename \| active/);
    assert.match(status.stdout, /\(1 row\)/);
    assert.match((await cli('sessions')).stdout, /client_address/);
    assert.match((await cli('pause')).stdout, /backfill paused/);
    assert.match((await cli('resume')).stdout, /backfill resumed/);
    assert.match((await cli('complete')).stdout, /02_rename \| completed/);
    assert.match((await cli('migrations')).stdout, /02_rename \| completed/);
  });

  test('errors from the proxy are printed with their hint and exit 1', async () => {
    await assert.rejects(cli('rollback'), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /no migration is in flight/);
      return true;
    });
    await assert.rejects(cli('start'), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /start needs a migration name/);
      return true;
    });
  });

  test('status --watch renders a progress bar with rate, ETA, batch, throttle and p99', () => {
    const columns = [
      'name',
      'phase',
      'table',
      'rows_done',
      'rows_total',
      'rows_per_s',
      'eta_s',
      'batch_size',
      'throttled',
      'throttle_reason',
      'client_p99_ms',
      'baseline_p99_ms',
    ];
    const text = renderProgress({
      columns,
      rows: [
        [
          'add_email',
          'backfilling',
          'users',
          '250',
          '1000',
          '50',
          '15',
          '100',
          'true',
          'client p99 9ms > 1.2 x baseline 3ms',
          '9.00',
          '3.00',
        ],
      ],
    });
    assert.match(text, /add_email +backfilling +users/);
    assert.match(text, /\[#{8}\.{22}\] 25\.0% +250\/1000 rows/);
    assert.match(text, /50 rows\/s +ETA 15s +batch 100/);
    assert.match(
      text,
      /client p99 9\.00 ms \(baseline 3\.00 ms\) +throttled: client p99 9ms > 1\.2 x baseline 3ms/,
    );
    assert.doesNotMatch(text, /target/, 'no pace line without a target rate');
    const paced = renderProgress({
      columns: [...columns, 'controller', 'target_rate', 'latency_cost', 'floor_p99_ms', 'last_change'],
      rows: [
        [
          'add_email',
          'backfilling',
          'users',
          '250',
          '1000',
          '50',
          '15',
          '100',
          'false',
          null,
          '3.10',
          '3.00',
          'pace',
          '8000',
          '1.03',
          '2.90',
          'raised 4,000 -> 8,000 rows/s (ramp-up): client p99 3.1ms < 3.3ms',
        ],
      ],
    });
    assert.match(
      paced,
      /target 8000 rows\/s {2}latency cost 1\.03x baseline {2}floor 2\.90 ms {2}last change: raised 4,000 -> 8,000 rows\/s \(ramp-up\)/,
    );
    assert.match(renderProgress({ columns, rows: [] }), /no active migration/);
    assert.equal(renderTable({ columns: ['a', 'bb'], rows: [['x', null]] }), 'a | bb\n--+---\nx |\n(1 row)');
  });
});
