import { serialize } from 'pg-protocol';
import { connectUpstream, type UpstreamTarget } from './upstream-connection.ts';

/** Registry key of a BackendKeyData pair the proxy handed to a client. */
export function cancelKeyOf(processId: number, secretKey: number): string {
  return `pg:${processId}:${secretKey}`;
}

/**
 * Sends a CancelRequest for an upstream backend on a new connection, as
 * libpq does; the server answers nothing and closes.
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
    socket.end(serialize.cancel(key.processId, key.secretKey));
    socket.resume();
  });
}
