import { AuthCode, BackendCode } from './message-codes.ts';

/**
 * Encoders for the few backend messages the proxy writes itself (its own
 * errors, the keys it hands out, the authentication offer it trims, the
 * protocol version it speaks, the result sets of its admin commands).
 * Everything else the client receives is the server's bytes, forwarded as
 * they came.
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

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n, 0);
  return b;
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
  /** The CONTEXT line (`COPY t, line 1: "..."`). */
  where?: string;
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
  if (f.where) parts.push(Buffer.from('W'), cstr(f.where));
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

/** Type OID of `text`, the type of every column the proxy answers itself. */
export const TEXT_OID = 25;

/** RowDescription of text columns in text format, as the server describes `NULL::text AS name`. */
export function encodeRowDescription(columns: readonly string[]): Buffer {
  const parts: Buffer[] = [int16(columns.length)];
  for (const name of columns) {
    // Table OID, column number, type OID, type size (-1: varlena), type modifier, format code (text).
    parts.push(cstr(name), int32(0), int16(0), int32(TEXT_OID), int16(-1), int32(-1), int16(0));
  }
  return message(BackendCode.RowDescription, Buffer.concat(parts));
}

/** DataRow of text values; null is SQL NULL (length -1). */
export function encodeDataRow(values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [int16(values.length)];
  for (const v of values) {
    if (v === null) parts.push(int32(-1));
    else {
      const b = Buffer.from(v, 'utf8');
      parts.push(int32(b.length), b);
    }
  }
  return message(BackendCode.DataRow, Buffer.concat(parts));
}

export function encodeCommandComplete(tag: string): Buffer {
  return message(BackendCode.CommandComplete, cstr(tag));
}

const PORTAL_SUSPENDED = message(BackendCode.PortalSuspended, Buffer.alloc(0));

/** PortalSuspended: an Execute's row limit was reached before the portal's end. */
export function encodePortalSuspended(): Buffer {
  return PORTAL_SUSPENDED;
}
