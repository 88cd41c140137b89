/**
 * A TCP relay for fault injection between the proxy and a real server (or
 * between a client and the proxy): forwards bytes both ways until told to
 * cut every connection, or to stop accepting. Loopback only.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface FaultRelay {
  readonly port: number;
  /** Connections currently relayed. */
  readonly connections: number;
  /** Destroys every relayed connection at once (both sides see a reset). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startFaultRelay(target: { host: string; port: number }): Promise<FaultRelay> {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
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
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
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
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
