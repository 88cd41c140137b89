import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { Frame } from './framer.ts';

/**
 * Decodes one whole backend frame with pg-protocol's parser. Used in the
 * startup phase (a handful of messages per connection), never on the hot
 * path, where the scanner suffices.
 */
export function decodeBackend(frame: Frame): BackendMessage {
  let decoded: BackendMessage | undefined;
  new Parser().parse(frame.raw, (msg) => {
    decoded = msg;
  });
  if (!decoded) throw new Error('pg-protocol did not decode a whole backend message');
  return decoded;
}
