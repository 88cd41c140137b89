/**
 * Flow control while an admin answer is pending: the relay stops reading
 * the client until the router has answered, and the upstream socket
 * draining in the meantime must not start it reading again (the commands
 * behind the admin command would pile up in the proxy's memory).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Packet } from '../../src/dialects/mysql/framer.ts';
import { encodePacket, encodeQuery } from '../../src/dialects/mysql/messages.ts';
import type { MysqlSession } from '../../src/dialects/mysql/session.ts';
import type { Route, StatementRouter } from '../../src/proxy/statement-router.ts';
import { type MysqlProxy, startMysqlProxy } from './proxy-harness.ts';
import { isEofOrErr, RawMysqlClient } from './raw-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;
const ADMIN_DELAY_MS = 2500;

/** Answers Shiftgate commands itself after a delay (an admin command that takes its time, like START); forwards the rest. */
const slowAdminRouter: StatementRouter = {
  generation: 0,
  mayRoute: (bytes, start, end) => bytes.subarray(start, end).includes('SHIFTGATE'),
  async route(): Promise<Route> {
    await sleep(ADMIN_DELAY_MS);
    return { kind: 'result', result: { columns: ['status'], rows: [['done']], tag: 'SHOW' } };
  },
  bindAtConnect: () => undefined,
  localResultColumns: () => null,
};

const query = (sql: string) => encodePacket(0, encodeQuery(sql));

describe('mysql flow control around a pending admin answer', () => {
  let proxy: MysqlProxy;

  before(async () => {
    proxy = await startMysqlProxy({ router: slowAdminRouter });
  });

  after(async () => {
    await proxy.stop();
  });

  it('an upstream drain does not resume reading the client while the admin answer is pending', async () => {
    const client = await RawMysqlClient.connect(proxy.port);
    const session = proxy.proxy.ctx.registry.byCancelKey(String(client.connectionId)) as MysqlSession;
    const backlogBytes = () =>
      ((session as unknown as { backlog: Packet[] | null }).backlog ?? []).reduce(
        (n, p) => n + p.raw.length,
        0,
      );
    // The server sleeps, so the 8 MiB statement behind it fills the upstream socket; the admin
    // command right behind that pauses the client; the upstream drains while the answer is pending.
    const big = query(`SELECT 1 /*${'x'.repeat(8 * MiB + 1000)}*/`);
    const filler = query(`DO 1 /*${'y'.repeat(64 * 1024)}*/`);
    client.sendRaw(
      Buffer.concat([
        query('SELECT SLEEP(0.5)'),
        big,
        query('SHOW SHIFTGATE STATUS'),
        ...Array.from({ length: 512 }, () => filler), // 32 MiB behind the admin command
      ]),
    );
    await sleep(ADMIN_DELAY_MS - 700);
    const held = backlogBytes();
    assert.ok(
      held < 2 * MiB,
      `commands held behind the pending admin answer: ${(held / MiB).toFixed(1)} MiB`,
    );
    // Then every answer arrives, in order: the two result sets, the proxy's own, 512 OKs.
    const readResultSet = async () => {
      let eofs = 0;
      const packets = await client.readUntil((p) => p.payload[0] === 0xff || (isEofOrErr(p) && ++eofs === 2));
      assert.notEqual(packets.at(-1)!.payload[0], 0xff, 'a result set, not an error');
      return packets;
    };
    await readResultSet(); // SLEEP(0.5)
    await readResultSet(); // SELECT 1 /* 8 MiB */
    const admin = await readResultSet();
    assert.ok(
      admin.some((p) => p.payload.includes('done')),
      'the admin answer',
    );
    for (let i = 0; i < 512; i++) assert.equal((await client.read()).payload[0], 0x00, `OK of DO ${i}`);
    client.close();
  });
});
