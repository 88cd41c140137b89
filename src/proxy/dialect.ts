import type { Socket } from 'node:net';
import type { ProxyContext } from './context.ts';
import type { SqlTranslator } from './router.ts';
import type { ProxySession } from './session.ts';

/**
 * The wire half of a database dialect: everything the dialect-neutral
 * listener needs to proxy one engine. Code outside `src/dialects/` calls
 * this interface and never branches on `name`, which exists for labels
 * and messages only.
 */
export interface WireDialect {
  readonly name: string;
  /** The port clients expect for this engine (6432 for PostgreSQL, 6033 for MySQL). */
  readonly defaultListenPort: number;
  /** Takes over an accepted client socket for the whole life of the session. */
  accept(socket: Socket, ctx: ProxyContext): ProxySession;
  /**
   * Takes a connection on the fleet's peer port: a cancel another proxy
   * forwards because the session it names is not there. Only this proxy's
   * own sessions are looked up, so a forwarded cancel is never forwarded
   * again. Absent when the dialect forwards no cancels (the proxy then
   * opens no peer port).
   */
  acceptPeer?(socket: Socket, ctx: ProxyContext): void;
  /** Opens and closes one upstream connection; rejects when the upstream is unreachable. */
  probeUpstream(ctx: ProxyContext): Promise<void>;
  /** The dialect's versioned SQL translator, or null when it has none yet (statements pass unchanged). */
  readonly createTranslator: (() => Promise<SqlTranslator>) | null;
}
