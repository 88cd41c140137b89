import { serialize } from 'pg-protocol';
import type { ProxyContext } from '../../proxy/context.ts';
import { parseHostPort } from '../../proxy/listen-address.ts';
import { log } from '../../proxy/log.ts';
import { connectUpstream, type UpstreamTarget } from './upstream-connection.ts';

/** Registry key of a BackendKeyData pair the proxy handed to a client. */
export function cancelKeyOf(processId: number, secretKey: number): string {
  return `pg:${processId}:${secretKey}`;
}

/**
 * Sends a CancelRequest on a new connection, as libpq does: to the upstream
 * server for its backend, or to another proxy's peer port. The receiver
 * answers nothing and closes; one that does not close within `timeoutMs`
 * is left.
 */
export async function sendCancel(
  target: UpstreamTarget,
  key: { processId: number; secretKey: number },
  timeoutMs: number,
): Promise<void> {
  const socket = await connectUpstream(target, timeoutMs);
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.end(serialize.cancel(key.processId, key.secretKey));
    socket.resume();
  });
}

/**
 * A CancelRequest with a key no session of this proxy holds, forwarded the
 * way PgBouncer's peering does (DESIGN.md section 7): the pid of the key is
 * the server's, unique among its connections, so the other live proxies
 * whose heartbeats list a session on that backend pid get the request on
 * their peer port (a pid the server reused within a heartbeat may be listed
 * twice); each checks the key against its own sessions only, so only the
 * owner's secret matches, and a forged key or a stale heartbeat cancels
 * nothing. The secret never leaves the proxy that made it up except inside
 * the forwarded request. Dropped silently when no proxy lists the pid, as
 * the server drops an unknown key. Never rejects.
 */
export async function forwardCancelToOwner(
  ctx: ProxyContext,
  processId: number,
  secretKey: number,
): Promise<void> {
  const owners = (await ctx.fleet?.find((s) => s.backendId === processId)) ?? [];
  if (owners.length === 0) {
    log.debug('cancel request with an unknown key ignored', { processId });
    return;
  }
  await Promise.all(
    owners.map(async (owner) => {
      if (owner.peer === null) return;
      const { host, port } = parseHostPort(owner.peer);
      try {
        await sendCancel(
          { host, port, sslmode: 'disable' },
          { processId, secretKey },
          ctx.config.proxy.connect_timeout_ms,
        );
        log.debug('cancel request forwarded to the proxy serving the session', {
          proxy: owner.proxy,
          processId,
        });
      } catch (err) {
        log.warn('cancel request not forwarded to the proxy serving the session', {
          proxy: owner.proxy,
          peer: owner.peer,
          error: (err as Error).message,
        });
      }
    }),
  );
}
