import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.ts';
import { ProxyMetrics } from '../metrics/registry.ts';
import type { ProxyContext } from './context.ts';
import type { WireDialect } from './dialect.ts';
import type { FleetSessions } from './fleet-sessions.ts';
import { LatencyRecorder } from './latency-recorder.ts';
import { parseHostPort } from './listen-address.ts';
import { log } from './log.ts';
import { type PeerListener, startPeerListener } from './peer-listener.ts';
import { SessionRegistry } from './session-registry.ts';
import type { StatementRouter } from './statement-router.ts';

export interface RunningProxy {
  readonly ctx: ProxyContext;
  readonly address: AddressInfo;
  /** Where other proxies of the fleet forward cancels to this one (HOST:PORT), or null when it takes none. */
  readonly peer: string | null;
  /**
   * Stop accepting, let busy sessions finish their statement or transaction
   * for up to `timeoutMs`, then close whatever is left. Resolves when every
   * session is closed.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * Starts the client listener for one dialect. The listener is
 * dialect-neutral: it owns the socket lifecycle, the registry and drain;
 * everything that speaks a protocol is the dialect's.
 *
 * @example
 * const proxy = await startProxy({ config, dialect: postgresDialect, upstream: new URL(config.upstream!) });
 * // clients connect to proxy.address.port
 * await proxy.shutdown();
 */
export async function startProxy(options: {
  config: Config;
  dialect: WireDialect;
  upstream: URL;
  metrics?: ProxyMetrics;
  latency?: LatencyRecorder;
  registry?: SessionRegistry;
  /** Admin commands, version binding, translation; without one every statement passes unchanged. */
  router?: StatementRouter;
  /**
   * The other proxies' sessions: with them, cancels of sessions served
   * elsewhere are forwarded, and a peer port takes the ones forwarded here.
   */
  fleet?: FleetSessions;
}): Promise<RunningProxy> {
  const { config, dialect } = options;
  const clientTls =
    config.tls.cert && config.tls.key
      ? createSecureContext({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) })
      : null;
  const state = { draining: false };
  const ctx: ProxyContext = {
    config,
    router: options.router ?? null,
    upstream: options.upstream,
    registry: options.registry ?? new SessionRegistry(),
    latency: options.latency ?? new LatencyRecorder(config.proxy.latency_window_s),
    metrics: options.metrics ?? new ProxyMetrics(),
    clientTls,
    fleet: options.fleet ?? null,
    get draining() {
      return state.draining;
    },
  };
  const connections = ctx.metrics.clientConnections.labels(dialect.name);
  const sockets = new Set<Socket>();

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (state.draining) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let session: ReturnType<WireDialect['accept']>;
    try {
      session = dialect.accept(socket, ctx);
    } catch (err) {
      log.error('session setup failed', { error: (err as Error).message });
      socket.destroy();
      return;
    }
    ctx.registry.add(session);
    connections.inc();
    session.closed.then(() => connections.dec());
  });

  const { host, port } = parseHostPort(config.listen ?? `127.0.0.1:${dialect.defaultListenPort}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info('proxy listening', { dialect: dialect.name, address: `${address.address}:${address.port}` });
  let peer: PeerListener | null = null;
  if (options.fleet && dialect.acceptPeer) {
    try {
      peer = await startPeerListener(ctx, dialect.acceptPeer, host);
    } catch (err) {
      server.close();
      throw err;
    }
  }

  async function shutdown(timeoutMs = config.proxy.shutdown_timeout_ms): Promise<void> {
    state.draining = true;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    const sessions = ctx.registry.list();
    for (const s of sessions) s.drain();
    const allClosed = Promise.all(sessions.map((s) => s.closed));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if ((await Promise.race([allClosed, timedOut])) === 'timeout') {
      log.warn('shutdown timeout reached; closing busy sessions', { sessions: ctx.registry.size });
      for (const s of ctx.registry.list()) s.terminate('Shiftgate is shutting down');
      await allClosed;
    }
    clearTimeout(timer);
    // Sockets that never became sessions (half-open handshakes) go too.
    for (const socket of sockets) socket.destroy();
    await serverClosed;
    // Last: a statement still running while sessions drained could be cancelled from another proxy.
    await peer?.close();
  }

  return { ctx, address, peer: peer?.reachableAt ?? null, shutdown };
}
