/**
 * Reading a socket into a reused buffer (`readInPlace`): the buffer is
 * reused only when nothing keeps it, bytes relayed through writes that
 * queue arrive intact, pause / resume / end behave as with 'data' events,
 * and sockets it cannot switch keep their 'data' events.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import { readInPlace } from '../../src/proxy/read-in-place.ts';

/** A connected pair: `accepted` is the server's end, `peer` the client's. */
async function socketPair(server: Server): Promise<{ accepted: Socket; peer: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const peer = connect((server.address() as AddressInfo).port, '127.0.0.1');
  peer.setNoDelay(true);
  const [socket] = await accepted;
  socket.setNoDelay(true);
  return { accepted: socket, peer };
}

/** Resolves with the next chunk `readInPlace` hands over. */
function nextChunk(chunks: Buffer[], count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (chunks.length >= count) {
        clearInterval(check);
        resolve();
      }
    }, 2);
  });
}

describe('readInPlace', () => {
  const server = createServer();
  const listening = once(server.listen(0, '127.0.0.1'), 'listening');
  after(() => server.close());

  it('reuses the buffer while nothing keeps it, and leaves a kept one alone', async () => {
    await listening;
    const { accepted, peer } = await socketPair(server);
    const chunks: Buffer[] = [];
    let keep = false;
    assert.equal(
      readInPlace(
        accepted,
        (c) => chunks.push(c),
        () => keep,
      ),
      true,
    );
    peer.write('first');
    await nextChunk(chunks, 1);
    peer.write('second');
    await nextChunk(chunks, 2);
    assert.equal(chunks[1]!.toString(), 'second');
    assert.equal(
      chunks[1]!.buffer,
      chunks[0]!.buffer,
      'nothing kept the first read: its buffer is read into again',
    );
    keep = true;
    peer.write('third');
    await nextChunk(chunks, 3);
    keep = false;
    peer.write('fourth');
    await nextChunk(chunks, 4);
    assert.equal(chunks[2]!.toString(), 'third', 'a kept chunk is not overwritten');
    assert.notEqual(chunks[3]!.buffer, chunks[2]!.buffer);
    peer.destroy();
    accepted.destroy();
  });

  it('relays bytes intact through writes that queue behind a slow reader', async () => {
    await listening;
    const from = await socketPair(server);
    const to = await socketPair(server);
    const out = to.accepted;
    // The relay's rule: a buffer a queued write may still refer to is not read into again.
    assert.equal(
      readInPlace(
        from.accepted,
        (c) => out.write(c),
        () => out.writableLength > 0,
      ),
      true,
    );
    const payload = randomBytes(8 * 1024 * 1024);
    const received: Buffer[] = [];
    let bytes = 0;
    const done = new Promise<void>((resolve) => {
      to.peer.on('data', (c: Buffer) => {
        received.push(c);
        bytes += c.length;
        // Slow: the relay's writes queue while this side is paused.
        to.peer.pause();
        setTimeout(() => to.peer.resume(), 1);
        if (bytes >= payload.length) resolve();
      });
    });
    for (let at = 0; at < payload.length; at += 16 * 1024)
      from.peer.write(payload.subarray(at, at + 16 * 1024));
    await done;
    assert.equal(Buffer.compare(Buffer.concat(received), payload), 0, 'every byte as it was sent');
    for (const s of [from.peer, from.accepted, to.peer, to.accepted]) s.destroy();
  });

  it('stops and starts reading with pause and resume, and ends as before', async () => {
    await listening;
    const { accepted, peer } = await socketPair(server);
    const chunks: Buffer[] = [];
    readInPlace(
      accepted,
      (c) => chunks.push(Buffer.from(c)),
      () => false,
    );
    accepted.pause();
    peer.write('held');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(chunks.length, 0, 'nothing is read while paused');
    const ended = once(accepted, 'end');
    accepted.resume();
    await nextChunk(chunks, 1);
    assert.equal(Buffer.concat(chunks).toString(), 'held');
    peer.end();
    await ended;
    accepted.destroy();
  });

  it('leaves a socket with buffered bytes, or a TLS socket, on its data events', async () => {
    await listening;
    const { accepted, peer } = await socketPair(server);
    accepted.pause();
    peer.write('waiting');
    await new Promise((r) => setTimeout(r, 50));
    accepted.read(0);
    assert.ok(accepted.readableLength > 0);
    assert.equal(
      readInPlace(
        accepted,
        () => {},
        () => false,
      ),
      false,
    );
    const [data] = (await Promise.all([once(accepted.resume(), 'data')]))[0] as [Buffer];
    assert.equal(data.toString(), 'waiting');
    assert.equal(
      readInPlace(
        new TLSSocket(connect(1, '127.0.0.1').on('error', () => {})),
        () => {},
        () => false,
      ),
      false,
    );
    peer.destroy();
    accepted.destroy();
  });
});
