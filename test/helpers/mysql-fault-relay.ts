/**
 * A TCP relay for MySQL fault tests that can also corrupt traffic: every
 * chunk from the client side goes through `mutate` (when set) before it is
 * forwarded, so a test can flip bytes in one connection only.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface MutatingRelay {
  readonly port: number;
  /** Set to corrupt client -> target bytes of relayed connections; receives the connection's index. */
  mutate: ((chunk: Buffer, connection: number) => Buffer) | null;
  cutAll(): void;
  close(): Promise<void>;
}

export async function startMutatingRelay(target: { host: string; port: number }): Promise<MutatingRelay> {
  const pairs = new Set<[Socket, Socket]>();
  let next = 0;
  const relay: MutatingRelay = {
    port: 0,
    mutate: null,
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
  (relay as { port: number }).port = (server.address() as AddressInfo).port;
  return relay;
}
