import { StartupCode } from './message-codes.ts';

/**
 * The StartupMessage the proxy sends upstream when it has to change the
 * client's (a newer protocol version declined, the schema version added to
 * `options`): protocol 3.0 and exactly the given parameters, in order.
 * pg-protocol's encoder is not used because it appends a client_encoding of
 * its own, which would override the client's.
 */
export function encodeStartup(params: Iterable<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of params) parts.push(Buffer.from(`${name}\0${value}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(StartupCode.ProtocolV3, 4);
  body.copy(out, 8);
  return out;
}
