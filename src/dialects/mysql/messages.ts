/**
 * Decoders and encoders for the MySQL packets the proxy must read or write
 * itself. Pure functions over payloads (no sockets); every decoder reads
 * through a bounded `PayloadReader` and throws `ProtocolError` on a packet
 * that breaks the format.
 */
import { ProtocolError } from '../../proxy/protocol-error.ts';
import { Capability, Command, MAX_PACKET_PAYLOAD, PACKET_HEADER_LENGTH, ResponseHeader } from './protocol.ts';
import { lenencIntBytes, PayloadReader } from './reader.ts';

/** Frames `payload` as one or more packets starting at `sequenceId` (payloads >= 16 MB are split). */
export function encodePacket(sequenceId: number, payload: Buffer): Buffer {
  if (payload.length < MAX_PACKET_PAYLOAD) {
    const out = Buffer.allocUnsafe(PACKET_HEADER_LENGTH + payload.length);
    out.writeUIntLE(payload.length, 0, 3);
    out[3] = sequenceId & 0xff;
    payload.copy(out, PACKET_HEADER_LENGTH);
    return out;
  }
  const parts: Buffer[] = [];
  let offset = 0;
  let seq = sequenceId;
  // A payload of an exact multiple of 0xFFFFFF ends with an empty packet.
  for (;;) {
    const size = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
    const header = Buffer.alloc(PACKET_HEADER_LENGTH);
    header.writeUIntLE(size, 0, 3);
    header[3] = seq & 0xff;
    parts.push(header, payload.subarray(offset, offset + size));
    offset += size;
    seq++;
    if (size < MAX_PACKET_PAYLOAD) break;
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// Connection phase

/** Protocol::HandshakeV10, the server greeting. */
export interface HandshakeV10 {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** Scramble for the auth plugin (both parts joined, trailing NUL removed). */
  authPluginData: Buffer;
  /** All 32 lower capability bits (unsigned). */
  capabilities: number;
  /** MariaDB extended capabilities (0 from MySQL servers). */
  mariadbCapabilities: number;
  characterSet: number;
  statusFlags: number;
  authPluginName: string;
}

export function decodeHandshakeV10(payload: Buffer): HandshakeV10 {
  const r = new PayloadReader(payload, 'HandshakeV10');
  const protocolVersion = r.int1();
  if (protocolVersion !== 10) {
    throw new ProtocolError(`unsupported handshake protocol version ${protocolVersion}`, 'HandshakeV10', 0);
  }
  const serverVersion = r.nulString();
  const connectionId = r.int4();
  const part1 = r.bytes(8);
  r.skip(1);
  let capabilities = r.int2();
  let characterSet = 0;
  let statusFlags = 0;
  let mariadbCapabilities = 0;
  let authPluginName = '';
  let part2: Buffer = Buffer.alloc(0);
  if (r.remaining > 0) {
    characterSet = r.int1();
    statusFlags = r.int2();
    capabilities = (capabilities | (r.int2() << 16)) >>> 0;
    const authDataLength = r.int1();
    r.skip(6);
    const ext = r.int4();
    // MariaDB servers clear CLIENT_LONG_PASSWORD to say "these 4 reserved bytes are extended capabilities".
    if ((capabilities & Capability.LongPassword) === 0) mariadbCapabilities = ext;
    if (capabilities & Capability.SecureConnection) {
      part2 = r.bytes(Math.max(13, authDataLength - 8));
      if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
    }
    if (capabilities & Capability.PluginAuth) authPluginName = r.nulOrEofBytes().toString('utf8');
  }
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    authPluginData: Buffer.concat([part1, part2]),
    capabilities,
    mariadbCapabilities,
    characterSet,
    statusFlags,
    authPluginName,
  };
}

export function encodeHandshakeV10(h: HandshakeV10): Buffer {
  const pluginAuth = (h.capabilities & Capability.PluginAuth) !== 0;
  const rest = h.authPluginData.subarray(8);
  // auth-plugin-data-part-2 is at least 13 bytes and NUL-terminated.
  const part2 = Buffer.alloc(Math.max(13, rest.length + 1));
  rest.copy(part2);
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6 + 4);
  fixed.writeUInt32LE(h.connectionId >>> 0, 0);
  h.authPluginData.copy(fixed, 4, 0, Math.min(8, h.authPluginData.length));
  fixed.writeUInt16LE(h.capabilities & 0xffff, 13);
  fixed[15] = h.characterSet;
  fixed.writeUInt16LE(h.statusFlags, 16);
  fixed.writeUInt16LE((h.capabilities >>> 16) & 0xffff, 18);
  fixed[20] = pluginAuth ? h.authPluginData.length + 1 : 0;
  fixed.writeUInt32LE(h.mariadbCapabilities >>> 0, 27);
  return Buffer.concat([
    Buffer.from([h.protocolVersion]),
    Buffer.from(`${h.serverVersion}\0`, 'utf8'),
    fixed,
    part2,
    pluginAuth ? Buffer.from(`${h.authPluginName}\0`, 'utf8') : Buffer.alloc(0),
  ]);
}

/** Protocol::HandshakeResponse41, or the SSLRequest that precedes it when the client wants TLS. */
export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  characterSet: number;
  mariadbCapabilities: number;
  /** True for the 32-byte SSLRequest: nothing after the fixed part. */
  sslRequest: boolean;
  user: string;
  authResponse: Buffer;
  database: string | null;
  authPluginName: string | null;
  attributes: Map<string, string>;
}

/** Byte offsets inside HandshakeResponse41 that the proxy patches in place. */
const RESPONSE_CAPABILITIES_OFFSET = 0;
const RESPONSE_MARIADB_CAPABILITIES_OFFSET = 28;
const RESPONSE_FIXED_LENGTH = 32;

export function decodeHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new PayloadReader(payload, 'HandshakeResponse41');
  const capabilities = r.int4();
  if ((capabilities & Capability.Protocol41) === 0) {
    throw new ProtocolError('client does not speak protocol 4.1', 'HandshakeResponse41', 0);
  }
  const maxPacketSize = r.int4();
  const characterSet = r.int1();
  r.skip(19);
  // The last 4 filler bytes carry MariaDB extended capabilities when CLIENT_LONG_PASSWORD ("CLIENT_MYSQL") is clear.
  const ext = r.int4();
  const mariadbCapabilities = (capabilities & Capability.LongPassword) === 0 ? ext : 0;
  const base = {
    capabilities,
    maxPacketSize,
    characterSet,
    mariadbCapabilities,
    user: '',
    authResponse: Buffer.alloc(0),
    database: null,
    authPluginName: null,
    attributes: new Map<string, string>(),
  };
  if (r.remaining === 0 && capabilities & Capability.Ssl) return { ...base, sslRequest: true };
  const user = r.nulString();
  let authResponse: Buffer;
  if (capabilities & Capability.PluginAuthLenencClientData) authResponse = r.lenencBytes();
  else if (capabilities & Capability.SecureConnection) authResponse = r.bytes(r.int1());
  else authResponse = r.nulBytes();
  let database: string | null = null;
  if (capabilities & Capability.ConnectWithDb && r.remaining > 0) database = r.nulString();
  let authPluginName: string | null = null;
  if (capabilities & Capability.PluginAuth && r.remaining > 0) authPluginName = r.nulOrEofBytes().toString();
  const attributes = new Map<string, string>();
  if (capabilities & Capability.ConnectAttrs && r.remaining > 0) {
    const attrs = new PayloadReader(r.lenencBytes(), 'HandshakeResponse41 attributes');
    while (attrs.remaining > 0) {
      const key = attrs.lenencBytes().toString('utf8');
      attributes.set(key, attrs.lenencBytes().toString('utf8'));
    }
  }
  return { ...base, sslRequest: false, user, authResponse, database, authPluginName, attributes };
}

/** A copy of a HandshakeResponse41 / SSLRequest payload with other capability flags; everything else byte for byte. */
export function patchHandshakeResponseCapabilities(
  payload: Buffer,
  capabilities: number,
  mariadbCapabilities: number,
): Buffer {
  if (payload.length < RESPONSE_FIXED_LENGTH) {
    throw new ProtocolError('handshake response shorter than its fixed part', 'HandshakeResponse41', 0);
  }
  const out = Buffer.from(payload);
  out.writeUInt32LE(capabilities >>> 0, RESPONSE_CAPABILITIES_OFFSET);
  if ((capabilities & Capability.LongPassword) === 0) {
    out.writeUInt32LE(mariadbCapabilities >>> 0, RESPONSE_MARIADB_CAPABILITIES_OFFSET);
  }
  return out;
}

/** The 32-byte SSLRequest payload the proxy sends upstream before its own TLS handshake. */
export function encodeSslRequest(
  capabilities: number,
  maxPacketSize: number,
  characterSet: number,
  mariadbCapabilities: number,
): Buffer {
  const out = Buffer.alloc(RESPONSE_FIXED_LENGTH);
  out.writeUInt32LE((capabilities | Capability.Ssl) >>> 0, 0);
  out.writeUInt32LE(maxPacketSize >>> 0, 4);
  out[8] = characterSet;
  if ((capabilities & Capability.LongPassword) === 0) out.writeUInt32LE(mariadbCapabilities >>> 0, 28);
  return out;
}

/** Protocol::AuthSwitchRequest (0xFE during authentication). */
export interface AuthSwitchRequest {
  pluginName: string;
  pluginData: Buffer;
}

export function decodeAuthSwitchRequest(payload: Buffer): AuthSwitchRequest {
  const r = new PayloadReader(payload, 'AuthSwitchRequest');
  if (r.int1() !== ResponseHeader.Eof)
    throw new ProtocolError('not an AuthSwitchRequest', 'AuthSwitchRequest', 0);
  const pluginName = r.nulString();
  let pluginData = r.restBytes();
  if (pluginData.length > 0 && pluginData[pluginData.length - 1] === 0)
    pluginData = pluginData.subarray(0, -1);
  return { pluginName, pluginData };
}

/** Protocol::AuthMoreData (0x01 during authentication): the plugin's own bytes. */
export function decodeAuthMoreData(payload: Buffer): Buffer {
  const r = new PayloadReader(payload, 'AuthMoreData');
  if (r.int1() !== ResponseHeader.AuthMoreData)
    throw new ProtocolError('not AuthMoreData', 'AuthMoreData', 0);
  return r.restBytes();
}

export function encodeAuthMoreData(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([ResponseHeader.AuthMoreData]), data]);
}

// ---------------------------------------------------------------------------
// Generic responses

export interface OkPacket {
  /** Up to 2^64-1 on the wire: a bigint, as the protocol defines it. */
  affectedRows: bigint;
  /** Unsigned 64-bit: a negative BIGINT id arrives as 2^64 + id. */
  lastInsertId: bigint;
  statusFlags: number;
  warnings: number;
}

/** OK_Packet (0x00, or 0xFE when it ends a result set under CLIENT_DEPRECATE_EOF). Only the fixed head is read. */
export function decodeOk(payload: Buffer): OkPacket {
  const r = new PayloadReader(payload, 'OK');
  const header = r.int1();
  if (header !== ResponseHeader.Ok && header !== ResponseHeader.Eof) {
    throw new ProtocolError(`not an OK packet (0x${header.toString(16)})`, 'OK', 0);
  }
  const affectedRows = r.lenencBigInt();
  const lastInsertId = r.lenencBigInt();
  const statusFlags = r.int2();
  const warnings = r.int2();
  return { affectedRows, lastInsertId, statusFlags, warnings };
}

export function encodeOk(
  ok: {
    affectedRows?: number | bigint;
    lastInsertId?: number | bigint;
    statusFlags?: number;
    warnings?: number;
    info?: string;
  } = {},
): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16LE(ok.statusFlags ?? 0, 0);
  fixed.writeUInt16LE(ok.warnings ?? 0, 2);
  return Buffer.concat([
    Buffer.from([ResponseHeader.Ok]),
    lenencIntBytes(ok.affectedRows ?? 0n),
    lenencIntBytes(ok.lastInsertId ?? 0n),
    fixed,
    Buffer.from(ok.info ?? '', 'utf8'),
  ]);
}

export interface EofPacket {
  warnings: number;
  statusFlags: number;
}

/** EOF_Packet (0xFE, payload shorter than 9 bytes). */
export function decodeEof(payload: Buffer): EofPacket {
  const r = new PayloadReader(payload, 'EOF');
  if (r.int1() !== ResponseHeader.Eof) throw new ProtocolError('not an EOF packet', 'EOF', 0);
  return { warnings: r.int2(), statusFlags: r.int2() };
}

/**
 * Status flags of a packet that ends a result set or a response: an EOF
 * (under 9 bytes) or an OK with either header.
 */
export function terminatorStatus(payload: Buffer): number {
  return terminatorStatusAt(payload, 0, payload.length);
}

/**
 * `terminatorStatus` of the payload (or its head) at `buf[start, end)`, read
 * in place: the relay reads it at the end of every response, so a
 * well-formed packet costs no view, reader or decoded packet. A malformed
 * one is decoded in full for the ProtocolError that says what is wrong.
 */
export function terminatorStatusAt(buf: Buffer, start: number, end: number): number {
  const first = buf[start];
  const length = end - start;
  if (first === ResponseHeader.Eof && length < 9) {
    if (length >= 5) return buf[start + 3]! | (buf[start + 4]! << 8);
    return decodeEof(buf.subarray(start, end)).statusFlags;
  }
  if (first === ResponseHeader.Ok || first === ResponseHeader.Eof) {
    // Affected rows and last insert id are skipped: length-encoded integers of 1, 3, 4 or 9 bytes.
    const rows = start + 1 + lenencSize(buf[start + 1]);
    const status = rows + lenencSize(buf[rows]);
    if (status + 2 <= end) return buf[status]! | (buf[status + 1]! << 8);
  }
  return decodeOk(buf.subarray(start, end)).statusFlags;
}

/** Bytes a length-encoded integer starting with `first` takes; past any packet when it is no integer. */
function lenencSize(first: number | undefined): number {
  if (first === undefined || first === 0xfb || first === 0xff) return MAX_PACKET_PAYLOAD + 1;
  return first < 0xfb ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9;
}

export interface ErrPacket {
  code: number;
  sqlState: string | null;
  message: string;
}

/** ERR_Packet. (MariaDB progress reports share the 0xFF header with code 0xFFFF.) */
export function decodeErr(payload: Buffer): ErrPacket {
  const r = new PayloadReader(payload, 'ERR');
  if (r.int1() !== ResponseHeader.Err) throw new ProtocolError('not an ERR packet', 'ERR', 0);
  const code = r.int2();
  let sqlState: string | null = null;
  if (r.remaining >= 6 && payload[r.offset] === 0x23 /* '#' */) {
    r.skip(1);
    sqlState = r.bytes(5).toString('latin1');
  }
  return { code, sqlState, message: r.restBytes().toString('utf8') };
}

export function encodeErr(code: number, sqlState: string, message: string): Buffer {
  const head = Buffer.alloc(9);
  head[0] = ResponseHeader.Err;
  head.writeUInt16LE(code, 1);
  head[3] = 0x23; // '#'
  head.write(sqlState.padEnd(5, '0').slice(0, 5), 4, 'latin1');
  return Buffer.concat([head, Buffer.from(message, 'utf8')]);
}

/** COM_STMT_PREPARE_OK: how many parameter and column definitions follow. */
export interface StmtPrepareOk {
  statementId: number;
  numColumns: number;
  numParams: number;
  warnings: number;
}

export function decodeStmtPrepareOk(payload: Buffer): StmtPrepareOk {
  const r = new PayloadReader(payload, 'COM_STMT_PREPARE_OK');
  if (r.int1() !== ResponseHeader.Ok)
    throw new ProtocolError('not a COM_STMT_PREPARE_OK', 'COM_STMT_PREPARE_OK', 0);
  const statementId = r.int4();
  const numColumns = r.int2();
  const numParams = r.int2();
  r.skip(1);
  const warnings = r.remaining >= 2 ? r.int2() : 0;
  return { statementId, numColumns, numParams, warnings };
}

/** The column count that opens a result set. */
export function decodeColumnCount(payload: Buffer): number {
  return new PayloadReader(payload, 'column count').lenencInt();
}

// ---------------------------------------------------------------------------
// Commands

/** COM_QUERY text (the proxy strips CLIENT_QUERY_ATTRIBUTES, so the text follows the command byte). */
export function decodeQueryText(payload: Buffer): string {
  return payload.toString('utf8', 1);
}

/** A command whose payload is SQL text after the command byte (COM_QUERY, COM_STMT_PREPARE). */
export function encodeTextCommand(command: number, sql: string): Buffer {
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(sql, 'utf8'));
  out[0] = command;
  out.write(sql, 1, 'utf8');
  return out;
}

export function encodeQuery(sql: string): Buffer {
  return encodeTextCommand(Command.Query, sql);
}

/**
 * `encodePacket(0, encodeTextCommand(command, sql))` in one buffer: every
 * statement the proxy rewrites goes upstream through here.
 */
export function encodeTextCommandPacket(command: number, sql: string): Buffer {
  const length = 1 + Buffer.byteLength(sql, 'utf8');
  if (length >= MAX_PACKET_PAYLOAD) return encodePacket(0, encodeTextCommand(command, sql));
  const out = Buffer.allocUnsafe(PACKET_HEADER_LENGTH + length);
  out.writeUIntLE(length, 0, 3);
  out[3] = 0;
  out[PACKET_HEADER_LENGTH] = command;
  out.write(sql, PACKET_HEADER_LENGTH + 1, 'utf8');
  return out;
}

/** COM_STMT_CLOSE of a statement id (the server sends no answer). */
export function encodeStmtClose(statementId: number): Buffer {
  const out = Buffer.alloc(5);
  out[0] = Command.StmtClose;
  out.writeUInt32LE(statementId >>> 0, 1);
  return out;
}

/** COM_PROCESS_KILL: the 4-byte connection id. */
export function decodeProcessKill(payload: Buffer): number {
  const r = new PayloadReader(payload, 'COM_PROCESS_KILL');
  r.int1();
  return r.int4();
}

/** COM_CHANGE_USER: who the session becomes if the server accepts. */
export interface ChangeUser {
  user: string;
  database: string | null;
  authPluginName: string | null;
}

export function decodeChangeUser(payload: Buffer, clientCapabilities: number): ChangeUser {
  const r = new PayloadReader(payload, 'COM_CHANGE_USER');
  r.int1();
  const user = r.nulString();
  if (clientCapabilities & Capability.SecureConnection) r.bytes(r.int1());
  else r.nulBytes();
  const database = r.remaining > 0 ? r.nulString() : null;
  let authPluginName: string | null = null;
  if (r.remaining >= 2) {
    r.int2();
    if (clientCapabilities & Capability.PluginAuth && r.remaining > 0)
      authPluginName = r.nulOrEofBytes().toString();
  }
  return { user, database: database === '' ? null : database, authPluginName };
}

/** COM_INIT_DB: the schema name. */
export function decodeInitDb(payload: Buffer): string {
  return payload.toString('utf8', 1);
}
