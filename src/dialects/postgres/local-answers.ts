import { serialize } from 'pg-protocol';
import type { ClientError } from '../../proxy/client-error.ts';
import type { LocalResult } from '../../proxy/statement-router.ts';
import {
  encodeCommandComplete,
  encodeDataRow,
  encodeErrorResponse,
  encodePortalSuspended,
  encodeRowDescription,
} from './codec/backend-encoder.ts';

/**
 * The proxy's own answers (admin result sets, refusals) as the protocol
 * messages the client reads, and the stand-ins sent upstream in the
 * statement's place.
 *
 * NOTE: every locally answered message still sends the server a stand-in
 * that costs it nothing: its responses mark the place of the local answer
 * in the server's stream, so the answer reaches the client behind
 * everything still due for earlier pipelined messages, and the server
 * applies its own rules around it: after an error it skips to Sync (the
 * stand-in is skipped too, and so is the local answer), a refusal fails
 * the server's transaction as a real error would (inside BEGIN the next
 * statement gets 25P02 until ROLLBACK; outside, the implicit transaction
 * of the batch rolls back), and the ReadyForQuery with its transaction
 * status is the server's own. The client sees only the proxy's messages:
 * its ErrorResponse carries no CONTEXT, its result sets their own tag.
 *
 * | client message                    | stand-in upstream                  | server answers    | client gets                 |
 * |-----------------------------------|------------------------------------|-------------------|-----------------------------|
 * | Query, answered with rows         | Query `SELECT WHERE false`         | T, SELECT 0, Z    | RowDescription, rows, tag, Z |
 * | Query, refused                    | Query `SELECT "<marker>"`          | 42703, Z          | the refusal, Z              |
 * | Parse of an admin command         | Parse of `SELECT NULL::text ...`   | ParseComplete     | the same                    |
 * | Parse / Bind refused              | Parse `SELECT "<marker>"`          | 42703, skip       | the refusal, skip           |
 * | Bind / Describe of an admin cmd   | the same (Bind without parameters) | its answers       | the same                    |
 * | Execute of an admin command       | Close of statement `<marker>`      | CloseComplete     | rows, tag (or suspended)    |
 *
 * In a transaction that already failed, the server refuses every stand-in
 * with its own 25P02, and the client gets that, as it would for any
 * statement there, admin commands included.
 */

/** The name the stand-ins use: a prepared statement that never exists. */
export function standInMarker(secret: number): string {
  return `shiftgate_local_answer_${secret.toString(16)}`;
}

function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The statement prepared upstream for an admin command: no rows, and the
 * command's columns as text, so the server answers Parse, Bind and
 * Describe exactly as for the command's result.
 */
export function resultShapeSql(columns: readonly string[]): string {
  return `SELECT ${columns.map((c) => `NULL::text AS ${identifier(c)}`).join(', ')} WHERE false`;
}

/**
 * A Query answered with rows: its stand-in selects nothing (a RowDescription
 * of no columns, CommandComplete `SELECT 0`, ReadyForQuery), or gets 25P02
 * in a failed transaction.
 */
export const STAND_IN_RESULT_QUERY = serialize.query('SELECT WHERE false');

/**
 * The stand-in of a refusal: a statement that always fails, with an error
 * naming the marker (42703, a column that cannot exist), or with the
 * server's own 25P02 in a transaction that failed before, as the refused
 * statement itself would have.
 */
function refusalSql(marker: string): string {
  return `SELECT ${identifier(marker)}`;
}

/** A Query refused: its stand-in Query. */
export function standInRefusalQuery(marker: string): Buffer {
  return serialize.query(refusalSql(marker));
}

/**
 * A Parse or Bind refused: its stand-in is a Parse under the marker's name
 * (the unnamed statement stays as it was; a failed Parse creates nothing).
 */
export function standInRefusalMessage(marker: string): Buffer {
  return serialize.parse({ name: marker, text: refusalSql(marker), types: [] });
}

/** An Execute answered locally: its stand-in answers CloseComplete and changes nothing. */
export function standInExecute(marker: string): Buffer {
  return serialize.close({ type: 'S', name: marker });
}

/** The refusal as the server would send an error of its own: severity ERROR, SQLSTATE, message, hint. */
export function encodeLocalError(error: ClientError): Buffer {
  return encodeErrorResponse({
    severity: 'ERROR',
    code: error.sqlstate,
    message: error.message,
    hint: error.hint,
  });
}

/** A whole result set for a simple Query: RowDescription, DataRows, CommandComplete. */
export function encodeLocalResult(result: LocalResult): Buffer {
  return Buffer.concat([encodeRowDescription(result.columns), encodeLocalRows(result, 0, 0).bytes]);
}

/**
 * The DataRows an Execute returns from row `start`, at most `maxRows` (0:
 * all), then CommandComplete, or PortalSuspended with the row to go on
 * from when rows remain.
 */
export function encodeLocalRows(
  result: LocalResult,
  start: number,
  maxRows: number,
): { bytes: Buffer; next: number | null } {
  const end = maxRows > 0 ? Math.min(result.rows.length, start + maxRows) : result.rows.length;
  const parts = result.rows.slice(start, end).map(encodeDataRow);
  if (end < result.rows.length) {
    parts.push(encodePortalSuspended());
    return { bytes: Buffer.concat(parts), next: end };
  }
  parts.push(encodeCommandComplete(result.tag));
  return { bytes: Buffer.concat(parts), next: null };
}
