/**
 * The sync triggers read `@shiftgate_version` to tell which version a write
 * comes from (src/dialects/mysql/triggers.ts): the proxy sets it on the
 * session's upstream connection, at login and when the client binds a
 * version with `SET shiftgate.version`.
 */
import { encodeTextCommandPacket } from './messages.ts';
import { Command } from './protocol.ts';

/** The version as SQL: hex, so it means the same whatever the session's sql_mode. */
export function versionValue(version: string | null): string {
  return version === null
    ? 'NULL'
    : `CONVERT(X'${Buffer.from(version, 'utf8').toString('hex')}' USING utf8mb4)`;
}

/** Sent upstream in place of a client's `SET shiftgate.version`: the binding holds once the server has it. */
export function versionAssignment(version: string | null): Buffer {
  return encodeTextCommandPacket(Command.Query, `SET @shiftgate_version = ${versionValue(version)}`);
}
