import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { ProtocolError } from '../../../proxy/protocol-error.ts';
import type { Frame } from './framer.ts';

/**
 * Decodes one whole backend frame with pg-protocol's parser. Used in the
 * startup phase (a handful of messages per connection), never on the hot
 * path, where the scanner suffices.
 *
 * pg-protocol trusts what it reads: an unknown authentication code or a
 * body shorter than its fields make it throw a plain Error or RangeError.
 * Either is this frame's fault, so it becomes a ProtocolError (the
 * session answers 08P01 and closes) instead of escaping the socket handler.
 */
export function decodeBackend(frame: Frame): BackendMessage {
  let decoded: BackendMessage | undefined;
  try {
    new Parser().parse(frame.raw, (msg) => {
      decoded = msg;
    });
  } catch (err) {
    throw new ProtocolError((err as Error).message, String.fromCharCode(frame.code), 0);
  }
  if (!decoded) {
    throw new ProtocolError('not a whole backend message', String.fromCharCode(frame.code), 0);
  }
  return decoded;
}
