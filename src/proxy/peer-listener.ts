import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { ProxyContext } from './context.ts';
import type { WireDialect } from './dialect.ts';
import { formatHostPort, parseHostPort, reachableHost } from './listen-address.ts';
import { log } from './log.ts';

export interface PeerListener {
  /** Where other proxies reach it (HOST:PORT), as the heartbeat tells them. */
  readonly reachableAt: string;
  close(): Promise<void>;
}

/**
 * The port on which this proxy takes the cancels other proxies of the fleet
 * forward (`fleet.peer_listen`; by default the listen host on a port the
 * system picks). It is this proxy's alone, never shared with the client
 * port: `proxy.workers` processes share that one, so a cancel forwarded to
 * it could land on yet another worker. `exclusive` keeps node:cluster from
 * sharing this one among workers too.
 */
export async function startPeerListener(
  ctx: ProxyContext,
  acceptPeer: NonNullable<WireDialect['acceptPeer']>,
  listenHost: string,
): Promise<PeerListener> {
  const { config } = ctx;
  const { host, port } = config.fleet.peer_listen
    ? parseHostPort(config.fleet.peer_listen)
    : { host: listenHost, port: 0 };
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    acceptPeer(socket, ctx);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const reachableAt = formatHostPort(
    reachableHost(address.address, config.fleet.advertise_host),
    address.port,
  );
  log.info('fleet peer port listening', { address: `${address.address}:${address.port}`, reachableAt });
  return {
    reachableAt,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
