import { ProtocolError } from '../../../proxy/protocol-error.ts';
import { BackendCode } from './message-codes.ts';

/**
 * The fields of an ErrorResponse (or NoticeResponse) body, in the order the
 * server sent them: a one-byte field type (`C` SQLSTATE, `M` message, `D`
 * detail, `t` table, `c` column, `n` constraint, ...) and its text. Every
 * field is kept, known or not, so re-encoding a body changes only what the
 * caller changed.
 */
export type ErrorField = [type: string, value: string];

/** Decodes an ErrorResponse body (without its 5-byte header); reads never pass the body's end. */
export function decodeErrorFields(body: Buffer): ErrorField[] {
  const fields: ErrorField[] = [];
  let i = 0;
  for (;;) {
    if (i >= body.length) throw new ProtocolError('ErrorResponse without its terminating zero byte', 'E', i);
    const type = body[i]!;
    if (type === 0) return fields;
    const end = body.indexOf(0, i + 1);
    if (end < 0) throw new ProtocolError('ErrorResponse field without its terminating zero byte', 'E', i);
    fields.push([String.fromCharCode(type), body.toString('utf8', i + 1, end)]);
    i = end + 1;
  }
}

/** A whole ErrorResponse message (header included) carrying `fields`. */
export function encodeErrorFields(fields: readonly ErrorField[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(5)];
  for (const [type, value] of fields) parts.push(Buffer.from(`${type}${value}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  out[0] = BackendCode.ErrorResponse;
  out.writeInt32BE(out.length - 1, 1);
  return out;
}
