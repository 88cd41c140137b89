/**
 * The dashboard's JSON API in front of MariaDB: the same answers as for
 * PostgreSQL (the API reads only dialect-neutral sources), through a
 * migration from active to completed, with sessions counted by version.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';

const ROWS = 500;

describe('dashboard JSON API (MariaDB)', () => {
  let db: TestDatabase;
  let sg: Shiftgate;
  let base: string;
  const conns: mysql.Connection[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field
  const api = async (path: string): Promise<any> => {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200, path);
    return res.json();
  };
  const connect = async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: sg.proxy.address.port,
      user: 'root',
      database: db.name,
    });
    conns.push(c);
    return c;
  };

  before(async () => {
    db = await createMysqlDatabase('dash_my');
    const direct = await mysql.createConnection({ uri: db.url, multipleStatements: true });
    await direct.query('CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL)');
    const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 'item ${i + 1}')`).join(',');
    await direct.query(`INSERT INTO items VALUES ${values}`);
    await direct.end();
    const dir = mkdtempSync(join(tmpdir(), 'shiftgate-dash-mysql-'));
    writeFileSync(
      join(dir, '02_upper.yaml'),
      "operations:\n  - add_column:\n      table: items\n      column: { name: upper_name, type: 'varchar(40)' }\n      up: 'UPPER(name)'\n",
    );
    const config = loadConfig({
      env: {},
      flags: {
        upstream: db.url,
        listen: '127.0.0.1:0',
        http: '127.0.0.1:0',
        migrations: dir,
        'admin.users': 'root',
      },
    });
    sg = await startShiftgate(config, db.url);
    base = `http://127.0.0.1:${sg.http!.address.port}`;
  });

  after(async () => {
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
    await sg.stop();
    const direct = await mysql.createConnection({ uri: db.url });
    await direct.query('DELETE FROM shiftgate.migrations WHERE schema_name = ?', [db.name]).catch(() => {});
    await direct.query('DELETE FROM shiftgate.events WHERE schema_name = ?', [db.name]).catch(() => {});
    await direct.end();
    await db.drop();
  });

  test('active then completed, with sessions by version', async () => {
    const old = await connect();
    await old.query('SELECT count(*) FROM items');
    const s0 = await api('/api/status');
    assert.equal(s0.dialect, 'mysql');
    assert.equal(s0.unavailable, null);
    assert.equal(s0.migration, null);

    const admin = await connect();
    await admin.query("SHIFTGATE START '02_upper'");
    let s = s0;
    for (let i = 0; i < 150 && s.migration?.phase !== 'active'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      s = await api('/api/status');
    }
    assert.equal(s.migration.phase, 'active');
    assert.equal(s.migration.rowsDone, ROWS);
    assert.equal(s.migration.rowsTotal, ROWS);
    assert.equal(s.migration.progress, 1);
    assert.equal(s.migration.tables[0].table, 'items');

    const fresh = await connect();
    await fresh.query("SET shiftgate.version = '02_upper'");
    await fresh.query('SELECT upper_name FROM items WHERE id = 1');
    const sessions = await api('/api/sessions');
    assert.deepEqual(
      sessions.byVersion
        .map((v: { version: string; sessions: number }) => `${v.version}=${v.sessions}`)
        .sort(),
      ['(initial)=1', '02_upper=1'],
    );
    assert.equal(sessions.adminOnly, 1, 'the session that ran only SHIFTGATE START');

    await admin.query('SHIFTGATE COMPLETE FORCE');
    const { migrations } = await api('/api/migrations');
    assert.deepEqual(
      migrations.map((m: { name: string; phase: string }) => `${m.name}:${m.phase}`),
      ['02_upper:completed'],
    );
    // Status answers are shared for half a second: the phase shows within that.
    let done = await api('/api/status');
    for (let i = 0; i < 20 && done.migration.phase !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = await api('/api/status');
    }
    assert.equal(done.migration.phase, 'completed');
    assert.equal(done.migration.inFlight, false);
  });
});
