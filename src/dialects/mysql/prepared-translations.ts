import { Command } from './protocol.ts';

/**
 * Statements the server prepared for a client session, with the text the
 * client wrote and the text the proxy sent in its place. The server
 * re-prepares a statement by itself when a table under it changes (and a
 * migration's expand does change it), reading the text the proxy sent: a
 * `SELECT *` prepared before START would then list the shadow columns. So
 * at each execution after the version map or the session's binding
 * changed, the client's text is translated again; when that no longer
 * gives the text the statement was prepared with, the proxy prepares the
 * new text itself and runs the execution on that statement (the client
 * keeps its statement id), or, when it cannot, refuses the execution
 * (ER_NEED_REPREPARE) instead of running it against the wrong columns.
 */
export interface PreparedTranslation {
  /** The client's text. */
  readonly original: string;
  /** What the server prepared. */
  sent: string;
  /** The session's binding and the router's map generation it was translated under. */
  version: string | null;
  generation: number;
  /**
   * The server's id of the statement: the one the client was given until
   * the proxy prepares it again; null until the server answers.
   */
  serverId: number | null;
  /** Parameter markers, from the server's answer to the client's prepare. */
  params: number;
  /** COM_STMT_SEND_LONG_DATA went to the statement: its data is the server statement's, not movable. */
  longData: boolean;
  /**
   * The parameter types the client's last execution that sent them bound
   * (two bytes a parameter); null before one did. Clients send them once
   * (libmariadb, for one) and then execute with new-params-bound 0: a
   * statement the proxy prepares anew gets them from here.
   */
  paramTypes: Buffer | null;
}

/** Where new-params-bound sits in a COM_STMT_EXECUTE: after command, id (4), flags, iteration count (4) and the NULL bitmap. */
function typesFlagAt(params: number): number {
  return 10 + ((params + 7) >> 3);
}

/** Notes the parameter types a COM_STMT_EXECUTE of `entry` binds, when it sends them. */
export function noteParamTypes(payload: Buffer, entry: PreparedTranslation): void {
  const params = entry.params;
  if (params === 0) return;
  const flag = typesFlagAt(params);
  const end = flag + 1 + 2 * params;
  if (payload.length < end || payload[flag] !== 1) return;
  const known = entry.paramTypes;
  // Most executions repeat the types: compared in place, copied only when they change.
  if (known !== null && payload.compare(known, 0, known.length, flag + 1, end) === 0) return;
  entry.paramTypes = Buffer.from(payload.subarray(flag + 1, end));
}

/**
 * Where a COM_STMT_EXECUTE of `entry` gets its parameter types: `own` when
 * it sends them (or there are none), `known` when an earlier execution
 * sent the ones it runs with, null when none are known.
 */
function paramTypesOf(payload: Buffer, entry: PreparedTranslation): 'own' | 'known' | null {
  if (entry.params === 0) return 'own';
  const flag = typesFlagAt(entry.params);
  if (payload.length <= flag) return null;
  if (payload[flag] === 1) return 'own';
  return entry.paramTypes === null ? null : 'known';
}

/** True when a COM_STMT_EXECUTE of `entry` can bind its parameter types on a fresh statement. */
export function canBindParamTypes(payload: Buffer, entry: PreparedTranslation): boolean {
  return paramTypesOf(payload, entry) !== null;
}

/**
 * A COM_STMT_EXECUTE payload of `entry` that binds its parameter types:
 * the payload itself when it does (or there are none), with the last types
 * it was given spliced in when it does not; null when none are known.
 */
export function withParamTypes(payload: Buffer, entry: PreparedTranslation): Buffer | null {
  const source = paramTypesOf(payload, entry);
  if (source !== 'known') return source === 'own' ? payload : null;
  const flag = typesFlagAt(entry.params);
  return Buffer.concat([
    payload.subarray(0, flag),
    Buffer.of(1),
    entry.paramTypes!,
    payload.subarray(flag + 1),
  ]);
}

/** MariaDB: statement id -1 names the statement prepared last. */
const LAST_PREPARED = 0xffffffff;

/**
 * What -1 names after a COM_STMT_PREPARE the proxy answered itself with an
 * error: no statement. The server never saw that prepare, so to it -1
 * still names the statement prepared before, which it would run with the
 * new parameters.
 */
const REFUSED_PREPARE = 'refused';

/** Executions of a prepared statement: checked against the statement's translation. */
export const EXECUTE_COMMANDS = new Set<number>([Command.StmtExecute, Command.StmtBulkExecute]);

export class PreparedTranslations {
  private readonly byId = new Map<number, PreparedTranslation>();
  /**
   * What statement id -1 names: the latest COM_STMT_PREPARE sent upstream,
   * undefined when it is not followed, REFUSED_PREPARE when it never went
   * upstream. Known when the prepare is sent, not when its answer comes:
   * the MariaDB connector pipelines PREPARE and EXECUTE(-1), so the
   * execution arrives before the prepare's id does.
   */
  private last: PreparedTranslation | typeof REFUSED_PREPARE | undefined;
  /**
   * The proxy prepared a statement of its own since the client's last
   * COM_STMT_PREPARE: to the server, -1 names that one now.
   */
  private preparedSinceClient = false;

  /** Whether executions need looking at: statements are followed, or -1 names a refused prepare. */
  get watching(): boolean {
    return this.byId.size > 0 || this.last === REFUSED_PREPARE;
  }

  /**
   * A COM_STMT_PREPARE went upstream: `entry` when its translation is
   * followed, else undefined.
   */
  sent(entry: PreparedTranslation | undefined): void {
    this.last = entry;
    this.preparedSinceClient = false;
  }

  /** The proxy answered a COM_STMT_PREPARE itself with an error: -1 names no statement now. */
  refused(): void {
    this.last = REFUSED_PREPARE;
    this.preparedSinceClient = false;
  }

  /** The proxy sends a COM_STMT_PREPARE of its own (a re-prepare). */
  preparedByProxy(): void {
    this.preparedSinceClient = true;
  }

  /** The server prepared the statement last sent, under `id`, with `params` parameter markers. */
  record(id: number, params: number, entry: PreparedTranslation): void {
    entry.serverId = id;
    entry.params = params;
    this.byId.set(id, entry);
  }

  /**
   * The statement id to send the server in place of the one a COM_STMT_*
   * payload names for `entry`: the id of the statement the proxy prepared
   * in its place, or, for -1 after a prepare of the proxy's, the client's
   * statement's own id. The payload's id when nothing changed; null when
   * -1 cannot be resolved (the server has not answered the client's prepare).
   */
  serverIdFor(payload: Buffer, entry: PreparedTranslation): number | null {
    const id = payload.readUInt32LE(1);
    if (id === LAST_PREPARED && !this.preparedSinceClient) return id;
    return entry.serverId;
  }

  /** The statement a COM_STMT_* payload names (MariaDB's -1: the one prepared last). */
  named(payload: Buffer): PreparedTranslation | undefined {
    if (payload.length < 5) return undefined;
    const id = payload.readUInt32LE(1);
    const entry = id === LAST_PREPARED ? this.last : this.byId.get(id);
    return entry === REFUSED_PREPARE ? undefined : entry;
  }

  /** Whether a COM_STMT_* payload names -1 while that is a prepare the proxy refused. */
  namesRefused(payload: Buffer): boolean {
    return this.last === REFUSED_PREPARE && payload.length >= 5 && payload.readUInt32LE(1) === LAST_PREPARED;
  }

  close(payload: Buffer): void {
    if (payload.length >= 5) this.byId.delete(payload.readUInt32LE(1));
  }

  /** The server dropped every prepared statement (COM_CHANGE_USER, COM_RESET_CONNECTION). */
  forget(): void {
    this.byId.clear();
    this.last = undefined;
    this.preparedSinceClient = false;
  }
}
