/**
 * Admin authorisation on MySQL follows the account the server
 * authenticated (CURRENT_USER()), not the user name the client claimed: an
 * anonymous account lets any claimed name in, so the name alone proves
 * nothing. The accounts are made for the test and dropped after it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMysqlDatabase, MYSQL_URL, type TestDatabase } from '../helpers/databases.ts';

const suffix = randomBytes(4).toString('hex');
/** A name no account has: only the anonymous account lets it in. */
const claimedAdmin = `sg_claimed_${suffix}`;
const anonymousPassword = `anon_${randomBytes(8).toString('hex')}`;
/** A real account with a host pattern. */
const patternAdmin = `sg_admin_${suffix}`;
const patternPassword = randomBytes(8).toString('hex');

describe('mysql admin authorisation by the authenticated account', () => {
  let sg: Shiftgate;
  let root: mysql.Connection;
  let createdAnonymous = false;
  // The proxy's own state (its heartbeat) is kept under this database, and dropped with it.
  let db: TestDatabase;

  before(async () => {
    root = await mysql.createConnection(MYSQL_URL);
    const [existing] = await root.query("SELECT 1 FROM mysql.user WHERE User = '' AND Host = '%'");
    assert.equal((existing as unknown[]).length, 0, "the shared server has no ''@'%' account of its own");
    // ''@'%' sorts after every named account of the same host, so other clients keep their own
    // accounts; its password keeps unknown names with other passwords refused as before.
    await root.query("CREATE USER ''@'%' IDENTIFIED BY ?", [anonymousPassword]);
    createdAnonymous = true;
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [patternAdmin, '127.0.0.%', patternPassword]);
    db = await createMysqlDatabase('account');
    const config = loadConfig({
      env: {},
      flags: {
        upstream: db.url,
        listen: '127.0.0.1:0',
        'admin.users': `${claimedAdmin},${patternAdmin},root`,
      },
    });
    sg = await startShiftgate(config, db.url, { http: false });
  });

  after(async () => {
    await sg?.stop();
    if (createdAnonymous) await root.query("DROP USER IF EXISTS ''@'%'");
    await root.query('DROP USER IF EXISTS ?@?', [patternAdmin, '127.0.0.%']);
    await root.end();
    await db?.drop();
  });

  const connect = (user: string, password: string) =>
    mysql.createConnection({ host: '127.0.0.1', port: sg.proxy.address.port, user, password });

  it('a claimed admin name that logs in through the anonymous account is not an admin', async () => {
    const conn = await connect(claimedAdmin, anonymousPassword);
    try {
      const [[who]] = (await conn.query(
        'SELECT USER() AS claimed, CURRENT_USER() AS account',
      )) as unknown as [[{ claimed: string; account: string }]];
      assert.match(who.claimed, new RegExp(`^${claimedAdmin}@`));
      assert.equal(who.account, '@%', 'the server authenticated the anonymous account');
      await assert.rejects(conn.query('SHOW SHIFTGATE SESSIONS'), {
        errno: 1227,
        message: /permission denied for SHOW SHIFTGATE SESSIONS/,
      });
      await assert.rejects(conn.execute('SHIFTGATE PAUSE'), { message: /permission denied/ });
    } finally {
      await conn.end();
    }
  });

  it('an admin account with a host pattern is an admin, shown under its account name', async () => {
    const conn = await connect(patternAdmin, patternPassword);
    try {
      const [[who]] = (await conn.query('SELECT CURRENT_USER() AS account')) as unknown as [
        [{ account: string }],
      ];
      assert.equal(who.account, `${patternAdmin}@127.0.0.%`);
      const [rows] = await conn.query('SHOW SHIFTGATE SESSIONS');
      const mine = (rows as Array<{ id: string; user: string }>).find((r) => Number(r.id) === conn.threadId);
      assert.equal(mine?.user, patternAdmin);
    } finally {
      await conn.end();
    }
  });

  it('COM_CHANGE_USER to the anonymous account gives up admin rights; back to an admin restores them', async () => {
    const conn = await connect('root', '');
    try {
      await conn.query('SHOW SHIFTGATE SESSIONS');
      await conn.changeUser({ user: claimedAdmin, password: anonymousPassword });
      await assert.rejects(conn.query('SHOW SHIFTGATE SESSIONS'), { message: /permission denied/ });
      await conn.changeUser({ user: patternAdmin, password: patternPassword });
      await conn.query('SHOW SHIFTGATE SESSIONS');
      const [[one]] = (await conn.query('SELECT 1 AS one')) as unknown as [[{ one: number }]];
      assert.equal(one.one, 1);
    } finally {
      await conn.end();
    }
  });
});
