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
  /** Opens and closes one upstream connection; rejects when the upstream is unreachable. */
  probeUpstream(ctx: ProxyContext): Promise<void>;
  /** The dialect's versioned SQL translator, or null when it has none yet (statements pass unchanged). */
  readonly createTranslator: (() => Promise<SqlTranslator>) | null;
}
