import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol';
import type { BackendKeyDataMessage } from 'pg-protocol/dist/messages.js';
import { ClientError, clientError } from '../../proxy/client-error.ts';
import type { ProxyContext } from '../../proxy/context.ts';
import { log } from '../../proxy/log.ts';
import { ProtocolError } from '../../proxy/protocol-error.ts';
import { readInPlace } from '../../proxy/read-in-place.ts';
import { newSessionInfo, type ProxySession, type SessionInfo } from '../../proxy/session.ts';
import { statementLatencyRecorder } from '../../proxy/statement-latency.ts';
import { PiecewisePrefilter } from '../../proxy/statement-prefilter.ts';
import type { CopyHeaderMatch, LocalResult, Route } from '../../proxy/statement-router.ts';
import { cancelKeyOf, forwardCancelToOwner, sendCancel } from './cancel.ts';
import { decodeBackend } from './codec/backend-decoder.ts';
import {
  type ErrorFields,
  encodeAuthenticationSASL,
  encodeBackendKeyData,
  encodeErrorResponse,
  encodeNegotiateProtocolVersion,
} from './codec/backend-encoder.ts';
import { BackendScanner } from './codec/backend-scanner.ts';
import { type Frame, type FrameStream, PgFramer } from './codec/framer.ts';
import {
  decodeFrontend,
  decodeStartup,
  type FrontendMessage,
  type StartupMessage,
} from './codec/frontend.ts';
import { BackendCode, FrontendCode, TransactionStatus } from './codec/message-codes.ts';
import { encodeStartup } from './codec/startup-encoder.ts';
import { CopyHeaderCheck } from './copy-header-check.ts';
import { LocalAnswerQueue } from './local-answer-queue.ts';
import {
  encodeLocalError,
  encodeLocalResult,
  encodeLocalRows,
  resultShapeSql,
  STAND_IN_RESULT_QUERY,
  standInExecute,
  standInMarker,
  standInRefusalMessage,
  standInRefusalQuery,
} from './local-answers.ts';
import { PreparedStatements } from './prepared-statements.ts';
import { SearchPathTracker } from './search-path-tracker.ts';
import { ServerErrorWords } from './server-errors.ts';
import { SqlPreparedStatements } from './sql-prepared.ts';
import { optionValue, reservedOptions, versionFromOptions, withVersionOption } from './startup-options.ts';
import { connectUpstream, upstreamTarget } from './upstream-connection.ts';

const DIALECT = 'postgres';

/**
 * Client bytes the proxy holds before login (pipelined statements, a frame
 * half read, password messages not yet sent upstream) before it stops
 * reading the client until the login completes.
 */
const PRELOGIN_HOLD_BYTES = 128 * 1024;

/** Messages of the extended query protocol that open a batch, ended by Sync. */
const EXTENDED_BATCH = new Uint8Array(256);
for (const c of 'PBDEC') EXTENDED_BATCH[c.charCodeAt(0)] = 1;
/** RESET ALL / DISCARD ALL anywhere in a statement, and as a whole statement. */
const MENTIONS_RESET_ALL = /\b(?:reset|discard)\s+all\b/i;
const RESET_ALL = /^\s*(?:reset|discard)\s+all\s*;?\s*$/i;

/** Frontend message types a client may send once the session is ready. */
const VALID_FRONTEND = new Uint8Array(256);
for (const c of 'BCdcfDEHFPpQSX') VALID_FRONTEND[c.charCodeAt(0)] = 1;

type Phase = 'startup' | 'connecting' | 'authenticating' | 'ready' | 'closed';

/**
 * Client messages from this size up are relayed in pieces as their bytes
 * arrive when the proxy does not need them whole (see `streamDecision`):
 * a 20 MB CopyData, Bind or statement is then neither waited for nor
 * copied on the event loop every session shares.
 */
const STREAM_FROM_BYTES = 256 * 1024;

/** A client frame the proxy holds back for now: nothing goes upstream. */
const NOTHING = Buffer.alloc(0);

/** A client message relayed in pieces as its bytes arrive. */
interface ClientStream {
  code: number;
  /**
   * A statement the router may have to see whole: its pieces are held, not
   * forwarded, while the router's prefilter runs over them as they come.
   */
  held: { parts: Buffer[]; bytes: number; prefilter: PiecewisePrefilter } | null;
}

/**
 * One client session relayed to its own upstream backend.
 *
 * Startup and authentication are decoded message by message (the proxy
 * swaps BackendKeyData for its own, removes SCRAM channel-binding
 * mechanisms it cannot honour and adds the session's schema version to the
 * startup options). After that, both directions forward the bytes they
 * receive; the proxy follows message boundaries to time statements (Query
 * / Sync / FunctionCall until ReadyForQuery) and to validate what the
 * client sends, and hands only the statements the router may care about
 * (admin commands, version binding, statements on migrating tables) to the
 * router, replacing their text when it says so.
 */
export class PgSession implements ProxySession {
  readonly info: SessionInfo;
  /** Records a client statement's latency (made once the session info exists). */
  private readonly recordLatency: (micros: number) => void;
  readonly closed: Promise<void>;

  private client: Socket;
  private upstream: Socket | null = null;
  private phase: Phase = 'startup';
  /** Which sockets read into reused buffers (see `readInPlace`). */
  private readonly readsInPlace = { client: false, upstream: false };
  private readonly clientFramer: PgFramer;
  /** Whole-frame reader of the server's startup messages; replaced by the scanner once ready. */
  private readonly upstreamFramer: PgFramer;
  private readonly scanner: BackendScanner;
  /** Start times (performance.now) of requests awaiting their ReadyForQuery, oldest first. */
  private readonly inFlight: number[] = [];
  /** Client frames that arrived while the upstream connection was being opened. */
  private readonly pendingUpstream: Buffer[] = [];
  /** Statements pipelined behind the login, relayed once the server has authenticated the user. */
  private readonly heldUntilReady: Frame[] = [];
  /** Bytes in `pendingUpstream` and `heldUntilReady` (copies: they pin no larger chunk). */
  private heldBytes = 0;
  /** Frames that arrived while an asynchronous routing decision was pending, in order; null when none is. */
  private backlog: Frame[] | null = null;
  /** The frame whose routing `backlog` waits for is a Query (its request is already counted in flight). */
  private routingQuery = false;
  /** The client message being relayed in pieces, or null. */
  private clientStream: ClientStream | null = null;
  private readonly errorWords = new ServerErrorWords();
  private readonly sqlPrepared = new SqlPreparedStatements();
  /** Named prepared statements as the server holds them, for re-preparing after version changes. */
  private readonly prepared = new PreparedStatements();
  /**
   * Responses to the proxy's own messages (re-prepares, the stand-ins of
   * local answers) to remove from the server's stream or replace with the
   * proxy's answer, batch by batch.
   */
  private readonly answers = new LocalAnswerQueue();
  /**
   * Portals bound to an admin command: its answer, the row the next Execute
   * starts at, and the number of the ReadyForQuery that ends the batch of
   * its Bind (from then on, the end of the transaction closes it).
   */
  private readonly localPortals = new Map<string, { result: LocalResult; next: number; batchEnd: number }>();
  /** ReadyForQuery messages received since login. */
  private readyCount = 0;
  /**
   * A COPY FROM STDIN whose HEADER MATCH the proxy checks (route.copyHeader),
   * until the server's CopyInResponse arms the check or the Query's
   * ReadyForQuery (number `readyAt`) says the COPY never started.
   */
  private pendingCopyHeader: { spec: CopyHeaderMatch; readyAt: number } | null = null;
  /** Armed from CopyInResponse until the header line has been read. */
  private copyHeader: CopyHeaderCheck | null = null;
  /** The extended-protocol batch since the last Sync contained an admin command. */
  private adminBatch = false;
  /** Extended-protocol messages were sent since the last Sync: a batch is open. */
  private batchOpen = false;
  /**
   * A `SET shiftgate.version` (or RESET) the server has not confirmed yet.
   * The binding already applies, and is undone when its batch fails; once
   * the batch is sent (`sent`), nothing more goes upstream until its
   * ReadyForQuery settles it, so no statement ever runs under a binding the
   * server does not share.
   */
  private pendingBinding: {
    previous: string | null;
    /** The Query, or the Execute of the SET's unnamed portal (extended protocol), was sent. */
    executed: boolean;
    /** The portal the SET's statement was bound to, until its Execute. */
    portal: string | null;
    sent: boolean;
    failed: boolean;
    settle: () => void;
    settled: Promise<void>;
  } | null = null;
  /** The session's search_path as the server applies it, published in `info.sqlContext`. */
  private readonly searchPath: SearchPathTracker;
  /** Callers waiting for the requests in flight to be answered, each with how many may remain. */
  private inFlightWaiters: { atMost: number; resolve: () => void }[] = [];
  /** Callers waiting until `readyCount` reaches their count (`requestsAnswered`). */
  private answeredWaiters: { readyCount: number; resolve: () => void }[] = [];
  private transactionStatus: number = TransactionStatus.Idle;
  private upstreamKey: { processId: number; secretKey: number } | null = null;
  /**
   * The secret half of the client's cancel key is the proxy's own (a cancel
   * goes through the proxy's map, so a forged key cancels nothing); the
   * process id is the server's, so `pg_backend_pid()`, `pg_stat_activity`
   * and `pg_terminate_backend(<the driver's pid>)` agree with the driver.
   */
  private readonly proxySecret = randomInt(0, 2 ** 31 - 1);
  /** The statement name the stand-ins of local answers use (one that never exists). */
  private readonly marker = standInMarker(this.proxySecret);
  private readonly markerBytes = Buffer.from(this.marker);
  /** True once the server itself sent a FATAL error: it explained the close better than we could. */
  private serverSentFatal = false;
  private drainRequested = false;
  /** The client sent Terminate: the upstream closing next is the expected end, not a failure. */
  private clientTerminated = false;
  /** The startup asked for a version that cannot be bound; refused once authentication succeeds. */
  private bindError: ClientError | null = null;
  private clientGone = false;
  /** No upstream connection is open (true until one is, and again once it closed). */
  private upstreamGone = true;
  private resolveClosed!: () => void;
  private readonly labels;

  constructor(
    socket: Socket,
    private readonly ctx: ProxyContext,
  ) {
    this.client = socket;
    this.info = newSessionInfo(DIALECT, `${socket.remoteAddress}:${socket.remotePort}`);
    this.recordLatency = statementLatencyRecorder(ctx, this.info);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.labels = {
      received: ctx.metrics.clientBytesReceived.labels(DIALECT),
      sent: ctx.metrics.clientBytesSent.labels(DIALECT),
    };
    this.searchPath = new SearchPathTracker(this.info.sqlContext);
    this.clientFramer = new PgFramer(ctx.config.proxy.max_message_bytes, true, STREAM_FROM_BYTES);
    this.upstreamFramer = new PgFramer(Number.MAX_SAFE_INTEGER, false);
    this.scanner = new BackendScanner(
      [
        BackendCode.ReadyForQuery,
        BackendCode.ErrorResponse,
        BackendCode.ParameterStatus,
        BackendCode.CopyInResponse,
      ],
      (code, body) => this.onWatchedBackendMessage(code, body),
    );
    this.attachClient(socket);
  }

  isIdle(): boolean {
    return (
      this.phase === 'ready' &&
      this.inFlight.length === 0 &&
      this.transactionStatus === TransactionStatus.Idle &&
      this.clientStream === null
    );
  }

  requestsAnswered(): Promise<void> | null {
    if (this.phase !== 'ready') return null;
    // A Query whose routing is pending (the COMPLETE that runs the switch, say) was not sent upstream;
    // admin requests (timed as NaN) are not client traffic either.
    let last = this.inFlight.length - 1 - (this.backlog && this.routingQuery ? 1 : 0);
    while (last >= 0 && Number.isNaN(this.inFlight[last])) last--;
    if (last < 0) return null;
    const readyCount = this.readyCount + last + 1;
    return new Promise((resolve) => this.answeredWaiters.push({ readyCount, resolve }));
  }

  drain(): void {
    this.drainRequested = true;
    if (this.phase !== 'ready' || this.isIdle()) this.terminate('Shiftgate is shutting down');
  }

  terminate(reason: string): void {
    if (this.phase === 'closed') return;
    this.fail({ severity: 'FATAL', code: '57P01', message: `terminating connection: ${reason}` });
  }

  // --- client side -------------------------------------------------------

  private attachClient(socket: Socket): void {
    this.client = socket;
    socket.on('data', this.onClientData);
    socket.on('drain', () => this.upstream?.resume());
    socket.on('error', (err) =>
      log.debug('client socket error', { session: this.info.id, error: err.message }),
    );
    socket.on('close', () => this.onClientClosed());
  }

  private readonly onClientData = (chunk: Buffer): void => {
    this.labels.received.inc(chunk.length);
    // Once the session ended (a protocol error, the upstream gone) late bytes go nowhere and count for nothing.
    if (this.phase === 'closed') return;
    try {
      if (this.phase === 'ready') this.relayClientChunk(chunk);
      else {
        this.clientFramer.push(chunk, (frame) => this.onClientStartupFrame(frame));
        // Stop reading until the login is done, as the server itself reads nothing before then:
        // the rest waits in the socket, not in the proxy's memory.
        if (this.preloginHeldBytes() >= PRELOGIN_HOLD_BYTES) this.client.pause();
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.onClientProtocolError(err);
    }
  };

  private onClientProtocolError(err: ProtocolError): void {
    if (this.phase === 'closed') return;
    this.ctx.metrics.protocolErrors.labels(DIALECT).inc();
    log.warn('malformed client message; closing session', { session: this.info.id, error: err.message });
    this.fail({
      severity: 'FATAL',
      code: '08P01',
      message: `invalid frontend message: ${err.message}`,
      hint: 'The client sent bytes that are not PostgreSQL protocol 3.0; check the driver and the port.',
    });
  }

  /**
   * The hot path: frames are checked and timed, then forwarded as the bytes
   * that arrived. Frames that are contiguous in the chunk go out as one
   * write (the chunk itself when nothing in it changed). Only statements
   * the router may care about are decoded. The callbacks are made once per
   * session, not per chunk.
   */
  private relayClientChunk(chunk: Buffer): void {
    this.relayChunk = chunk;
    try {
      this.clientFramer.push(chunk, this.relayFrame, this.relayStream);
      this.flushRun();
    } finally {
      // A malformed frame ends the session: the run it interrupted is not sent.
      this.runStart = this.runEnd = -1;
      this.relayChunk = NOTHING;
    }
    if (this.upstream?.writableNeedDrain) this.client.pause();
  }

  /** The chunk being relayed, and the run of its untouched frames not yet written ([runStart, runEnd)). */
  private relayChunk: Buffer = NOTHING;
  private runStart = -1;
  private runEnd = -1;

  private flushRun(): void {
    if (this.runStart < 0) return;
    const chunk = this.relayChunk;
    const whole = this.runStart === 0 && this.runEnd === chunk.length;
    this.upstream?.write(whole ? chunk : chunk.subarray(this.runStart, this.runEnd));
    this.runStart = this.runEnd = -1;
  }

  private readonly relayFrame = (frame: Frame): void => {
    if (this.backlog) {
      this.backlog.push(frame);
      return;
    }
    const replacement = this.routeClientFrame(frame);
    if (replacement === undefined) {
      const at = frame.chunkOffset ?? -1;
      if (at >= 0) {
        if (at === this.runEnd) {
          this.runEnd += frame.raw.length;
          return;
        }
        this.flushRun();
        this.runStart = at;
        this.runEnd = at + frame.raw.length;
        return;
      }
      this.flushRun();
      this.upstream?.write(frame.raw);
      return;
    }
    this.flushRun();
    if (replacement instanceof Promise) this.waitForRoute(frame, replacement);
    else this.upstream?.write(replacement);
  };

  private readonly relayStream: FrameStream = {
    large: (code, head) => this.streamDecision(code, head),
    piece: (bytes, last) => {
      this.flushRun();
      this.relayPiece(bytes, last);
    },
  };

  /**
   * Whether a large client message (type, length and first body bytes in)
   * is relayed in pieces. Streamed and forwarded as they come: CopyData,
   * a Bind while no prepared statement needs re-checking, and, without a
   * router, a Query or an unnamed Parse. Streamed but held: a Query or
   * unnamed Parse the router may want, scanned by its prefilter as it comes
   * and forwarded piece by piece, unjoined, unless it is one for the router.
   * Anything else, or anything while a routing decision or a version
   * binding is pending, is framed whole as before.
   */
  private streamDecision(code: number, head: Buffer): boolean {
    if (this.backlog || this.pendingBinding || !VALID_FRONTEND[code]) return false;
    switch (code) {
      case FrontendCode.CopyData:
        // The first line of a COPY whose header the proxy checks is read whole.
        if (this.copyHeader) return false;
        break;
      case FrontendCode.Bind:
        if (this.prepared.needsCheck(this.ctx.router?.generation ?? 0)) return false;
        this.batchOpen = true;
        break;
      case FrontendCode.Parse:
      case FrontendCode.Query: {
        // A named Parse is remembered whole (re-prepared when versions change); a binding being undone needs the text.
        if (code === FrontendCode.Parse && head[5] !== 0) return false;
        if (this.info.boundVersion !== this.info.startupVersion) return false;
        const router = this.ctx.router;
        if (router) {
          this.clientStream = {
            code,
            held: { parts: [], bytes: 0, prefilter: new PiecewisePrefilter(router) },
          };
          return true;
        }
        this.passStatement(code);
        break;
      }
      default:
        return false;
    }
    this.clientStream = { code, held: null };
    return true;
  }

  /** A request the server answers with one ReadyForQuery went upstream (NaN: not timed). */
  private requestSent(startedAt: number): void {
    this.inFlight.push(startedAt);
    this.searchPath.endRequest();
  }

  /** What `routeClientFrame` does for a Query or an unnamed Parse the router does not want. */
  private passStatement(code: number): void {
    if (code === FrontendCode.Query) this.requestSent(performance.now());
    else {
      this.batchOpen = true;
      // The unnamed statement, forwarded unread: whatever it replaced is gone.
      this.prepared.close('');
    }
    this.info.ranClientStatements = true;
  }

  private relayPiece(bytes: Buffer, last: boolean): void {
    const stream = this.clientStream!;
    const held = stream.held;
    if (held === null) this.upstream!.write(bytes);
    else {
      // The prefilter reads the body, as `mayRoute(raw, bodyOffset, ...)` does.
      held.prefilter.feed(held.bytes === 0 ? bytes.subarray(5) : bytes);
      held.parts.push(bytes);
      held.bytes += bytes.length;
    }
    if (!last) return;
    this.clientStream = null;
    if (held === null) return;
    if (!held.prefilter.mayRoute) {
      this.passStatement(stream.code);
      const out = this.upstream!;
      out.cork();
      for (const part of held.parts) out.write(part);
      out.uncork();
      return;
    }
    // One for the router after all: joined and routed like any frame.
    const frame: Frame = { code: stream.code, raw: Buffer.concat(held.parts, held.bytes), bodyOffset: 5 };
    const replacement = this.routeClientFrame(frame);
    if (replacement instanceof Promise) this.waitForRoute(frame, replacement);
    else this.upstream!.write(replacement ?? frame.raw);
  }

  /**
   * Validates one client frame, starts the clock for requests that end in
   * ReadyForQuery and asks the router about statements. Returns undefined
   * to forward the frame as it is, or the bytes to send instead.
   */
  private routeClientFrame(frame: Frame): Buffer | undefined | Promise<Buffer | undefined> {
    const code = frame.code;
    if (!VALID_FRONTEND[code]) {
      throw new ProtocolError(
        `unknown frontend message type 0x${code.toString(16)}`,
        String.fromCharCode(code),
        0,
      );
    }
    const pending = this.pendingBinding;
    if (pending?.sent) {
      // Nothing more goes upstream until the server has confirmed (or undone) the binding.
      return pending.settled.then(() => this.routeClientFrame(frame));
    }
    const batchWasOpen = this.batchOpen;
    const parseText = code === FrontendCode.Parse ? parseTextOf(frame) : null;
    // Observed before the request is counted below, so a change belongs to its own request.
    if (code === FrontendCode.Query)
      this.searchPath.observe(frame.raw, frame.bodyOffset, frame.raw.length - 1);
    else if (parseText) this.searchPath.observe(frame.raw, parseText.start, parseText.end);
    if (code === FrontendCode.Sync) this.batchOpen = false;
    else if (EXTENDED_BATCH[code]) this.batchOpen = true;
    if (pending) {
      const refusal = this.followPendingBinding(pending, frame);
      if (refusal) return refusal;
    }
    switch (code) {
      case FrontendCode.Query:
        this.requestSent(performance.now());
        break;
      case FrontendCode.Sync:
        // Admin batches are not client traffic: their latency must not feed the throttle.
        this.requestSent(this.adminBatch ? Number.NaN : performance.now());
        this.adminBatch = false;
        if (pending) pending.sent = true;
        return undefined;
      case FrontendCode.FunctionCall:
        this.requestSent(performance.now());
        this.info.ranClientStatements = true;
        return undefined;
      case FrontendCode.Terminate:
        // Forwarded: the server answers what came before it, then closes, and so does the session.
        this.clientTerminated = true;
        return undefined;
      case FrontendCode.Parse:
        break;
      case FrontendCode.Bind:
      case FrontendCode.Describe:
        return this.prepared.needsCheck(this.ctx.router?.generation ?? 0) || this.localPortals.size > 0
          ? this.beforeUse(frame)
          : undefined;
      case FrontendCode.Execute:
        return this.localPortals.size > 0 ? this.executeLocal(frame) : undefined;
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        return this.copyHeader ? this.checkCopyHeader(frame) : undefined;
      case FrontendCode.Close: {
        const close = decodeFrontend(frame) as { target: 'S' | 'P'; name: string };
        if (close.target === 'S') this.prepared.close(close.name);
        else this.localPortals.delete(close.name);
        // Its CloseComplete keeps its place among those of the proxy's stand-ins.
        this.answers.closeFromClient(this.inFlight.length);
        return undefined;
      }
      default:
        return undefined;
    }
    const router = this.ctx.router;
    // The bytes to send when nothing else replaces them: the frame, or the Query re-preparing SQL-level statements.
    let forward: Buffer | undefined;
    if (code === FrontendCode.Query) {
      const again = this.sqlPrepared.reprepare(frame, router?.generation ?? 0);
      if (again) {
        // The CommandCompletes of the DEALLOCATE and PREPARE put in front answer nothing the client asked.
        const afterZ = this.inFlight.length - 1;
        for (let i = 0; i < again.extraCompletions; i++)
          this.answers.drop(afterZ, BackendCode.CommandComplete);
        frame = again.frame;
        forward = frame.raw;
      }
      this.sqlPrepared.observe(frame.raw, frame.bodyOffset, frame.raw.length - 1, router?.generation ?? 0);
    } else if (parseText) {
      this.sqlPrepared.observe(frame.raw, parseText.start, parseText.end, router?.generation ?? 0);
    }
    if (this.info.boundVersion !== this.info.startupVersion) {
      // RESET ALL and DISCARD ALL put the server's shiftgate.version back to the startup value.
      const reset = this.resetOfBinding(frame, batchWasOpen);
      if (reset !== null) return reset;
    }
    if (code === FrontendCode.Parse && router) {
      const local = this.prepareLocalStatement(frame, router);
      if (local) return local;
    }
    if (!router?.mayRoute(frame.raw, frame.bodyOffset, frame.raw.length)) {
      this.info.ranClientStatements = true;
      if (code === FrontendCode.Parse) {
        if (frame.raw[frame.bodyOffset] === 0) {
          // The unnamed statement, forwarded unread: whatever it replaced is gone.
          this.prepared.close('');
        } else {
          // Named statements are remembered so they can be re-prepared when the schema versions change.
          const parse = decodeFrontend(frame) as Extract<FrontendMessage, { code: FrontendCode.Parse }>;
          this.prepared.record(
            parse.statement,
            parse.sql,
            parse.paramTypes,
            parse.sql,
            router?.generation ?? 0,
          );
        }
      }
      return forward;
    }
    const msg = decodeFrontend(frame) as Extract<FrontendMessage, { sql: string }>;
    const route = router.route(this.info, msg.sql);
    if (route instanceof Promise) return route.then((r) => this.applyRoute(msg, r) ?? forward);
    if (route.kind === 'bind-version') return this.bindVersion(msg, route.version, batchWasOpen);
    return this.applyRoute(msg, route) ?? forward;
  }

  /**
   * Binds the session to `version` as the client's SET asks, provided the
   * server will keep the setting: the SET must run on its own, outside a
   * transaction block (there a ROLLBACK would undo the server's setting but
   * not the proxy's binding). Earlier requests are answered first, so the
   * transaction state is the server's, not a guess.
   */
  private bindVersion(
    msg: Extract<FrontendMessage, { sql: string }>,
    version: string | null,
    batchWasOpen: boolean,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    if (msg.code === FrontendCode.Parse && msg.statement !== '') {
      return this.refuseBinding(msg, 'notSupported', 'cannot be a named prepared statement');
    }
    if (batchWasOpen) {
      return this.refuseBinding(msg, 'activeTransaction', 'must be the first statement of its batch');
    }
    // A Query's own request is already counted in flight; a Parse's comes with its Sync.
    const own = msg.code === FrontendCode.Query ? 1 : 0;
    if (this.inFlight.length > own) {
      return new Promise<void>((resolve) => this.inFlightWaiters.push({ atMost: own, resolve })).then(() =>
        this.bindVersion(msg, version, false),
      );
    }
    if (this.transactionStatus !== TransactionStatus.Idle) {
      return this.refuseBinding(msg, 'activeTransaction', 'cannot run inside a transaction block');
    }
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const query = msg.code === FrontendCode.Query;
    this.pendingBinding = {
      previous: this.info.boundVersion,
      executed: query,
      portal: null,
      sent: query,
      failed: false,
      settle,
      settled,
    };
    this.info.boundVersion = version;
    return undefined;
  }

  private refuseBinding(
    msg: Extract<FrontendMessage, { sql: string }>,
    code: 'notSupported' | 'activeTransaction',
    why: string,
  ): Buffer | undefined {
    return this.applyRoute(msg, {
      kind: 'error',
      error: clientError(
        code,
        `a statement that changes the session's schema version (SET / RESET shiftgate.version, RESET ALL, DISCARD ALL) ${why}`,
        'send it as a query of its own outside BEGIN ... COMMIT; the binding lasts for the session',
      ),
    });
  }

  /**
   * Follows the extended-protocol batch of a pending SET: the Bind and
   * Execute of its unnamed statement go through, any other statement in
   * the same batch is refused (which fails the batch and so undoes the SET).
   */
  private followPendingBinding(
    pending: NonNullable<PgSession['pendingBinding']>,
    frame: Frame,
  ): Buffer | undefined {
    switch (frame.code) {
      case FrontendCode.Bind: {
        const bind = decodeFrontend(frame) as Extract<FrontendMessage, { code: FrontendCode.Bind }>;
        if (bind.statement === '') pending.portal = bind.portal;
        return undefined;
      }
      case FrontendCode.Execute: {
        const execute = decodeFrontend(frame) as Extract<FrontendMessage, { code: FrontendCode.Execute }>;
        if (execute.portal === pending.portal) pending.executed = true;
        return undefined;
      }
      case FrontendCode.Parse:
      case FrontendCode.Query: {
        const msg = decodeFrontend(frame) as Extract<FrontendMessage, { sql: string }>;
        if (msg.code === FrontendCode.Query) this.requestSent(performance.now());
        return this.refuseBinding(msg, 'activeTransaction', 'must be the only statement of its batch');
      }
      default:
        return undefined;
    }
  }

  /** RESET ALL / DISCARD ALL while bound by SET: followed as a binding back to the startup version. */
  private resetOfBinding(
    frame: Frame,
    batchWasOpen: boolean,
  ): Buffer | undefined | Promise<Buffer | undefined> | null {
    const msg = decodeFrontend(frame) as Extract<FrontendMessage, { sql: string }>;
    if (!MENTIONS_RESET_ALL.test(msg.sql)) return null;
    if (!RESET_ALL.test(msg.sql)) {
      return this.refuseBinding(msg, 'activeTransaction', 'must be a statement of its own');
    }
    return this.bindVersion(msg, this.info.startupVersion, batchWasOpen);
  }

  /** The server's answer to the SET's batch: the binding stays only if the server kept the setting. */
  private settleBinding(status: number): void {
    const pending = this.pendingBinding;
    if (!pending?.sent) return;
    this.pendingBinding = null;
    if (pending.failed || !pending.executed || status !== TransactionStatus.Idle) {
      this.info.boundVersion = pending.previous;
    }
    pending.settle();
  }

  /**
   * A prepared admin command (or SHOW shiftgate.version), named or not, is
   * run at every execution, not once at Parse: the server prepares a
   * stand-in of the result's shape (it answers Parse, Bind and Describe as
   * for the command), and each Bind runs the command for its portal.
   */
  private prepareLocalStatement(
    frame: Frame,
    router: NonNullable<ProxyContext['router']>,
  ): Buffer | undefined {
    if (!router.mayRoute(frame.raw, frame.bodyOffset, frame.raw.length)) return undefined;
    const parse = decodeFrontend(frame) as Extract<FrontendMessage, { code: FrontendCode.Parse }>;
    const columns = router.localResultColumns(parse.sql);
    if (!columns) return undefined;
    this.adminBatch = true;
    const text = resultShapeSql(columns);
    this.prepared.recordLocal(parse.statement, parse.sql, text, router.generation);
    return serialize.parse({ name: parse.statement, text, types: [] });
  }

  /** Runs a prepared admin command for this Bind: the portal gets its answer, or the Bind its refusal. */
  private bindLocal(
    bind: Extract<FrontendMessage, { code: FrontendCode.Bind }>,
    sql: string,
  ): Buffer | Promise<Buffer> {
    this.adminBatch = true;
    this.localPortals.delete(bind.portal);
    const answer = (route: Route): Buffer => {
      if (route.kind === 'error') return this.refuse(route.error, false);
      if (route.kind === 'result') {
        const batchEnd = this.readyCount + this.inFlight.length + 1;
        this.localPortals.set(bind.portal, { result: route.result, next: 0, batchEnd });
      }
      // The stand-in takes no parameters.
      return serialize.bind({ portal: bind.portal, statement: bind.statement, values: [] });
    };
    const route = this.ctx.router!.route(this.info, sql);
    return route instanceof Promise ? route.then(answer) : answer(route);
  }

  /** An Execute of a portal bound to an admin command: its rows, in the place of the stand-in's CloseComplete. */
  private executeLocal(frame: Frame): Buffer | undefined | Promise<Buffer | undefined> {
    const execute = decodeFrontend(frame) as Extract<FrontendMessage, { code: FrontendCode.Execute }>;
    const portal = this.localPortals.get(execute.portal);
    if (!portal) return undefined;
    const unanswered = portal.batchEnd - this.readyCount;
    if (unanswered > 0 && unanswered <= this.inFlight.length) {
      // Bound in a batch the server has not answered yet and executed in a later one: the portal
      // outlives its batch only if the transaction goes on, which that batch's ReadyForQuery tells.
      const atMost = this.inFlight.length - unanswered;
      return new Promise<void>((resolve) => this.inFlightWaiters.push({ atMost, resolve })).then(() =>
        this.executeLocal(frame),
      );
    }
    this.adminBatch = true;
    const { bytes, next } = encodeLocalRows(portal.result, portal.next, execute.maxRows);
    // Executed to its end, the portal answers no more rows, as the server's would.
    portal.next = next ?? portal.result.rows.length;
    this.answers.replace(this.inFlight.length, BackendCode.CloseComplete, bytes);
    return standInExecute(this.marker);
  }

  /**
   * Refuses a Query, Parse or Bind with the proxy's own error: the server
   * gets a stand-in that fails (so it skips to Sync and fails a
   * transaction block, as a real error would), and the client gets the
   * refusal in the place of the stand-in's error.
   */
  private refuse(error: ClientError, query: boolean): Buffer {
    // A Query's own request is already in flight; a Parse's or Bind's comes with its Sync.
    const afterZ = this.inFlight.length - (query ? 1 : 0);
    this.answers.replaceError(afterZ, this.markerBytes, encodeLocalError(error));
    return query ? standInRefusalQuery(this.marker) : standInRefusalMessage(this.marker);
  }

  /** Turns a routing decision into the frame to send upstream in the statement's place. */
  private applyRoute(msg: Extract<FrontendMessage, { sql: string }>, route: Route): Buffer | undefined {
    if (route.kind === 'result' || (route.kind === 'error' && !this.info.ranClientStatements))
      this.markAdmin(msg);
    const query = msg.code === FrontendCode.Query;
    if (route.kind === 'error') return this.refuse(route.error, query);
    if (route.kind === 'result') {
      if (query) {
        // The stand-in's batch is its own: its RowDescription and CommandComplete are the only ones in it.
        const afterZ = this.inFlight.length - 1;
        this.answers.drop(afterZ, BackendCode.RowDescription);
        this.answers.replace(afterZ, BackendCode.CommandComplete, encodeLocalResult(route.result));
        return STAND_IN_RESULT_QUERY;
      }
      // Not reached (admin commands are prepared as local statements), but answered all the same.
      const text = resultShapeSql(route.result.columns);
      this.prepared.recordLocal(msg.statement, msg.sql, text, this.ctx.router?.generation ?? 0);
      return serialize.parse({ name: msg.statement, text, types: [] });
    }
    if (route.kind === 'rewrite' && route.copyHeader) {
      if (!query) {
        return this.refuse(
          clientError(
            'notSupported',
            `COPY ${route.copyHeader.table} FROM STDIN with HEADER MATCH is checked by Shiftgate only in a simple Query in this version`,
            'send the COPY as a simple Query (psql \\copy, pg-copy-streams), or use HEADER true',
          ),
          false,
        );
      }
      this.pendingCopyHeader = { spec: route.copyHeader, readyAt: this.readyCount + this.inFlight.length };
    }
    const text = route.kind === 'rewrite' ? route.sql : msg.sql;
    if (msg.code === FrontendCode.Parse) {
      this.prepared.record(msg.statement, msg.sql, msg.paramTypes, text, this.ctx.router?.generation ?? 0);
    }
    if (text === msg.sql) return undefined;
    return query
      ? serialize.query(text)
      : serialize.parse({ name: msg.statement, text, types: msg.paramTypes });
  }

  /**
   * COPY data while the header line is being read: held until the line is
   * whole, then sent on as it came (the server skips the line), or the
   * COPY is failed with the error the server would give for that header.
   */
  private checkCopyHeader(frame: Frame): Buffer {
    const check = this.copyHeader!;
    if (frame.code === FrontendCode.CopyFail) {
      this.copyHeader = null;
      return frame.raw;
    }
    const verdict =
      frame.code === FrontendCode.CopyData ? check.data(frame.raw, frame.bodyOffset) : check.end();
    if (verdict === null) return NOTHING;
    this.copyHeader = null;
    if (verdict === 'match') {
      return Buffer.concat(frame.code === FrontendCode.CopyDone ? [...check.held, frame.raw] : check.held);
    }
    // The server answers CopyFail with 57014 naming the marker, and drops the data the client still sends;
    // the client gets the header's own error (22P04) in its place. In copy-in, the COPY is the oldest request.
    this.answers.replaceError(0, this.markerBytes, encodeErrorResponse(verdict));
    return serialize.copyFail(this.marker);
  }

  /**
   * Before a Bind or Describe of a prepared statement: re-prepare it when
   * the version map changed its translation (the responses to the proxy's
   * Close and Parse are taken out of the stream), refuse it when it cannot
   * be translated any more, and run admin commands at their Bind.
   */
  private beforeUse(frame: Frame): Buffer | undefined | Promise<Buffer | undefined> {
    const msg = decodeFrontend(frame) as
      | Extract<FrontendMessage, { code: FrontendCode.Bind }>
      | { code: FrontendCode.Describe; target: 'S' | 'P'; name: string };
    let name: string;
    if (msg.code === FrontendCode.Bind) {
      name = msg.statement;
      this.localPortals.delete(msg.portal);
    } else if (msg.target === 'S') name = msg.name;
    else return undefined;
    const local = this.prepared.localText(name);
    if (local !== null) {
      return msg.code === FrontendCode.Bind ? this.bindLocal(msg, local) : undefined;
    }
    const router = this.ctx.router;
    if (router?.holdFor) {
      // A statement prepared before a schema switch runs its old translation unless it waits for the new one.
      const stale = this.prepared.staleText(name);
      const held = stale === null ? null : router.holdFor(this.info, stale);
      if (held) return held.then((error) => (error ? this.refuse(error, false) : this.beforeUse(frame)));
    }
    const reprepare = router
      ? this.prepared.refresh(name, (sql) => {
          const route = router.route(this.info, sql);
          if (route instanceof Promise) return null;
          if (route.kind === 'error') return route.error;
          return route.kind === 'rewrite' ? route.sql : route.kind === 'forward' ? sql : null;
        })
      : null;
    if (router?.switching) this.prepared.recheck(name);
    if (reprepare instanceof ClientError) return this.refuse(reprepare, false);
    if (!reprepare) return undefined;
    // Their CloseComplete and ParseComplete answer nothing the client asked: drop them in this batch.
    const afterZ = this.inFlight.length;
    this.answers.drop(afterZ, BackendCode.CloseComplete);
    this.answers.drop(afterZ, BackendCode.ParseComplete);
    return Buffer.concat([reprepare, frame.raw]);
  }

  private markAdmin(msg: Extract<FrontendMessage, { sql: string }>): void {
    if (msg.code === FrontendCode.Query) this.inFlight[this.inFlight.length - 1] = Number.NaN;
    else this.adminBatch = true;
  }

  /** Holds every later client frame back until an asynchronous routing decision is in. */
  private waitForRoute(frame: Frame, pending: Promise<Buffer | undefined>): void {
    this.backlog = [];
    this.routingQuery = frame.code === FrontendCode.Query;
    this.client.pause();
    pending
      .then((replacement) => {
        if (this.phase === 'closed' || !this.upstream) return;
        this.upstream.write(replacement ?? frame.raw);
        const backlog = this.backlog ?? [];
        this.backlog = null;
        this.relayHeld(backlog);
      })
      .catch((err: Error) => {
        // A frame routed after the wait (a pipelined one behind a SET) can be malformed itself.
        if (err instanceof ProtocolError) return this.onClientProtocolError(err);
        log.error('statement routing failed', { session: this.info.id, error: err.message });
        this.fail({
          severity: 'FATAL',
          code: 'XX000',
          message: `Shiftgate failed to handle a statement: ${err.message}`,
        });
      });
  }

  /**
   * Relays frames that were held back, in order, until one needs waiting for
   * again. A malformed one is the client's protocol error, whichever event
   * (a routing decision, the login's ReadyForQuery) let the frames go.
   */
  private relayHeld(frames: Frame[]): void {
    try {
      this.relayHeldFrames(frames);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.onClientProtocolError(err);
    }
  }

  private relayHeldFrames(frames: Frame[]): void {
    for (const [i, next] of frames.entries()) {
      const r = this.routeClientFrame(next);
      if (r instanceof Promise) {
        this.waitForRoute(next, r);
        this.backlog!.push(...frames.slice(i + 1));
        return;
      }
      this.upstream!.write(r ?? next.raw);
    }
    this.resumeClient();
  }

  /**
   * Reads from the client again, unless a routing decision still holds its
   * frames back (they would pile up in the backlog) or the upstream socket
   * is full (its `drain` calls this again).
   */
  private resumeClient(): void {
    if (this.backlog || this.upstream?.writableNeedDrain) return;
    if (this.phase !== 'ready' && this.preloginHeldBytes() >= PRELOGIN_HOLD_BYTES) return;
    this.client.resume();
  }

  /** What the client has made the proxy hold before login: frames kept, a frame half read, writes not yet sent. */
  private preloginHeldBytes(): number {
    return this.heldBytes + this.clientFramer.buffered + (this.upstream?.writableLength ?? 0);
  }

  private onClientStartupFrame(frame: Frame): void {
    switch (this.phase) {
      case 'startup':
        this.onStartupMessage(decodeStartup(frame), frame);
        return;
      case 'connecting':
      case 'authenticating':
        if (frame.code === FrontendCode.Password) {
          // Password / SASL responses are forwarded unread: the server decides.
          if (this.upstream) this.upstream.write(frame.raw);
          else {
            this.pendingUpstream.push(Buffer.from(frame.raw));
            this.heldBytes += frame.raw.length;
          }
        } else {
          // Statements pipelined behind the login wait for it to succeed: nothing is routed (no admin
          // command runs) for a user the server has not authenticated yet.
          if (!VALID_FRONTEND[frame.code]) {
            throw new ProtocolError(
              `unknown frontend message type 0x${frame.code.toString(16)}`,
              'startup',
              0,
            );
          }
          this.heldUntilReady.push({ ...frame, raw: Buffer.from(frame.raw) });
          this.heldBytes += frame.raw.length;
        }
        return;
    }
  }

  private onStartupMessage(msg: StartupMessage, frame: Frame): void {
    switch (msg.kind) {
      case 'ssl':
        this.answerSslRequest();
        return;
      case 'gssenc':
        this.client.write('N');
        return;
      case 'cancel':
        this.forwardCancel(msg.processId, msg.secretKey);
        return;
      case 'startup':
        this.startSession(msg.minorVersion, msg.params, frame);
    }
  }

  private answerSslRequest(): void {
    if (!this.ctx.clientTls || this.client instanceof TLSSocket) {
      // Answered 'N': the connection stays plain text and whatever follows (pipelined or not) is the
      // next untyped startup-phase message.
      this.client.write('N');
      return;
    }
    if (this.clientFramer.bytesAfterFrame > 0) {
      // Bytes pipelined behind an SSLRequest the proxy accepts arrived before TLS and would bypass it
      // (CVE-2021-23214); the server refuses them the same way.
      throw new ProtocolError('unencrypted data after SSLRequest', 'startup', 8);
    }
    const plain = this.client;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('drain');
    plain.write('S');
    const secure = new TLSSocket(plain, { isServer: true, secureContext: this.ctx.clientTls });
    this.attachClient(secure);
  }

  private forwardCancel(processId: number, secretKey: number): void {
    // A CancelRequest connection gets no answer either way, as with the server itself.
    this.phase = 'closed';
    this.endClient();
    if (!cancelLocalSession(this.ctx, processId, secretKey))
      void forwardCancelToOwner(this.ctx, processId, secretKey);
  }

  /** Sends the server a CancelRequest for this session's backend (best effort, like libpq). */
  cancelUpstream(): void {
    if (!this.upstreamKey) return;
    sendCancel(
      upstreamTarget(this.ctx.upstream),
      this.upstreamKey,
      this.ctx.config.proxy.connect_timeout_ms,
    ).catch((err) =>
      log.warn('cancel request to the upstream server failed', { error: (err as Error).message }),
    );
  }

  private startSession(minor: number, params: Map<string, string>, frame: Frame): void {
    this.info.user = params.get('user') ?? null;
    this.info.database = params.get('database') ?? this.info.user;
    this.info.applicationName = params.get('application_name') ?? null;
    // A search_path the startup packet sets wins over the role and database defaults, as on the server.
    this.info.sqlContext.searchPath =
      optionValue(params.get('options'), 'search_path') ?? params.get('search_path') ?? null;
    this.clientFramer.typed();
    this.phase = 'connecting';
    // The proxy speaks 3.0: newer minor versions and protocol options are declined as the server would.
    const protocolOptions = [...params.keys()].filter((k) => k.startsWith('_pq_.'));
    let rebuild = false;
    if (minor > 0 || protocolOptions.length > 0) {
      this.client.write(encodeNegotiateProtocolVersion(0, protocolOptions));
      for (const k of protocolOptions) params.delete(k);
      rebuild = true;
    }
    const requested = versionFromOptions(params.get('options'));
    try {
      const reserved = reservedOptions(params.get('options'));
      if (reserved.length > 0) {
        throw clientError(
          'permissionDenied',
          `${reserved.join(', ')} is Shiftgate's own setting and cannot be set by a client`,
          'remove it from the options startup parameter; only shiftgate.version may be set there',
        );
      }
      this.ctx.router?.bindAtConnect(this.info, requested);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      // Told only once the server accepted the password: the hint lists the known versions.
      this.bindError = err;
    }
    if (requested === null && this.info.boundVersion !== null) {
      // The sync triggers read shiftgate.version to tell which version a write comes from.
      params.set('options', withVersionOption(params.get('options'), this.info.boundVersion));
      rebuild = true;
    }
    const startup = rebuild ? encodeStartup(params) : frame.raw;
    this.client.pause();
    connectUpstream(upstreamTarget(this.ctx.upstream), this.ctx.config.proxy.connect_timeout_ms).then(
      (socket) => this.onUpstreamConnected(socket, startup),
      (err: Error) => {
        this.ctx.metrics.upstreamConnectErrors.labels(DIALECT).inc();
        log.warn('upstream connect failed', { session: this.info.id, error: err.message });
        this.fail({
          severity: 'FATAL',
          code: '08006',
          message: `Shiftgate could not connect to the upstream server ${this.ctx.upstream.host}: ${err.message}`,
          hint: "Check that the database is running and that Shiftgate's upstream URL points at it.",
        });
      },
    );
  }

  // --- upstream side -----------------------------------------------------

  private onUpstreamConnected(socket: Socket, startup: Buffer): void {
    if (this.phase === 'closed') {
      socket.destroy();
      return;
    }
    this.upstream = socket;
    this.upstreamGone = false;
    this.phase = 'authenticating';
    socket.setNoDelay(true);
    socket.on('data', this.onUpstreamData);
    socket.on('drain', () => this.resumeClient());
    socket.on('error', (err) =>
      log.debug('upstream socket error', { session: this.info.id, error: err.message }),
    );
    socket.on('close', () => this.onUpstreamClosed());
    socket.resume();
    socket.write(startup);
    for (const raw of this.pendingUpstream.splice(0)) {
      socket.write(raw);
      this.heldBytes -= raw.length;
    }
    this.resumeClient();
  }

  private readonly onUpstreamData = (chunk: Buffer): void => {
    try {
      if (this.phase === 'ready') {
        // Errors of a session whose version sees the schema differently are held and put in its words.
        const errors = this.errorWords.forSession(this.ctx.router, this.info.boundVersion);
        if (this.answers.active || this.scanner.holdsBytes || errors) {
          const parts = this.scanner.scanFiltering(
            chunk,
            (code) => {
              const decision = this.answers.decide(code);
              return decision === 'forward' && errors?.(code) ? 'hold' : decision;
            },
            (code, raw) => {
              const answer = this.answers.decideHeld(code, raw);
              // The proxy's own answer is already in the version's words; the server's error is not.
              const remake = answer === raw ? errors?.(code) : null;
              return remake ? remake(raw.subarray(5)) : answer;
            },
          );
          if (parts.length > 0) this.writeClient(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        } else {
          this.scanner.scan(chunk);
          this.writeClient(chunk);
        }
      } else {
        this.upstreamFramer.push(chunk, (frame) => this.onUpstreamStartupFrame(frame));
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      log.error('malformed message from the upstream server', { session: this.info.id, error: err.message });
      this.fail({
        severity: 'FATAL',
        code: '08P01',
        message: `the upstream server sent an invalid message: ${err.message}`,
      });
    }
  };

  /**
   * Once the session is ready, both sockets (when plain TCP) read into
   * buffers they reuse (`readInPlace`). A read buffer is reused only when
   * nothing refers to it past its chunk: the session relays frames as they
   * are, so anything that holds bytes for later (a partial frame, a frame
   * waiting for a routing decision or a COPY header, a streamed statement
   * held for the router, a write still queued on either socket) gives the
   * next read a fresh buffer instead. Tried at each ReadyForQuery for a
   * socket that does not read in place yet (one with bytes still buffered
   * waits for the next; a TLS socket never does); once both do, nothing is
   * done per statement.
   */
  private readInPlace(): void {
    if (this.readsInPlace.client && this.readsInPlace.upstream) return;
    const client = this.client;
    const upstream = this.upstream!;
    const queued = () => client.writableLength > 0 || upstream.writableLength > 0;
    const clientKeeps = () =>
      this.phase !== 'ready' ||
      this.backlog !== null ||
      this.clientStream !== null ||
      this.clientFramer.buffered > 0 ||
      this.copyHeader !== null ||
      this.pendingBinding !== null ||
      queued();
    const upstreamKeeps = () => this.phase !== 'ready' || this.scanner.keepsViews || queued();
    this.readsInPlace.client ||= readInPlace(client, this.onClientData, clientKeeps);
    this.readsInPlace.upstream ||= readInPlace(upstream, this.onUpstreamData, upstreamKeeps);
  }

  private writeClient(data: Buffer): void {
    this.labels.sent.inc(data.length);
    if (!this.client.write(data)) this.upstream?.pause();
  }

  private onUpstreamStartupFrame(frame: Frame): void {
    if (this.phase === 'ready') {
      // Frames after ReadyForQuery that arrived in the same chunk.
      this.scanner.scan(frame.raw);
      this.writeClient(frame.raw);
      return;
    }
    switch (frame.code) {
      case BackendCode.Authentication: {
        const msg = decodeBackend(frame);
        if (msg.name === 'authenticationOk' && this.bindError) {
          const e = this.bindError;
          this.fail({ severity: 'FATAL', code: e.sqlstate, message: e.message, hint: e.hint });
          return;
        }
        if (msg.name === 'authenticationSASL') {
          // Channel binding binds to the TLS connection the server sees, which is the proxy's, not the client's.
          const mechanisms = (msg as unknown as { mechanisms: string[] }).mechanisms.filter(
            (m) => !m.endsWith('-PLUS'),
          );
          this.writeClient(encodeAuthenticationSASL(mechanisms));
          return;
        }
        break;
      }
      case BackendCode.BackendKeyData: {
        const msg = decodeBackend(frame) as BackendKeyDataMessage;
        this.upstreamKey = { processId: msg.processID, secretKey: msg.secretKey };
        this.info.backendId = msg.processID;
        this.ctx.registry.setCancelKey(cancelKeyOf(msg.processID, this.proxySecret), this);
        this.writeClient(encodeBackendKeyData(msg.processID, this.proxySecret));
        return;
      }
      case BackendCode.ParameterStatus:
        this.onParameterStatus(frame.raw.subarray(frame.bodyOffset));
        break;
      case BackendCode.ErrorResponse:
        // Authentication failed: the server's own error (e.g. 28P01) goes to the client; the server closes.
        this.serverSentFatal = true;
        break;
      case BackendCode.ReadyForQuery:
        this.phase = 'ready';
        this.readInPlace();
        this.transactionStatus = frame.raw[5]!;
        this.writeClient(frame.raw);
        this.heldBytes = 0;
        // Also when nothing is held: reading may have stopped on a large frame still half read.
        this.relayHeld(this.heldUntilReady.splice(0));
        if (this.drainRequested) this.drain();
        return;
    }
    this.writeClient(frame.raw);
  }

  private onWatchedBackendMessage(code: number, body: Buffer): void {
    if (code === BackendCode.ReadyForQuery) {
      this.answers.onReadyForQuery();
      this.readyCount += 1;
      if (this.pendingCopyHeader && this.readyCount >= this.pendingCopyHeader.readyAt)
        this.pendingCopyHeader = null;
      this.copyHeader = null;
      if (body[0] === TransactionStatus.Idle && this.localPortals.size > 0) this.closeLocalPortals();
      this.transactionStatus = body[0]!;
      this.searchPath.onReadyForQuery(body[0]!);
      const inTransaction = body[0] !== TransactionStatus.Idle;
      if (this.info.inTransaction && !inTransaction) this.info.transactionsEnded++;
      this.info.inTransaction = inTransaction;
      const started = this.inFlight.shift();
      if (started !== undefined && !Number.isNaN(started)) {
        this.recordLatency((performance.now() - started) * 1000);
      }
      this.settleBinding(body[0]!);
      this.wakeInFlightWaiters();
      if (this.drainRequested && this.isIdle()) {
        // Let the ReadyForQuery reach the client first, then close.
        setImmediate(() => this.terminate('Shiftgate is shutting down'));
      }
    } else if (code === BackendCode.ParameterStatus) {
      this.onParameterStatus(body);
    } else if (code === BackendCode.CopyInResponse) {
      if (this.pendingCopyHeader) this.copyHeader = new CopyHeaderCheck(this.pendingCopyHeader.spec);
      this.pendingCopyHeader = null;
    } else if (code === BackendCode.ErrorResponse) {
      this.searchPath.onError();
      this.answers.onError();
      if (this.pendingBinding) this.pendingBinding.failed = true;
      if (body.includes('SFATAL\0')) this.serverSentFatal = true;
    }
  }

  /** A setting the server reports (at login and whenever it changes): the ones translation reads. */
  private onParameterStatus(body: Buffer): void {
    const nameEnd = body.indexOf(0);
    if (nameEnd < 0) return;
    const name = body.toString('latin1', 0, nameEnd);
    if (name !== 'standard_conforming_strings') return;
    const value = body.toString('latin1', nameEnd + 1, Math.max(nameEnd + 1, body.indexOf(0, nameEnd + 1)));
    this.info.sqlContext.standardConformingStrings = value !== 'off';
  }

  /** The transaction ended: portals bound in it are gone, as on the server. */
  private closeLocalPortals(): void {
    for (const [name, portal] of this.localPortals) {
      if (portal.batchEnd <= this.readyCount) this.localPortals.delete(name);
    }
  }

  private wakeInFlightWaiters(): void {
    if (this.answeredWaiters.length > 0) {
      const ready = this.answeredWaiters.filter((w) => w.readyCount <= this.readyCount);
      this.answeredWaiters = this.answeredWaiters.filter((w) => w.readyCount > this.readyCount);
      for (const w of ready) w.resolve();
    }
    if (this.inFlightWaiters.length === 0) return;
    const ready = this.inFlightWaiters.filter((w) => this.inFlight.length <= w.atMost);
    this.inFlightWaiters = this.inFlightWaiters.filter((w) => this.inFlight.length > w.atMost);
    for (const w of ready) w.resolve();
  }

  // --- closing -------------------------------------------------------------

  private onClientClosed(): void {
    this.clientGone = true;
    this.phase = 'closed';
    // A running statement would not notice the client is gone until it writes; closeUpstream cancels
    // it so its transaction rolls back and releases its locks now.
    this.closeUpstream();
    this.settleIfClosed();
  }

  private onUpstreamClosed(): void {
    this.upstreamGone = true;
    this.upstream = null;
    if (this.phase !== 'closed') {
      this.phase = 'closed';
      const error =
        this.serverSentFatal || this.clientTerminated
          ? undefined
          : encodeErrorResponse({
              severity: 'FATAL',
              code: '08006',
              message: 'Shiftgate lost the connection to the upstream server',
              hint: 'The database closed or dropped this session; reconnect to get a new one.',
            });
      this.endClient(error);
    }
    this.settleIfClosed();
  }

  /** Sends the client an error (when it can still hear one) and closes both sides. */
  private fail(error: ErrorFields): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.endClient(encodeErrorResponse(error));
    this.closeUpstream();
  }

  private endClient(last?: Buffer): void {
    if (this.clientGone) return;
    if (last) this.client.end(last);
    else this.client.end();
    // A client that never closes its side is cut off.
    setTimeout(() => this.client.destroy(), 2000).unref();
  }

  private closeUpstream(): void {
    const upstream = this.upstream;
    if (!upstream || upstream.destroyed) return;
    if (this.inFlight.length > 0 || this.phase === 'authenticating') {
      this.cancelUpstream();
      upstream.destroy();
      return;
    }
    if (this.clientTerminated) upstream.end();
    else upstream.end(serialize.end());
    setTimeout(() => upstream.destroy(), 2000).unref();
  }

  private settleIfClosed(): void {
    if (this.clientGone && this.upstreamGone) this.resolveClosed();
  }
}

/** Where a Parse's query text lies in its frame: statement name, then the text, each ending in a zero byte. */
function parseTextOf(frame: Frame): { start: number; end: number } | null {
  const start = frame.raw.indexOf(0, frame.bodyOffset) + 1;
  const end = start > 0 ? frame.raw.indexOf(0, start) : -1;
  return end > 0 ? { start, end } : null;
}

/** Cancels the running statement of this proxy's session holding the key; false when none holds it. */
export function cancelLocalSession(ctx: ProxyContext, processId: number, secretKey: number): boolean {
  const target = ctx.registry.byCancelKey(cancelKeyOf(processId, secretKey));
  if (!(target instanceof PgSession)) return false;
  target.cancelUpstream();
  return true;
}
