/** A PostgreSQL CancelRequest as a client's driver sends it, for the cancel tests. */
import { connect } from 'node:net';
import type pg from 'pg';
import { serialize } from 'pg-protocol';

/** The BackendKeyData a pg client received (the server's pid, the proxy's secret). */
export type KeyedClient = pg.Client & { processID: number; secretKey: number };

/** Writes the 16-byte CancelRequest to `port` and resolves once the proxy closes the connection. */
export function sendCancel(port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(serialize.cancel(processId, secretKey)));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}
