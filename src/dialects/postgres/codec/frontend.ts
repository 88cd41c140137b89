import { ProtocolError } from '../../../proxy/protocol-error.ts';
import type { Frame } from './framer.ts';
import { FrontendCode, StartupCode } from './message-codes.ts';
import { BoundedReader } from './reader.ts';

/** The first message of a connection (untyped). */
export type StartupMessage =
  | { kind: 'startup'; majorVersion: 3; minorVersion: number; params: Map<string, string> }
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number };

/** Decodes an untyped startup-phase frame. */
export function decodeStartup(frame: Frame): StartupMessage {
  const r = new BoundedReader(frame.raw, frame.bodyOffset, 'startup');
  const code = r.int32();
  switch (code) {
    case StartupCode.SSLRequest:
      r.done();
      return { kind: 'ssl' };
    case StartupCode.GSSENCRequest:
      r.done();
      return { kind: 'gssenc' };
    case StartupCode.CancelRequest: {
      const processId = r.int32();
      const secretKey = r.int32();
      r.done();
      return { kind: 'cancel', processId, secretKey };
    }
  }
  const major = code >>> 16;
  if (major !== 3) {
    throw new ProtocolError(`unsupported frontend protocol ${major}.${code & 0xffff}`, 'startup', 4);
  }
  const params = new Map<string, string>();
  for (;;) {
    const name = r.cstring();
    if (name === '') break;
    params.set(name, r.cstring());
  }
  r.done();
  return { kind: 'startup', majorVersion: 3, minorVersion: code & 0xffff, params };
}

/** The frontend messages the proxy reads; the rest it forwards unread. */
export type FrontendMessage =
  | { code: FrontendCode.Query; sql: string }
  | { code: FrontendCode.Parse; statement: string; sql: string; paramTypes: number[] }
  | { code: FrontendCode.Bind; portal: string; statement: string }
  | { code: FrontendCode.Describe | FrontendCode.Close; target: 'S' | 'P'; name: string }
  | { code: FrontendCode.Execute; portal: string; maxRows: number }
  | { code: FrontendCode.Sync | FrontendCode.Flush | FrontendCode.Terminate | FrontendCode.CopyDone }
  | {
      code: FrontendCode.CopyData | FrontendCode.CopyFail | FrontendCode.FunctionCall | FrontendCode.Password;
    };

/**
 * Decodes a typed frontend frame, bounded by the frame length. Bodies the
 * proxy never needs (COPY data, passwords, function calls) are only
 * length-checked.
 */
export function decodeFrontend(frame: Frame): FrontendMessage {
  const code = frame.code;
  const type = String.fromCharCode(code);
  const r = new BoundedReader(frame.raw, frame.bodyOffset, type);
  switch (code) {
    case FrontendCode.Query: {
      const sql = r.cstring();
      r.done();
      return { code, sql };
    }
    case FrontendCode.Parse: {
      const statement = r.cstring();
      const sql = r.cstring();
      // Unsigned, as the server reads it: drivers' bulk statements reach 65,535 parameters.
      const n = r.uint16();
      const paramTypes: number[] = [];
      for (let i = 0; i < n; i++) paramTypes.push(r.int32());
      r.done();
      return { code, statement, sql, paramTypes };
    }
    case FrontendCode.Bind: {
      // Only the names are read; parameter values stay in the raw frame.
      const portal = r.cstring();
      const statement = r.cstring();
      return { code, portal, statement };
    }
    case FrontendCode.Describe:
    case FrontendCode.Close: {
      const target = r.byte();
      if (target !== 0x53 && target !== 0x50) {
        throw new ProtocolError(`${type} target must be 'S' or 'P'`, type, frame.bodyOffset);
      }
      const name = r.cstring();
      r.done();
      return { code, target: target === 0x53 ? 'S' : 'P', name };
    }
    case FrontendCode.Execute: {
      const portal = r.cstring();
      const maxRows = r.int32();
      r.done();
      return { code, portal, maxRows };
    }
    case FrontendCode.Sync:
    case FrontendCode.Flush:
    case FrontendCode.Terminate:
    case FrontendCode.CopyDone:
      r.done();
      return { code };
    case FrontendCode.CopyData:
    case FrontendCode.CopyFail:
    case FrontendCode.FunctionCall:
    case FrontendCode.Password:
      return { code };
    default:
      throw new ProtocolError(`unknown frontend message type 0x${code.toString(16)}`, type, 0);
  }
}
