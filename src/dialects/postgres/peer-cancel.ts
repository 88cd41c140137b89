/**
 * The peer port's side of cancels across the fleet (DESIGN.md section 7):
 * a CancelRequest another proxy forwarded because the backend pid of its
 * key is listed in this proxy's heartbeat (`forwardCancelToOwner`).
 */
import type { Socket } from 'node:net';
import type { ProxyContext } from '../../proxy/context.ts';
import { log } from '../../proxy/log.ts';
import { decodeStartup } from './codec/frontend.ts';
import { cancelLocalSession } from './session.ts';

/** A CancelRequest is 16 bytes: length, code 80877102, process id, secret key. */
const CANCEL_REQUEST_BYTES = 16;

/**
 * A connection on the peer port: one CancelRequest forwarded by another
 * proxy, checked against this proxy's sessions only (never forwarded
 * again, so a key no proxy holds cannot circle). Anything else, or nothing
 * within the connect timeout, closes the connection.
 */
export function acceptPeerCancel(socket: Socket, ctx: ProxyContext): void {
  let received = Buffer.alloc(0);
  socket.setTimeout(ctx.config.proxy.connect_timeout_ms, () => socket.destroy());
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    if (received.length < CANCEL_REQUEST_BYTES) return;
    // No answer either way, as the server gives none to a CancelRequest.
    socket.destroy();
    if (received.length !== CANCEL_REQUEST_BYTES || received.readInt32BE(0) !== CANCEL_REQUEST_BYTES) return;
    try {
      const msg = decodeStartup({ code: -1, raw: received, bodyOffset: 4 });
      if (msg.kind === 'cancel' && !cancelLocalSession(ctx, msg.processId, msg.secretKey))
        log.debug('forwarded cancel request with an unknown key ignored', { processId: msg.processId });
    } catch {
      // Not a CancelRequest: dropped like any malformed one.
    }
  });
}
