import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** What Node reads at most per read by default, and what each reused read buffer holds. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The keys under which a `net.Socket` keeps its `onread` buffer, callback
 * and buffer generator: own symbols of every socket, found by their
 * description once. Null when this Node keeps them otherwise (then no
 * socket is switched and all keep their 'data' events).
 */
let onreadKeys: { buffer: symbol; callback: symbol; generator: symbol } | null | undefined;

function keysOf(socket: Socket): typeof onreadKeys {
  if (onreadKeys !== undefined) return onreadKeys;
  const own = Object.getOwnPropertySymbols(socket);
  const find = (description: string) => own.find((s) => s.description === description);
  const buffer = find('kBuffer');
  const callback = find('kBufferCb');
  const generator = find('kBufferGen');
  onreadKeys = buffer && callback && generator ? { buffer, callback, generator } : null;
  return onreadKeys;
}

/**
 * Switches a plain TCP socket from 'data' events to reads into a buffer it
 * reuses, as `net.connect({ onread })` does (which `net.Server` offers no
 * way to ask for on the sockets it accepts): no Buffer is allocated per
 * read and no chunk goes through the Readable stream machinery, which is
 * most of what a relay spends per chunk besides the system calls.
 *
 * `onChunk` gets a view of the buffer that the next read overwrites. After
 * each call `keeps()` says whether anything still refers to it (a partial
 * frame held as a view, a write that did not complete synchronously, a
 * frame waiting for a routing decision); then the next read goes into a
 * fresh buffer and the kept one is left to whoever holds it. So nothing is
 * copied, and a buffer is reused only when nothing holds it.
 *
 * Reading stops and starts with `pause()` and `resume()` as before;
 * 'end', 'close' and 'error' are emitted as before. Returns false, leaving
 * the socket as it was, when it cannot be switched: a TLS socket (its
 * bytes are the TLS layer's), bytes already buffered in the stream (they
 * would come after newer ones), a socket already switched, or a Node
 * that keeps `onread` otherwise. `onChunk` is the socket's 'data'
 * listener, if it has one: a switched socket no longer calls it that way.
 */
export function readInPlace(socket: Socket, onChunk: (chunk: Buffer) => void, keeps: () => boolean): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } })
    ._handle;
  if (
    socket instanceof TLSSocket ||
    socket.destroyed ||
    socket.readableLength > 0 ||
    typeof handle?.useUserBuffer !== 'function'
  )
    return false;
  const keys = keysOf(socket);
  const slots = socket as unknown as Record<symbol, unknown>;
  // Already switched (a MySQL session logs in again after COM_CHANGE_USER): its reads stay as they are.
  if (!keys || slots[keys.buffer]) return false;
  let buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  slots[keys.buffer] = buffer;
  slots[keys.callback] = (bytes: number, into: Buffer) => {
    onChunk(into.subarray(0, bytes));
  };
  // Called by Node after each callback; what it returns is where the next read goes.
  slots[keys.generator] = () => {
    if (keeps()) buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    return buffer;
  };
  handle.useUserBuffer(buffer);
  socket.off('data', onChunk);
  return true;
}
