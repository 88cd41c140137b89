/**
 * Responses the proxy writes itself, in the server's own packet formats:
 * admin result sets (text and binary protocol), OK for `SET
 * shiftgate.version`, ERR for refusals, COM_STMT_PREPARE_OK for admin
 * commands prepared through the binary protocol. Pure: each encoder
 * returns the framed packets of one whole response, sequence ids included.
 */
import type { ClientError } from '../../proxy/client-error.ts';
import type { LocalResult } from '../../proxy/statement-router.ts';
import { encodeErr, encodeOk, encodePacket } from './messages.ts';
import { MAX_PACKET_PAYLOAD, ResponseHeader, ServerStatus } from './protocol.ts';
import { lenencIntBytes } from './reader.ts';

/** `MYSQL_TYPE_VAR_STRING`: every value the proxy answers with is text. */
export const COLUMN_TYPE_VAR_STRING = 0xfd;
/** utf8mb4_general_ci: exists on every MySQL and MariaDB that speaks utf8mb4. */
export const CHARSET_UTF8MB4 = 45;
/** NULL in a text row. */
const NULL_VALUE = 0xfb;
/** Every binary row starts with this byte (the OK header). */
const BINARY_ROW_HEADER = 0x00;
/** A binary row's NULL bitmap starts at bit 2 (the first two bits are reserved). */
const BINARY_NULL_BITMAP_OFFSET = 2;

/** The session state a locally written response depends on. */
export interface LocalAnswerContext {
  /** CLIENT_DEPRECATE_EOF was agreed: no EOF after the column definitions, an OK with the 0xFE header ends the rows. */
  deprecateEof: boolean;
  /** MARIADB_CLIENT_EXTENDED_METADATA was agreed: every column definition carries an (empty) extended-metadata field. */
  extendedMetadata: boolean;
  /** Server status flags to report (transaction state, autocommit), as last seen from the server. */
  statusFlags: number;
}

/**
 * Status flags that describe the session rather than one response: a local
 * answer repeats them so the client's view of its transaction stays right,
 * and never claims more results, a cursor or a state change.
 */
const SESSION_STATUS_FLAGS =
  ServerStatus.InTrans |
  ServerStatus.Autocommit |
  ServerStatus.NoBackslashEscapes |
  ServerStatus.InTransReadonly;

export function sessionStatus(statusFlags: number): number {
  return statusFlags & SESSION_STATUS_FLAGS;
}

/** Frames payloads as consecutive packets, counting sequence ids across 16 MB splits. */
class PacketSequence {
  private readonly parts: Buffer[] = [];

  constructor(private seq: number) {}

  push(payload: Buffer): void {
    this.parts.push(encodePacket(this.seq, payload));
    // A payload of n * 0xFFFFFF bytes or more takes floor(len / 0xFFFFFF) + 1 packets.
    this.seq = (this.seq + Math.floor(payload.length / MAX_PACKET_PAYLOAD) + 1) & 0xff;
  }

  toBuffer(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
  }
}

function lenencString(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  return [lenencIntBytes(bytes.length), bytes];
}

/** Protocol::ColumnDefinition41 of one text column. */
export function encodeColumnDefinition(name: string, maxBytes: number, extendedMetadata: boolean): Buffer {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c; // length of the fixed-length fields
  fixed.writeUInt16LE(CHARSET_UTF8MB4, 1);
  fixed.writeUInt32LE(Math.min(Math.max(maxBytes, 1), 0xffffffff) >>> 0, 3); // column_length
  fixed[7] = COLUMN_TYPE_VAR_STRING;
  fixed.writeUInt16LE(0, 8); // flags: nullable, not a key
  fixed[10] = 0; // decimals
  // fixed[11..12]: filler
  return Buffer.concat([
    ...lenencString('def'), // catalog
    ...lenencString(''), // schema
    ...lenencString(''), // table
    ...lenencString(''), // org_table
    ...lenencString(name),
    ...lenencString(name), // org_name
    // MariaDB extended metadata: an empty list of (type, value) pairs.
    ...(extendedMetadata ? [lenencIntBytes(0)] : []),
    fixed,
  ]);
}

/** EOF_Packet. */
export function encodeEof(statusFlags: number, warnings = 0): Buffer {
  const out = Buffer.alloc(5);
  out[0] = ResponseHeader.Eof;
  out.writeUInt16LE(warnings, 1);
  out.writeUInt16LE(statusFlags, 3);
  return out;
}

/** The OK_Packet with the 0xFE header that ends a result set under CLIENT_DEPRECATE_EOF. */
export function encodeOkAsEof(statusFlags: number): Buffer {
  const ok = encodeOk({ statusFlags });
  ok[0] = ResponseHeader.Eof;
  return ok;
}

function terminator(ctx: LocalAnswerContext): Buffer {
  const status = sessionStatus(ctx.statusFlags);
  return ctx.deprecateEof ? encodeOkAsEof(status) : encodeEof(status);
}

function columnWidths(result: LocalResult): number[] {
  return result.columns.map((name, i) => {
    let max = Buffer.byteLength(name, 'utf8');
    for (const row of result.rows) {
      const v = row[i];
      if (v !== null && v !== undefined) max = Math.max(max, Buffer.byteLength(v, 'utf8'));
    }
    return max;
  });
}

/** Column count, column definitions and (without CLIENT_DEPRECATE_EOF) the EOF that ends them. */
function pushMetadata(out: PacketSequence, result: LocalResult, ctx: LocalAnswerContext): void {
  out.push(lenencIntBytes(result.columns.length));
  const widths = columnWidths(result);
  result.columns.forEach((name, i) => {
    out.push(encodeColumnDefinition(name, widths[i]!, ctx.extendedMetadata));
  });
  if (!ctx.deprecateEof) out.push(encodeEof(sessionStatus(ctx.statusFlags)));
}

/** Protocol::TextResultsetRow: a length-encoded string per value, 0xFB for NULL. */
export function encodeTextRow(values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v === null || v === undefined) parts.push(Buffer.from([NULL_VALUE]));
    else parts.push(...lenencString(v));
  }
  return Buffer.concat(parts);
}

/** Protocol::BinaryResultsetRow of VAR_STRING values: header, NULL bitmap, length-encoded strings. */
export function encodeBinaryRow(values: readonly (string | null)[]): Buffer {
  const bitmap = Buffer.alloc(Math.floor((values.length + 7 + BINARY_NULL_BITMAP_OFFSET) / 8));
  const parts: Buffer[] = [Buffer.from([BINARY_ROW_HEADER]), bitmap];
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      const bit = i + BINARY_NULL_BITMAP_OFFSET;
      bitmap[bit >> 3]! |= 1 << (bit & 7);
    } else {
      parts.push(...lenencString(v));
    }
  });
  return Buffer.concat(parts);
}

/**
 * A whole result set as the server would send it, from sequence id
 * `firstSeq`: `binary` for the answer to COM_STMT_EXECUTE.
 *
 * @example
 * const bytes = encodeResultSet({ columns: ['a'], rows: [['1']], tag: 'SHOW' }, 1, ctx);
 */
export function encodeResultSet(
  result: LocalResult,
  firstSeq: number,
  ctx: LocalAnswerContext,
  binary = false,
): Buffer {
  const out = new PacketSequence(firstSeq);
  pushMetadata(out, result, ctx);
  for (const row of result.rows) out.push(binary ? encodeBinaryRow(row) : encodeTextRow(row));
  out.push(terminator(ctx));
  return out.toBuffer();
}

/** An OK packet for a statement the proxy ran itself (`SET shiftgate.version`). */
export function encodeLocalOk(firstSeq: number, ctx: LocalAnswerContext): Buffer {
  return encodePacket(firstSeq, encodeOk({ statusFlags: sessionStatus(ctx.statusFlags) }));
}

/** The ERR packet payload for a ClientError: its MySQL error number and SQLSTATE, the hint after the message. */
export function encodeClientError(error: ClientError): Buffer {
  const message = error.hint ? `${error.message} (hint: ${error.hint})` : error.message;
  return encodeErr(error.mysqlErrno, error.sqlstate, message);
}

/**
 * COM_STMT_PREPARE_OK for a statement the proxy answers itself: no
 * parameters, and no column definitions (the columns come with each
 * execution, as for a CALL whose result shape the server cannot know).
 */
export function encodeLocalPrepareOk(statementId: number): Buffer {
  const out = Buffer.alloc(12);
  out[0] = ResponseHeader.Ok;
  out.writeUInt32LE(statementId >>> 0, 1);
  out.writeUInt16LE(0, 5); // num_columns
  out.writeUInt16LE(0, 7); // num_params
  out[9] = 0; // reserved
  out.writeUInt16LE(0, 10); // warning_count
  return out;
}
