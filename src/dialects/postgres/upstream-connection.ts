import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** How the proxy reaches the upstream server, read from the upstream URL. */
export interface UpstreamTarget {
  host: string;
  port: number;
  /** libpq's sslmode: disable and allow/prefer try clear text first / TLS first; require and verify-* insist. */
  sslmode: 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
}

export function upstreamTarget(url: URL): UpstreamTarget {
  const raw =
    url.searchParams.get('sslmode') ?? (url.searchParams.get('ssl') === 'true' ? 'require' : 'disable');
  const sslmode = (['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const).find(
    (m) => m === raw,
  );
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(url.port || 5432),
    sslmode: sslmode ?? (raw === 'allow' ? 'disable' : 'require'),
  };
}

/** SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Opens a connection to the upstream server, negotiating TLS first when the
 * URL asks for it, and resolves with a socket ready for a startup or cancel
 * message.
 */
export async function connectUpstream(target: UpstreamTarget, timeoutMs: number): Promise<Socket> {
  const socket = netConnect({ host: target.host, port: target.port, noDelay: true });
  socket.setTimeout(timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.once('timeout', () => reject(new Error(`connect timeout after ${timeoutMs} ms`)));
    });
    if (target.sslmode === 'disable') return ready(socket);
    socket.write(SSL_REQUEST);
    const answer = await readOneByte(socket);
    if (answer === 0x4e /* 'N' */) {
      if (target.sslmode === 'prefer') return ready(socket);
      throw new Error(`the upstream server refused TLS but sslmode=${target.sslmode}`);
    }
    if (answer !== 0x53 /* 'S' */)
      throw new Error(`unexpected answer 0x${answer.toString(16)} to SSLRequest`);
    const secure = tlsConnect({
      socket,
      servername: /^[\d.:]+$/.test(target.host) ? undefined : target.host,
      rejectUnauthorized: target.sslmode === 'verify-ca' || target.sslmode === 'verify-full',
      checkServerIdentity: target.sslmode === 'verify-full' ? undefined : () => undefined,
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return ready(secure);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

function ready(socket: Socket): Socket {
  socket.setTimeout(0);
  socket.removeAllListeners('timeout');
  socket.removeAllListeners('connect');
  socket.removeAllListeners('error');
  return socket;
}

function readOneByte(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      socket.off('data', onData);
      socket.pause();
      if (chunk.length > 1) {
        // Bytes after the answer and before the TLS handshake would be injected, unauthenticated data.
        reject(new Error('the upstream server sent unexpected data after its SSLRequest answer'));
        return;
      }
      resolve(chunk[0]!);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () =>
      reject(new Error('the upstream server closed the connection during TLS negotiation')),
    );
  });
}
