import { AuthCode, BackendCode } from './message-codes.ts';

/**
 * Encoders for the few backend messages the proxy writes itself (its own
 * errors, the keys it hands out, the authentication offer it trims, the
 * protocol version it speaks). Everything else the client receives is the
 * server's bytes, forwarded as they came.
 */

/** Builds one typed message: code, Int32 length, body. */
function message(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG';
  /** Five-character SQLSTATE. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

function fieldsBody(f: ErrorFields): Buffer {
  const parts = [
    Buffer.from('S'),
    cstr(f.severity),
    Buffer.from('V'),
    cstr(f.severity),
    Buffer.from('C'),
    cstr(f.code),
    Buffer.from('M'),
    cstr(f.message),
  ];
  if (f.detail) parts.push(Buffer.from('D'), cstr(f.detail));
  if (f.hint) parts.push(Buffer.from('H'), cstr(f.hint));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeErrorResponse(f: ErrorFields): Buffer {
  return message(BackendCode.ErrorResponse, fieldsBody(f));
}

export function encodeBackendKeyData(processId: number, secretKey: number): Buffer {
  return message(BackendCode.BackendKeyData, Buffer.concat([int32(processId), int32(secretKey)]));
}

/** Tells a client asking for a newer 3.x minor version (or `_pq_.` options) what the proxy speaks. */
export function encodeNegotiateProtocolVersion(newestMinor: number, unrecognized: string[]): Buffer {
  return message(
    BackendCode.NegotiateProtocolVersion,
    Buffer.concat([int32(newestMinor), int32(unrecognized.length), ...unrecognized.map(cstr)]),
  );
}

export function encodeAuthenticationSASL(mechanisms: string[]): Buffer {
  return message(
    BackendCode.Authentication,
    Buffer.concat([int32(AuthCode.SASL), ...mechanisms.map(cstr), Buffer.from([0])]),
  );
}
