/**
 * A TCP relay for fault injection between the proxy and a real server (or
 * between a client and the proxy): forwards bytes both ways until told to
 * cut every connection; can also corrupt what clients send, per connection,
 * and hold back what the server sends on a connection until released.
 * Loopback only.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface FaultRelay {
  readonly port: number;
  /** Connections currently relayed. */
  readonly connections: number;
  /** Connections accepted so far (their indexes are 0, 1, ...). */
  readonly opened: number;
  /** Set to corrupt client -> target bytes of relayed connections; receives the connection's index. */
  mutate: ((chunk: Buffer, connection: number) => Buffer) | null;
  /** Server bytes on connection `index` (also one not yet opened) are held until `release`. */
  stall(index: number): void;
  release(index: number): void;
  /** Destroys every relayed connection at once (both sides see a reset). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startFaultRelay(target: { host: string; port: number }): Promise<FaultRelay> {
  const pairs = new Set<[Socket, Socket]>();
  const clients = new Map<number, Socket>();
  const stalled = new Map<number, Buffer[] | null>();
  let next = 0;
  const server = createServer((client) => {
    const index = next++;
    clients.set(index, client);
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      clients.delete(index);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => upstream.write(relay.mutate ? relay.mutate(chunk, index) : chunk));
    upstream.on('data', (chunk: Buffer) => {
      const held = stalled.get(index);
      if (held) held.push(chunk);
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relay: FaultRelay = {
    port: (server.address() as AddressInfo).port,
    mutate: null,
    get connections() {
      return pairs.size;
    },
    get opened() {
      return next;
    },
    stall(index) {
      stalled.set(index, []);
    },
    release(index) {
      const held = stalled.get(index) ?? [];
      stalled.set(index, null);
      for (const chunk of held) clients.get(index)?.write(chunk);
    },
    cutAll() {
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
    },
    close: () =>
      new Promise((resolve) => {
        relay.cutAll();
        server.close(() => resolve());
      }),
  };
  return relay;
}
