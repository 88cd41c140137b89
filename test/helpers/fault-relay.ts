/**
 * A TCP relay for fault injection between the proxy and a real server (or
 * between a client and the proxy): forwards bytes both ways until told to
 * cut every connection; can also corrupt what clients send, per connection.
 * Loopback only.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface FaultRelay {
  readonly port: number;
  /** Connections currently relayed. */
  readonly connections: number;
  /** Set to corrupt client -> target bytes of relayed connections; receives the connection's index. */
  mutate: ((chunk: Buffer, connection: number) => Buffer) | null;
  /** Destroys every relayed connection at once (both sides see a reset). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startFaultRelay(target: { host: string; port: number }): Promise<FaultRelay> {
  const pairs = new Set<[Socket, Socket]>();
  let next = 0;
  const server = createServer((client) => {
    const index = next++;
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => upstream.write(relay.mutate ? relay.mutate(chunk, index) : chunk));
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relay: FaultRelay = {
    port: (server.address() as AddressInfo).port,
    mutate: null,
    get connections() {
      return pairs.size;
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
