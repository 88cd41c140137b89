/**
 * The dashboard page in a real headless Chromium during a running backfill:
 * the progress advances and the chart gains points without a reload, the
 * throttle reason appears once client latency is raised above a ceiling set
 * with SHIFTGATE SET, screenshots are written (paths in the test output),
 * and the page logs no console error. Skips, saying why, only when no
 * Chromium is installed and none can be.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startSleepLoad } from '../helpers/backfill-under-load.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

const CHROMIUM = '/usr/bin/chromium';
/**
 * Small batches (at most 200 rows, one short transaction each) make the
 * backfill of these rows take well over the test's checks even unthrottled:
 * a few thousand batches a second at most on these machines.
 */
const ROWS = 400_000;
const RESULTS = join(new URL('../..', import.meta.url).pathname, 'bench', 'results');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Chromium, installed with apt-get when missing and we may; null (and why) when there is none. */
function findChromium(): { path: string } | { missing: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  if (process.getuid?.() !== 0) return { missing: `${CHROMIUM} is not installed and this is not root` };
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { env, stdio: 'ignore', timeout: 600_000 });
  } catch (err) {
    return { missing: `apt-get install chromium failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return existsSync(CHROMIUM)
    ? { path: CHROMIUM }
    : { missing: `${CHROMIUM} is missing after apt-get install` };
}

const found = findChromium();

describe('dashboard page in headless Chromium (PostgreSQL)', {
  skip: 'missing' in found ? `no Chromium: ${found.missing}` : false,
}, () => {
  let db: TestDatabase;
  let sg: TestShiftgate;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    db = await createPgDatabase('dashboard_page');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)');
    await setup.query(`INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, ${ROWS}) g`);
    await setup.end();
    sg = await startTestShiftgate(
      db.url,
      { 'throttle.max_batch': '200', 'throttle.min_batch': '50', 'throttle.latency_headroom': '4' },
      { http: true },
    );
    sg.writeMigration(
      'add_digest',
      'operations:\n  - add_column:\n      table: events\n      column: { name: digest, type: text }\n      up: "md5(payload)"\n',
    );
    browser = await chromium.launch({ executablePath: (found as { path: string }).path });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
    mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await sg?.stop();
    await db?.drop();
  });

  test('live progress, chart points and the throttle reason during a backfill; no console errors', async (t) => {
    const load = await startSleepLoad(sg.via(db.url), 0.002);
    const text = (selector: string) => page.locator(selector).textContent();
    const attr = (selector: string, name: string) => page.locator(selector).getAttribute(name);
    const percent = async () => Number(await attr('#progress-bar', 'aria-valuenow'));
    const chartPoints = async () => Number(await attr('#chart', 'data-points'));
    try {
      await sleep(2000);
      await page.goto(`${sg.httpUrl}/`);
      await page.waitForFunction(() => document.getElementById('live')?.getAttribute('data-state') === 'ok');
      assert.equal(await text('#mig-name'), 'none');
      assert.ok((await chartPoints()) >= 2, 'a fresh page shows the history the proxy kept');
      const sessionsCell = page.locator('#sessions tbody tr[data-version="(initial)"] td.num');
      await sessionsCell.waitFor();
      assert.equal(await sessionsCell.textContent(), '2', 'both load clients, bound to the initial version');
      await page.screenshot({ path: join(RESULTS, 'dashboard-idle.png'), fullPage: true });

      await sg.admin(db.url, "SHIFTGATE START 'add_digest'");
      await page.waitForFunction(
        () => document.getElementById('mig-phase')?.textContent === 'backfilling',
        null,
        {
          timeout: 15_000,
        },
      );
      assert.equal(await text('#mig-name'), 'add_digest');
      assert.equal(await attr('#timeline li[data-phase="backfilling"]', 'data-state'), 'current');
      assert.equal(await attr('#timeline li[data-phase="expanding"]', 'data-state'), 'done');
      await sleep(1500);
      const p0 = await percent();
      const n0 = await chartPoints();
      await sleep(3000);
      const p1 = await percent();
      const n1 = await chartPoints();
      assert.ok(p1 > p0, `progress advanced without a reload: ${p0}% -> ${p1}%`);
      assert.ok(p1 < 100, `the backfill is still running: ${p1}%`);
      assert.ok(n1 >= n0 + 2, `the chart gained points: ${n0} -> ${n1}`);
      const progress = /^[\d,]+ \/ ([\d,]+) rows \(\d+\.\d%\) · events$/.exec(
        (await text('#progress-text'))!,
      );
      assert.ok(progress, 'rows done / total (percent) · table');
      // The total of a table this large is the planner's estimate, not a count.
      const total = Number(progress[1]!.replaceAll(',', ''));
      assert.ok(Math.abs(total - ROWS) < ROWS / 10, `total ${total} near ${ROWS}`);
      assert.match((await text('#rows-per-s'))!, /^[\d,]+$/);
      assert.notEqual(await text('#batch-size'), '–');
      assert.notEqual(await text('#baseline-p99'), '–', 'the baseline measured before START');

      // Client latency far above a ceiling set live: the page must show the throttle and its reason.
      await sg.admin(db.url, 'SHIFTGATE SET max_client_p99_ms = 40');
      load.set(0.12);
      await page.waitForFunction(
        () => {
          const reason = document.getElementById('throttle-reason');
          return reason && !reason.hidden && /client p99/.test(reason.textContent ?? '');
        },
        null,
        { timeout: 20_000 },
      );
      assert.equal(await attr('#throttle-state', 'data-state'), 'throttled');
      // The tighter of the two limits is the one named: the ceiling, or 4 x a small baseline.
      assert.match(
        (await text('#throttle-reason'))!,
        /^client p99 \d+(\.\d)?ms > (ceiling 40ms|4 x baseline \d+(\.\d)?ms)/,
      );
      await sleep(1500);
      const file = join(RESULTS, 'dashboard-backfill-throttled.png');
      await page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
      assert.equal(await page.locator('#mig-phase').textContent(), 'backfilling');

      await load.stop();
      await sg.admin(db.url, 'SHIFTGATE ROLLBACK');
      await page.waitForFunction(
        () => document.getElementById('mig-phase')?.textContent === 'rolled_back (latest)',
        null,
        {
          timeout: 15_000,
        },
      );
      await page.waitForFunction(
        () =>
          document.querySelector('#history tbody tr[data-name="add_digest"] td:nth-child(2)')?.textContent ===
          'rolled_back',
        null,
        { timeout: 10_000 },
      );
      assert.equal(await attr('#timeline li[data-phase="rolled_back"]', 'data-state'), 'done');
      await page.screenshot({ path: join(RESULTS, 'dashboard-rolled-back.png'), fullPage: true });
      t.diagnostic(
        `screenshots in ${RESULTS}: dashboard-idle.png, dashboard-backfill-throttled.png, dashboard-rolled-back.png`,
      );
      // The page changes nothing: no form, no button.
      assert.equal(await page.locator('button, form, input').count(), 0);
      assert.deepEqual(consoleErrors, []);
    } finally {
      await load.stop();
    }
  });
});
