/**
 * Which way each whole client command goes: upstream byte for byte,
 * upstream rewritten (a KILL of a proxy connection id, a version binding
 * in place of `SET shiftgate.version`), or answered by the proxy itself
 * (admin commands, refused assignments of @shiftgate_version, replication
 * commands, KILLs of ids no session holds). Statements the router's
 * prefilter flags are decoded and routed; the rest pass undecoded. The
 * decision may wait for the router (a promise).
 */
import { mayBeAdminCommand } from '../../admin/command.ts';
import { ClientError, clientError } from '../../proxy/client-error.ts';
import { mentions } from '../../proxy/mentions.ts';
import type { SessionInfo } from '../../proxy/session.ts';
import type { Route, StatementRouter } from '../../proxy/statement-router.ts';
import { isProxyConnectionId, matchKill } from './kill.ts';
import {
  encodeClientError,
  encodeLocalOk,
  encodeLocalPrepareOk,
  encodeResultSet,
  type LocalAnswerContext,
} from './local-answers.ts';
import {
  decodeChangeUser,
  decodeInitDb,
  decodeProcessKill,
  decodeQueryText,
  encodeErr,
  encodePacket,
  encodeQuery,
  encodeTextCommandPacket,
} from './messages.ts';
import { type LocalStatements, STATEMENT_ID_COMMANDS } from './prepared-statements.ts';
import {
  canBindParamTypes,
  EXECUTE_COMMANDS,
  noteParamTypes,
  type PreparedTranslation,
  PreparedTranslations,
  withParamTypes,
} from './prepared-translations.ts';
import { Command, ErrorCode, MAX_PACKET_PAYLOAD, ServerStatus } from './protocol.ts';
import { reservedVariableUse } from './reserved-variables.ts';
import { mayChangeSqlMode, useStatementDatabase } from './session-sql-state.ts';
import { shiftgateStatementKind, splitStatements } from './statement-text.ts';
import { versionAssignment } from './version-binding.ts';

/**
 * Whether an execution can run on a statement the proxy prepares anew: a
 * plain COM_STMT_EXECUTE (the bulk form aside, and in one packet) of a
 * statement with no long data, whose parameter types it carries or an
 * earlier execution sent (a fresh statement has none bound).
 */
function canReprepare(msg: CommandMessage, entry: PreparedTranslation): boolean {
  if (msg.command !== Command.StmtExecute || entry.longData) return false;
  if (msg.payload.length + 2 * entry.params >= MAX_PACKET_PAYLOAD) return false;
  return canBindParamTypes(msg.payload, entry);
}

/** Commands that turn the connection into a replication stream; the proxy refuses them. */
const REPLICATION_COMMANDS = new Set<number>([
  Command.BinlogDump,
  Command.BinlogDumpGtid,
  Command.RegisterSlave,
  Command.TableDump,
]);

/** Commands that run client SQL against the schema (COM_QUERY and COM_STMT_PREPARE are the router's to judge). */
const CLIENT_STATEMENT_COMMANDS = new Set<number>([
  Command.StmtExecute,
  Command.StmtBulkExecute,
  Command.StmtFetch,
  Command.FieldList,
  Command.ProcessInfo,
]);

/**
 * What a COM_QUERY text must mention for `matchKill`, `useStatementDatabase`
 * or `mayChangeSqlMode` to find anything in it.
 */
const READ_TEXT_FOR = ['kill', 'use', 'sql_mode'];

/** One whole client command: a single packet, or the packets of a message of 16 MB and more joined. */
export interface CommandMessage {
  command: number;
  payload: Buffer;
  /** Every physical packet as received, for forwarding byte for byte. */
  raw: Buffer;
  /** Sequence id of the command's last packet: the response starts at the next one. */
  lastSequenceId: number;
}

const MULTI_STATEMENT = Symbol('multi-statement');

/** What to send upstream for a command; null when the proxy answered it itself. */
export type Forward = { raw: Buffer; onSuccess: (() => void) | null } | null;

/** What the router needs of the session it routes for. */
export interface CommandRouterHost {
  readonly info: SessionInfo;
  /** Status flags of the server's last response (SERVER_STATUS_NO_BACKSLASH_ESCAPES for KILL and statement splitting). */
  statusFlags(): number;
  /** Capabilities agreed with the client (COM_CHANGE_USER's layout depends on them). */
  clientCapabilities(): number;
  /**
   * Answers a command from the proxy, after every response still owed for
   * earlier pipelined commands; `build` gets the response's first sequence id.
   */
  answerLocally(msg: CommandMessage, build: (firstSeq: number) => Buffer): void;
  answerContext(): LocalAnswerContext;
  /** The upstream thread id behind a connection id this proxy handed out, or null. */
  targetOf(connectionId: number): number | null;
  /** The upstream thread id behind a connection id another live proxy of the fleet handed out, or null. */
  remoteTargetOf(connectionId: number): Promise<number | null>;
  /** Asks the server for the account again once the current response is through. */
  requestAccountCheck(): void;
  /** The statement id the server gave the last statement it prepared, or null. */
  lastPreparedStatementId(): number | null;
  /** The parameter count of that statement. */
  lastPreparedParams(): number;
  /**
   * Sends a COM_STMT_PREPARE of the proxy's own upstream, behind every
   * command already sent, its response kept from the client: the new
   * statement's id and parameter count, or null when the server refused it.
   */
  prepareOwn(sql: string): Promise<{ id: number; params: number } | null>;
  /** Sends a COM_STMT_CLOSE of a server statement upstream (it has no response). */
  closeServerStatement(id: number): void;
}

/**
 * The router generation a prepared statement translated now counts as
 * checked at: none while a switch's hold is in force, so that it is checked
 * again at its next execution (its transaction, exempt from the hold now,
 * may not be then).
 */
function checkedAt(router: StatementRouter): number {
  return router.switching ? -1 : router.generation;
}

/** Routes the whole client commands of one session. */
export class CommandRouter {
  constructor(
    private readonly host: CommandRouterHost,
    private readonly router: StatementRouter | null,
    private readonly statements: LocalStatements,
  ) {}

  /** Statements the server prepared, with their translations. */
  private readonly prepared = new PreparedTranslations();

  /**
   * Looks at one whole command. Returns what to forward, null when the proxy
   * answered the command itself, or a promise of either while the router works.
   */
  inspect(msg: CommandMessage): Forward | Promise<Forward> {
    const { command, payload } = msg;
    if (this.statements.size > 0 && STATEMENT_ID_COMMANDS.has(command)) {
      const id = this.statements.idIn(payload);
      const sql = this.statements.get(id);
      if (sql !== undefined) return this.onLocalStatementCommand(msg, id, sql);
    }
    if (this.prepared.watching && STATEMENT_ID_COMMANDS.has(command)) {
      if (this.prepared.namesRefused(payload)) return this.onRefusedStatementCommand(msg);
      const entry = this.prepared.named(payload);
      if (EXECUTE_COMMANDS.has(command)) {
        if (entry) return this.checkPrepared(msg, entry);
      } else if (entry) {
        if (command === Command.StmtSendLongData) entry.longData = true;
        if (command === Command.StmtClose) this.prepared.close(payload);
        const raw = this.toServerStatement(msg, entry);
        if (raw === null) return null;
        if (raw !== msg.raw) return { raw, onSuccess: null };
      }
    }
    switch (command) {
      case Command.Query: {
        // Nearly every text mentions none of these: it is not decoded for KILL, USE or sql_mode.
        if (!mentions(payload, 1, payload.length, READ_TEXT_FOR)) return this.routeStatement(msg, null);
        const text = decodeQueryText(payload);
        const backslashEscapes = (this.host.statusFlags() & ServerStatus.NoBackslashEscapes) === 0;
        const kill = matchKill(text, backslashEscapes);
        if (kill.kind === 'none') return this.followSqlState(text, this.routeStatement(msg, text));
        if (kill.kind === 'unsupported') {
          this.answerError(
            msg,
            ErrorCode.NotSupportedYet,
            '42000',
            'Shiftgate: KILL takes a connection id as a plain number here (KILL [QUERY|CONNECTION] <id>), not an expression',
          );
          return null;
        }
        if (!kill.alone) {
          // Proxy ids become upstream thread ids; an id no live session holds stays as written, so the
          // server answers "Unknown thread id" at that statement after running the ones before it.
          // Server thread ids go unchanged. The other statements are routed like any text.
          const routeRewritten = (threads: Map<number, number | null>) => {
            const rewritten = kill.rewrite((id) => threads.get(id) ?? null);
            if (rewritten === text) return this.routeStatement(msg, text);
            const query = encodeQuery(rewritten);
            return this.routeStatement({ ...msg, payload: query, raw: encodePacket(0, query) }, rewritten);
          };
          const threads = this.threadsOf(kill.connectionIds);
          return threads instanceof Promise ? threads.then(routeRewritten) : routeRewritten(threads);
        }
        this.host.info.ranClientStatements = true;
        const id = kill.connectionIds[0]!;
        // A server thread id (CONNECTION_ID(), SHOW PROCESSLIST): the server's own KILL.
        if (!isProxyConnectionId(id)) return { raw: msg.raw, onSuccess: null };
        return this.killOf(msg, id, (target) =>
          encodeTextCommandPacket(
            Command.Query,
            kill.rewrite(() => target),
          ),
        );
      }
      case Command.StmtPrepare: {
        this.statements.preparedUpstream();
        const forward = this.routeStatement(msg, null);
        return forward instanceof Promise
          ? forward.then((f) => this.followPrepare(msg, f))
          : this.followPrepare(msg, forward);
      }
      case Command.ProcessKill: {
        const id = decodeProcessKill(payload);
        if (!isProxyConnectionId(id)) return { raw: msg.raw, onSuccess: null };
        return this.killOf(msg, id, (target) => {
          const patched = Buffer.from(payload);
          patched.writeUInt32LE(target >>> 0, 1);
          return encodePacket(0, patched);
        });
      }
      case Command.InitDb: {
        const database = decodeInitDb(payload);
        return {
          raw: msg.raw,
          onSuccess: () => {
            this.host.info.database = database;
          },
        };
      }
      case Command.ChangeUser: {
        const change = decodeChangeUser(payload, this.host.clientCapabilities());
        // The claimed name proves nothing: until the server names the new account, no admin.
        this.host.info.user = null;
        return {
          raw: msg.raw,
          onSuccess: () => {
            this.host.info.database = change.database;
            delete this.host.info.sqlContext.ansiQuotes;
            // The server dropped the session's prepared statements; so does the proxy.
            this.statements.forget();
            this.prepared.forget();
            this.host.requestAccountCheck();
          },
        };
      }
      case Command.ResetConnection:
        return {
          raw: msg.raw,
          onSuccess: () => {
            this.statements.forget();
            this.prepared.forget();
            // The server's default sql_mode again.
            delete this.host.info.sqlContext.ansiQuotes;
            // The reset cleared @shiftgate_version with the other user variables: the account check sets it again.
            this.host.requestAccountCheck();
          },
        };
      default:
        if (REPLICATION_COMMANDS.has(command)) {
          this.answerError(
            msg,
            ErrorCode.NotSupportedYet,
            '42000',
            'Shiftgate: replication commands are not relayed by the proxy',
          );
          return null;
        }
        if (CLIENT_STATEMENT_COMMANDS.has(command)) this.host.info.ranClientStatements = true;
        return { raw: msg.raw, onSuccess: null };
    }
  }

  /**
   * COM_QUERY and COM_STMT_PREPARE: statements the router's prefilter flags
   * are decoded and routed; everything else goes upstream byte for byte.
   * `text` is the COM_QUERY text when the caller decoded it already.
   */
  private routeStatement(msg: CommandMessage, text: string | null): Forward | Promise<Forward> {
    const router = this.router;
    const { payload } = msg;
    // How the server reads string constants now (NO_BACKSLASH_ESCAPES): the translator reads them the same way.
    this.host.info.sqlContext.standardConformingStrings =
      (this.host.statusFlags() & ServerStatus.NoBackslashEscapes) !== 0;
    if (msg.command === Command.StmtPrepare && mayChangeSqlMode(payload.toString('latin1'))) {
      // Executed later, maybe more than once: from now on the session's sql_mode is not known.
      this.host.info.sqlContext.ansiQuotes = null;
    }
    if (router === null || !router.mayRoute(payload, 1, payload.length)) {
      this.host.info.ranClientStatements = true;
      return { raw: msg.raw, onSuccess: null };
    }
    let sql = text ?? decodeQueryText(payload);
    const reserved = reservedVariableUse(sql);
    if (reserved) {
      this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeClientError(reserved)));
      return null;
    }
    if (msg.command === Command.StmtPrepare) {
      const kind = shiftgateStatementKind(sql);
      if (kind instanceof ClientError) {
        this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeClientError(kind)));
        return null;
      }
      if (kind === 'shiftgate') {
        // Answered by the proxy on each COM_STMT_EXECUTE, like the same text through COM_QUERY.
        const id = this.statements.prepare(sql);
        this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeLocalPrepareOk(id)));
        return null;
      }
    } else {
      const single = this.shiftgateStatementIn(payload, sql);
      if (single === MULTI_STATEMENT) {
        this.host.answerLocally(msg, (seq) =>
          encodePacket(
            seq,
            encodeClientError(
              clientError(
                'notSupported',
                'a Shiftgate command cannot be part of a multi-statement text: the proxy answers it itself and cannot run the other statements around it',
                'send the Shiftgate command as a statement of its own',
              ),
            ),
          ),
        );
        return null;
      }
      if (single !== null) sql = single;
    }
    const route = router.route(this.host.info, sql);
    return route instanceof Promise
      ? route.then((r) => this.applyRoute(msg, r))
      : this.applyRoute(msg, route);
  }

  /**
   * For a COM_QUERY text with a `;` that may hold a Shiftgate command:
   * MULTI_STATEMENT when a Shiftgate command sits among other statements,
   * the statement alone when the text is one Shiftgate command followed by
   * `;` and comments, else null (the text is routed as it is).
   */
  private shiftgateStatementIn(payload: Buffer, sql: string): string | typeof MULTI_STATEMENT | null {
    if (payload.indexOf(0x3b /* ';' */, 1) < 0 || !mayBeAdminCommand(payload, 1, payload.length)) return null;
    const backslashEscapes = (this.host.statusFlags() & ServerStatus.NoBackslashEscapes) === 0;
    const statements = splitStatements(sql, backslashEscapes);
    if (!statements.some((s) => shiftgateStatementKind(s) !== 'none')) return null;
    return statements.length === 1 ? statements[0]! : MULTI_STATEMENT;
  }

  /**
   * A COM_QUERY text that switches the database (`USE db`) or may change
   * sql_mode: once the server has run it, the session's reading of later
   * statements follows (what the translator needs to read them the server's way).
   */
  private followSqlState(text: string, forward: Forward | Promise<Forward>): Forward | Promise<Forward> {
    const database = useStatementDatabase(text);
    const modeChange = mayChangeSqlMode(text);
    if (database === null && !modeChange) return forward;
    const follow = (f: Forward): Forward => {
      if (f === null) return null;
      const prior = f.onSuccess;
      return {
        raw: f.raw,
        onSuccess: () => {
          prior?.();
          if (database !== null) this.host.info.database = database;
          if (modeChange) this.host.info.sqlContext.ansiQuotes = null;
        },
      };
    };
    return forward instanceof Promise ? forward.then(follow) : follow(forward);
  }

  /**
   * A COM_STMT_PREPARE on its way upstream: once the server has prepared
   * it, its id is kept with the client's text and the text sent, so later
   * executions can be checked against the current translation.
   */
  private followPrepare(msg: CommandMessage, forward: Forward): Forward {
    const router = this.router;
    // Texts too long for one packet are not followed (they could not be compared cheaply either).
    if (forward === null) {
      // Answered by the proxy (a refusal; admin commands' -1 is resolved by LocalStatements first).
      this.prepared.refused();
      return forward;
    }
    if (router === null || forward.raw.length >= 0xffffff) {
      this.prepared.sent(undefined);
      return forward;
    }
    const entry: PreparedTranslation = {
      original: decodeQueryText(msg.payload),
      sent: forward.raw.subarray(5).toString('utf8'),
      version: this.host.info.boundVersion,
      generation: checkedAt(router),
      serverId: null,
      params: 0,
      longData: false,
      paramTypes: null,
    };
    this.prepared.sent(entry);
    const prior = forward.onSuccess;
    return {
      raw: forward.raw,
      onSuccess: () => {
        prior?.();
        const id = this.host.lastPreparedStatementId();
        if (id !== null) this.prepared.record(id, this.host.lastPreparedParams(), entry);
      },
    };
  }

  /**
   * An execution of a statement prepared under another version map or
   * binding: run when the client's text still translates to what the server
   * prepared; else run on a statement the proxy prepares from the new
   * translation in its place (see `reprepare`), or, when that cannot be
   * done, refused so the client prepares it again (and gets the current
   * translation, or its refusal).
   */
  private checkPrepared(msg: CommandMessage, entry: PreparedTranslation): Forward | Promise<Forward> {
    if (msg.command === Command.StmtExecute) noteParamTypes(msg.payload, entry);
    const router = this.router;
    const version = this.host.info.boundVersion;
    if (router === null || (entry.generation === router.generation && entry.version === version)) {
      return this.forwardTo(msg, entry);
    }
    const generation = checkedAt(router);
    const decide = (route: Route): Forward | Promise<Forward> => {
      if (route.kind === 'error') {
        // Refused now (the text no longer translates, or a switch held it too long): the reason, not 1615.
        this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeClientError(route.error)));
        return null;
      }
      const now = route.kind === 'forward' ? entry.original : route.kind === 'rewrite' ? route.sql : null;
      if (now === entry.sent) {
        entry.generation = generation;
        entry.version = version;
        return this.forwardTo(msg, entry);
      }
      if (now === null || !canReprepare(msg, entry)) {
        this.refuseStale(msg);
        return null;
      }
      return this.reprepare(msg, entry, now, generation, version);
    };
    const route = router.route(this.host.info, entry.original);
    return route instanceof Promise ? route.then(decide) : decide(route);
  }

  /**
   * Prepares `text`, the statement's new translation, on the server and
   * sends the execution to it, closing the statement it replaces: the
   * client keeps its statement id, which the proxy maps to the new one from
   * now on. Waits for the server's answer to the prepare, so nothing runs
   * if the new text is refused or takes other parameters (1615 then, and
   * the client's own prepare gets the server's error).
   */
  private reprepare(
    msg: CommandMessage,
    entry: PreparedTranslation,
    text: string,
    generation: number,
    version: string | null,
  ): Promise<Forward> {
    this.prepared.preparedByProxy();
    // Started once `inspect` has returned: the relay writes the commands before this one upstream first.
    return Promise.resolve()
      .then(() => this.host.prepareOwn(text))
      .then((prepared) => {
        const replaced = entry.serverId;
        if (prepared === null || prepared.params !== entry.params || replaced === null) {
          if (prepared !== null) this.host.closeServerStatement(prepared.id);
          this.refuseStale(msg);
          return null;
        }
        entry.serverId = prepared.id;
        entry.sent = text;
        entry.generation = generation;
        entry.version = version;
        this.host.closeServerStatement(replaced);
        // The new server statement has no parameter types yet: this execution binds them.
        const payload = withParamTypes(msg.payload, entry)!;
        if (payload === msg.payload) return this.forwardTo(msg, entry);
        return this.forwardTo({ ...msg, payload, raw: encodePacket(msg.raw[3]!, payload) }, entry);
      });
  }

  /** The command as sent upstream for `entry`: its statement id the server's. */
  private forwardTo(msg: CommandMessage, entry: PreparedTranslation): Forward {
    const raw = this.toServerStatement(msg, entry);
    return raw === null ? null : { raw, onSuccess: null };
  }

  /**
   * The command's packets with the statement id the server knows for
   * `entry` (the client's own when nothing was re-prepared); null, the
   * command answered with an error, when -1 cannot be resolved.
   */
  private toServerStatement(msg: CommandMessage, entry: PreparedTranslation): Buffer | null {
    const id = this.prepared.serverIdFor(msg.payload, entry);
    if (id === msg.payload.readUInt32LE(1)) return msg.raw;
    if (id === null) {
      if (msg.command === Command.StmtClose || msg.command === Command.StmtSendLongData) return null;
      this.answerError(
        msg,
        ErrorCode.UnknownStmtHandler,
        'HY000',
        'Unknown prepared statement handler (4294967295): name the statement by the id its prepare returned',
      );
      return null;
    }
    const raw = Buffer.from(msg.raw);
    // The first packet's payload starts after its 4-byte header: the command byte, then the id.
    raw.writeUInt32LE(id >>> 0, 5);
    return raw;
  }

  private refuseStale(msg: CommandMessage): void {
    this.answerError(
      msg,
      ErrorCode.NeedReprepare,
      'HY000',
      'Prepared statement needs to be re-prepared: the schema version it was translated for changed (a migration started, completed or rolled back, or the session was bound to another version)',
    );
  }

  /** Turns a routing decision into what goes upstream, or into the proxy's own answer. */
  private applyRoute(msg: CommandMessage, route: Route): Forward {
    switch (route.kind) {
      case 'forward':
        return { raw: msg.raw, onSuccess: null };
      case 'rewrite':
        return {
          raw: encodeTextCommandPacket(msg.command, route.sql),
          onSuccess: null,
        };
      case 'result': {
        const result = route.result;
        if (msg.command !== Command.Query) {
          // Not reached: Shiftgate commands are prepared locally. A result is only valid for COM_QUERY.
          this.host.answerLocally(msg, (seq) =>
            encodePacket(
              seq,
              encodeClientError(
                clientError('notSupported', 'this Shiftgate statement must be sent as a text query'),
              ),
            ),
          );
          return null;
        }
        this.host.answerLocally(msg, (seq) => encodeResultSet(result, seq, this.host.answerContext()));
        return null;
      }
      case 'error': {
        const error = route.error;
        this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeClientError(error)));
        return null;
      }
      case 'bind-version': {
        const version = route.version;
        return {
          raw: versionAssignment(version),
          onSuccess: () => {
            this.host.info.boundVersion = version;
          },
        };
      }
    }
  }

  /** COM_STMT_* naming a statement the proxy prepared itself (an admin command). */
  /**
   * A COM_STMT_* naming -1 right after the proxy refused a prepare (the
   * MariaDB connector pipelines them). The server never saw that prepare:
   * to it -1 names the statement prepared before, so nothing of this goes
   * upstream.
   */
  private onRefusedStatementCommand(msg: CommandMessage): Forward {
    // These two have no answer: nothing to close, nothing to fill.
    if (msg.command === Command.StmtClose || msg.command === Command.StmtSendLongData) return null;
    this.answerError(
      msg,
      ErrorCode.UnknownStmtHandler,
      'HY000',
      'Unknown prepared statement handler (4294967295): the statement prepared last was refused by Shiftgate (see its error), so nothing was executed',
    );
    return null;
  }

  private onLocalStatementCommand(msg: CommandMessage, id: number, sql: string): Forward | Promise<Forward> {
    switch (msg.command) {
      case Command.StmtClose:
        this.statements.close(id);
        return null;
      case Command.StmtSendLongData:
        return null;
      case Command.StmtReset:
        this.host.answerLocally(msg, (seq) => encodeLocalOk(seq, this.host.answerContext()));
        return null;
      case Command.StmtExecute:
        break;
      default:
        this.host.answerLocally(msg, (seq) =>
          encodePacket(
            seq,
            encodeClientError(
              clientError(
                'notSupported',
                'a Shiftgate command can only be executed, not fetched or bulk-executed',
              ),
            ),
          ),
        );
        return null;
    }
    const answer = (route: Route): Forward => {
      switch (route.kind) {
        case 'result':
          this.host.answerLocally(msg, (seq) =>
            encodeResultSet(route.result, seq, this.host.answerContext(), true),
          );
          break;
        case 'bind-version': {
          // Its OK is the one an execute of a SET would get.
          const version = route.version;
          return {
            raw: versionAssignment(version),
            onSuccess: () => {
              this.host.info.boundVersion = version;
            },
          };
        }
        case 'error':
          this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeClientError(route.error)));
          break;
        default:
          // Only Shiftgate statements are prepared locally; the router never forwards them.
          this.host.answerLocally(msg, (seq) =>
            encodePacket(
              seq,
              encodeClientError(clientError('internal', 'Shiftgate lost track of a prepared admin command')),
            ),
          );
      }
      return null;
    };
    const route = this.router!.route(this.host.info, sql);
    return route instanceof Promise ? route.then(answer) : answer(route);
  }

  /**
   * The upstream threads behind the proxy connection ids among `ids`: this
   * proxy's sessions at once, other proxies' through their heartbeats (then
   * a promise). Ids no live session of the fleet holds map to null.
   */
  private threadsOf(ids: number[]): Map<number, number | null> | Promise<Map<number, number | null>> {
    const threads = new Map<number, number | null>();
    const elsewhere: number[] = [];
    for (const id of ids.filter(isProxyConnectionId)) {
      const local = this.host.targetOf(id);
      if (local === null) elsewhere.push(id);
      else threads.set(id, local);
    }
    if (elsewhere.length === 0) return threads;
    return Promise.all(elsewhere.map(async (id) => threads.set(id, await this.host.remoteTargetOf(id)))).then(
      () => threads,
    );
  }

  /**
   * A KILL of proxy connection id `id`: sent on this session's own upstream
   * connection as `build` writes it for the session's upstream thread,
   * whichever proxy serves that session, so the server decides whether this
   * client may kill it, as for a local one. An id no live session holds is
   * answered "Unknown thread id", as the server answers one.
   */
  private killOf(
    msg: CommandMessage,
    id: number,
    build: (thread: number) => Buffer,
  ): Forward | Promise<Forward> {
    const forward = (threads: Map<number, number | null>): Forward => {
      const thread = threads.get(id) ?? null;
      if (thread === null) {
        this.answerError(msg, ErrorCode.NoSuchThread, 'HY000', `Unknown thread id: ${id}`);
        return null;
      }
      return { raw: build(thread), onSuccess: null };
    };
    const threads = this.threadsOf([id]);
    return threads instanceof Promise ? threads.then(forward) : forward(threads);
  }

  private answerError(msg: CommandMessage, code: number, sqlState: string, message: string): void {
    this.host.answerLocally(msg, (seq) => encodePacket(seq, encodeErr(code, sqlState, message)));
  }
}
