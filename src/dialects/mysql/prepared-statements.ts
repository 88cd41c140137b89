/**
 * Admin commands prepared through the binary protocol. The server never
 * sees them: the proxy hands out its own statement ids, answers each
 * COM_STMT_EXECUTE of one itself, and must tell the COM_STMT_* commands
 * that name its statements from those naming the server's.
 */
import { Command } from './protocol.ts';

/** Commands that name a prepared statement by its id in payload bytes 1..4. */
export const STATEMENT_ID_COMMANDS = new Set<number>([
  Command.StmtExecute,
  Command.StmtClose,
  Command.StmtReset,
  Command.StmtSendLongData,
  Command.StmtFetch,
  Command.StmtBulkExecute,
]);

/**
 * MariaDB: COM_STMT_EXECUTE of statement id -1 runs the statement prepared
 * just before (the mariadb connector pipelines PREPARE and EXECUTE this way).
 */
const LAST_PREPARED_STATEMENT_ID = 0xffffffff;

/**
 * Statement ids the proxy hands out for admin commands prepared through the
 * binary protocol count down from here; servers count theirs up from 1 per
 * connection, so the two never meet.
 */
const FIRST_LOCAL_STATEMENT_ID = 0xfffffffe;

/** The statement id of a COM_STMT_* command (0 when the packet is too short to hold one). */
function statementIdOf(payload: Buffer): number {
  return payload.length >= 5 ? payload.readUInt32LE(1) : 0;
}

/** A session's admin commands prepared through the binary protocol, by the statement id the proxy handed out. */
export class LocalStatements {
  private readonly statements = new Map<number, string>();
  private nextId = FIRST_LOCAL_STATEMENT_ID;
  /** The last COM_STMT_PREPARE was answered locally with this id (what statement id -1 means then). */
  private lastPrepared: number | null = null;

  get size(): number {
    return this.statements.size;
  }

  /**
   * The statement id a COM_STMT_* payload (or its first bytes) names, with
   * MariaDB's -1 read as the statement the proxy prepared last, if it did.
   */
  idIn(payload: Buffer): number {
    const id = statementIdOf(payload);
    return id === LAST_PREPARED_STATEMENT_ID ? (this.lastPrepared ?? id) : id;
  }

  has(id: number): boolean {
    return this.statements.has(id);
  }

  /** The admin command prepared as `id`, or undefined for a server statement. */
  get(id: number): string | undefined {
    return this.statements.get(id);
  }

  /** An admin command prepared: the id handed to the client, which becomes what -1 means. */
  prepare(sql: string): number {
    const id = this.nextId--;
    this.statements.set(id, sql);
    this.lastPrepared = id;
    return id;
  }

  /** A COM_STMT_PREPARE goes to the server: -1 means the server's statement from now on. */
  preparedUpstream(): void {
    this.lastPrepared = null;
  }

  close(id: number): void {
    this.statements.delete(id);
    if (this.lastPrepared === id) this.lastPrepared = null;
  }

  /** The server dropped the session's prepared statements (COM_CHANGE_USER, COM_RESET_CONNECTION); so does the proxy. */
  forget(): void {
    this.statements.clear();
    this.lastPrepared = null;
  }
}
