/**
 * An error the proxy itself answers a client statement with (a refused
 * admin command, an unknown schema version, an untranslatable statement).
 * It carries the code for each wire protocol; the dialect picks its own.
 * The session stays usable.
 */
export class ClientError extends Error {
  constructor(
    /** PostgreSQL SQLSTATE, e.g. `42501`. */
    readonly sqlstate: string,
    /** MySQL error number, e.g. 1227. */
    readonly mysqlErrno: number,
    message: string,
    /** What to do about it, when there is something to say. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

/** The codes Shiftgate answers with, by meaning. */
export const ErrorCodes = {
  syntax: { sqlstate: '42601', mysqlErrno: 1064 },
  permissionDenied: { sqlstate: '42501', mysqlErrno: 1227 },
  invalidParameter: { sqlstate: '22023', mysqlErrno: 1231 },
  objectInUse: { sqlstate: '55006', mysqlErrno: 1205 },
  notSupported: { sqlstate: '0A000', mysqlErrno: 1235 },
  stateConflict: { sqlstate: '55000', mysqlErrno: 1105 },
  activeTransaction: { sqlstate: '25001', mysqlErrno: 1179 },
  /** lock_not_available / ER_LOCK_WAIT_TIMEOUT: drivers and pools treat it as worth retrying. */
  lockNotAvailable: { sqlstate: '55P03', mysqlErrno: 1205 },
  internal: { sqlstate: 'XX000', mysqlErrno: 1105 },
} as const;

export function clientError(code: keyof typeof ErrorCodes, message: string, hint?: string): ClientError {
  const c = ErrorCodes[code];
  return new ClientError(c.sqlstate, c.mysqlErrno, message, hint);
}
