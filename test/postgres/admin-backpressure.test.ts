/**
 * While the proxy works out an admin answer, it reads nothing more from
 * that client: what the client pipelines behind stays in the socket, not
 * in the proxy's memory, even when the upstream connection drains in the
 * meantime (its `drain` event used to resume the client).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { encodeStartup } from '../../src/dialects/postgres/codec/startup-encoder.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';
import { startTestShiftgate, type TestShiftgate } from '../helpers/shiftgate.ts';

/** Counts ReadyForQuery messages in the server's stream (type 'Z', length 5). */
function countReadyForQuery(socket: Socket): { count: () => number; errors: () => number } {
  let buffered = Buffer.alloc(0);
  let ready = 0;
  let errors = 0;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (buffered.length - offset >= 5) {
      const length = buffered.readUInt32BE(offset + 1);
      if (buffered.length - offset < 1 + length) break;
      const code = buffered[offset];
      if (code === 0x5a) ready++;
      if (code === 0x45) errors++;
      offset += 1 + length;
    }
    buffered = buffered.subarray(offset);
  });
  return { count: () => ready, errors: () => errors };
}

describe('PostgreSQL: client back-pressure while an admin answer is pending', () => {
  let db: TestDatabase;
  let sg: TestShiftgate;

  before(async () => {
    db = await createPgDatabase('admin_bp');
    sg = await startTestShiftgate(db.url);
    // A migration has run: the status answer then reads the state store.
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('CREATE TABLE t (id int PRIMARY KEY)');
    await setup.end();
    sg.writeMigration(
      '02_note',
      'operations:\n  - add_column: { table: t, column: { name: note, type: text, nullable: true } }\n',
    );
    await sg.admin(db.url, "SHIFTGATE START '02_note'");
    await sg.waitForPhase(db.url, 'active');
    // Completed, so no statement is translated (parsing the big one would stall the proxy by itself).
    await sg.admin(db.url, 'SHIFTGATE COMPLETE');
  });

  after(async () => {
    await sg?.stop();
    await db?.drop();
  });

  test('the client is not read while SHOW SHIFTGATE STATUS waits, even after the upstream drained', async () => {
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    locker.on('error', () => {});
    await locker.query('BEGIN');
    // The status answer reads the state table: it waits until this lock is released.
    await locker.query('LOCK TABLE shiftgate.migrations IN ACCESS EXCLUSIVE MODE');

    const port = new URL(sg.via(db.url)).port;
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const replies = countReadyForQuery(socket);
    socket.write(
      encodeStartup([
        ['user', 'postgres'],
        ['database', db.name],
      ]),
    );
    while (replies.count() < 1) await new Promise((r) => setTimeout(r, 10));

    // A statement big enough to fill the upstream socket, the admin command right behind it in the
    // same chunk, then 40 MB of small statements pipelined after.
    const big = serialize.query(`SELECT length('${'x'.repeat(8 * 1024 * 1024)}')`);
    const admin = serialize.query('SHOW SHIFTGATE STATUS');
    const small = serialize.query(`SELECT '${'y'.repeat(4000)}'`);
    const flood = Buffer.concat(Array.from({ length: 10_000 }, () => small));
    socket.write(Buffer.concat([big, admin, flood]));
    await new Promise((r) => setTimeout(r, 2000));
    // The proxy must have left most of the flood unread: the client still holds it in its buffer.
    const unread = socket.writableLength;
    assert.ok(
      unread > 20 * 1024 * 1024,
      `only ${unread} bytes left unread: the proxy read the pipeline while paused`,
    );
    assert.equal(replies.count(), 2, 'only the big statement is answered while the admin command waits');

    await locker.query('COMMIT');
    await locker.end();
    const deadline = Date.now() + 30_000;
    while (replies.count() < 1 + 2 + 10_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(replies.count(), 1 + 2 + 10_000);
    assert.equal(replies.errors(), 0);
    socket.end(serialize.end());
  });
});
