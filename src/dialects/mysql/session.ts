/**
 * One MySQL / MariaDB client session: a raw packet relay between the
 * client socket and its own upstream connection. The session owns the two
 * sockets, the phase that says who reads their bytes, and the state that
 * ties the parts together; each concern is a part of its own:
 * - `login.ts`: the greeting (capability flags filtered, connection id
 *   replaced), the client's login, TLS on either leg, the version binding
 *   at connect and the account check after the server's OK, with
 *   `handshake.ts` (the authentication exchange), `account-check.ts` and
 *   `pre-login.ts` (commands pipelined behind an unfinished login);
 * - `command-relay.ts`: client commands on their way upstream, framed
 *   whole when the proxy must read them, relayed in pieces when it need
 *   not, held in order behind a pending routing decision;
 * - `command-router.ts`: which way each whole command goes (KILL and
 *   COM_PROCESS_KILL, admin commands, version binding, refusals), with
 *   `prepared-statements.ts` for admin commands prepared through the
 *   binary protocol; the proxy answers admin commands itself with result
 *   sets in the server's own format (`local-answers.ts`);
 * - `response-follower.ts`: server traffic forwarded chunk by chunk while
 *   a scanner follows packet boundaries and response ends.
 * A client that asks for compression gets it from the login OK on: a
 * `CompressedLink` (`compression.ts`) inflates what the client sends before
 * the framer and deflates everything written to it; the upstream leg stays
 * plain. When the server ends the upstream connection, the client's ends
 * the same way, after whatever the server sent last.
 */
import { connect, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Counter } from 'prom-client';
import type { ProxyContext } from '../../proxy/context.ts';
import { log } from '../../proxy/log.ts';
import { ProtocolError } from '../../proxy/protocol-error.ts';
import { readInPlace } from '../../proxy/read-in-place.ts';
import { newSessionInfo, type ProxySession, type SessionInfo } from '../../proxy/session.ts';
import { statementLatencyRecorder } from '../../proxy/statement-latency.ts';
import { CommandRelay, STREAM_FROM_BYTES } from './command-relay.ts';
import { CommandRouter } from './command-router.ts';
import { CompressedLink, MAX_COMPRESSED_FIELD } from './compression.ts';
import { PacketFramer } from './framer.ts';
import { proxyConnectionId } from './kill.ts';
import { Login, Phase } from './login.ts';
import { encodeErr, encodePacket, encodeStmtClose, encodeTextCommandPacket } from './messages.ts';
import { LocalStatements } from './prepared-statements.ts';
import { Capability, Command, ErrorCode } from './protocol.ts';
import type { ResponseTracker } from './response.ts';
import { type CommandTag, ResponseFollower } from './response-follower.ts';
import { killUpstreamQuery, type MysqlUpstream, parseMysqlUpstream } from './upstream.ts';

const DIALECT = 'mysql';

export class MysqlSession implements ProxySession {
  readonly info: SessionInfo;
  readonly closed: Promise<void>;

  private resolveClosed!: () => void;
  private client: Socket;
  private upstreamSocket: Socket | null = null;
  private readonly upstream: MysqlUpstream;
  private phase = Phase.Connecting;
  private clientFramer: PacketFramer;
  private upstreamFramer = new PacketFramer();
  private readonly responses: ResponseFollower;
  private readonly login: Login;
  /** Admin commands prepared through the binary protocol. */
  private readonly localStatements = new LocalStatements();
  private readonly relay: CommandRelay;
  upstreamThreadId = 0;
  /** A COM_CHANGE_USER succeeded: ask for the account once its response is through. */
  private accountCheckDue = false;
  /** Sequence id the client expects next in the current response (for errors the proxy writes). */
  private nextClientSeq = 1;
  private draining = false;
  /** Callers of `requestsAnswered`, resolved once no client command is in flight. */
  private answeredWaiters: (() => void)[] = [];
  private quitSent = false;
  private clientOpen = true;
  private upstreamOpen = false;
  private upstreamGone = false;
  /** The server (or the link to it) reset the upstream connection rather than closing it. */
  private upstreamReset = false;
  /** The compressed protocol on the client leg, from the login OK on; null when the client did not ask. */
  private clientLink: CompressedLink | null = null;
  private resolved = false;
  private readonly bytesIn: Counter.Internal;
  private readonly bytesOut: Counter.Internal;

  constructor(
    socket: Socket,
    private readonly ctx: ProxyContext,
  ) {
    // Until the server's greeting names the upstream thread, the id is the proxy's session number.
    this.info = newSessionInfo(DIALECT, `${socket.remoteAddress}:${socket.remotePort}`);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.bytesIn = ctx.metrics.clientBytesReceived.labels(DIALECT);
    this.bytesOut = ctx.metrics.clientBytesSent.labels(DIALECT);
    this.client = socket;
    this.clientFramer = new PacketFramer(ctx.config.proxy.max_message_bytes, STREAM_FROM_BYTES);
    this.upstream = parseMysqlUpstream(ctx.upstream);
    const recordLatency = statementLatencyRecorder(ctx, this.info);
    this.responses = new ResponseFollower(
      {
        writeClient: (buf) => this.writeClient(buf),
        startClientResponse: (compressedSeq) => this.startClientResponse(compressedSeq),
        compressed: () => this.clientLink !== null,
        relayedSequenceId: (sequenceId) => {
          this.nextClientSeq = (sequenceId + 1) & 0xff;
        },
        commandDone: (micros) => {
          recordLatency(micros);
          this.commandAnswered();
        },
      },
      () => this.info.id,
    );
    this.login = new Login(
      {
        info: this.info,
        phase: () => this.phase,
        setPhase: (phase) => {
          this.phase = phase;
        },
        writeClient: (buf) => this.writeClient(buf),
        writeUpstream: (buf) => this.writeUpstream(buf),
        sendClientError: (seq, code, sqlState, message) => this.sendClientError(seq, code, sqlState, message),
        greeted: () => {
          this.upstreamSocket?.setTimeout(0);
        },
        setUpstreamThreadId: (thread) => {
          this.upstreamThreadId = thread;
          this.info.backendId = thread;
          // The connection id the client sees (handshake, SHOW SHIFTGATE SESSIONS), outside the server's
          // thread ids and derived from this connection's, so it is unique across every proxy of the server.
          this.info.id = proxyConnectionId(thread);
        },
        register: () => this.ctx.registry.setCancelKey(String(this.info.id), this),
        startClientTls: () => this.startClientTls(),
        startUpstreamTls: (then) => this.startUpstreamTls(then),
        loggedIn: (loginOk) => this.onLoggedIn(loginOk),
        closeAll: () => this.closeAll(),
      },
      ctx,
      this.upstream,
      this.responses,
    );
    const commands = new CommandRouter(
      {
        info: this.info,
        statusFlags: () => this.tracker.statusFlags,
        lastPreparedStatementId: () => this.tracker.lastPreparedId,
        lastPreparedParams: () => this.tracker.lastPreparedParams,
        prepareOwn: (sql) => this.prepareOwn(sql),
        closeServerStatement: (id) => this.writeUpstream(encodePacket(0, encodeStmtClose(id))),
        clientCapabilities: () => this.login.clientCapabilities,
        answerLocally: (msg, build) =>
          this.responses.answer((msg.lastSequenceId + 1) & 0xff, this.relay.clientFrameSeq, build),
        answerContext: () => this.login.answerContext(this.tracker.statusFlags),
        targetOf: (id) => this.targetOf(id),
        remoteTargetOf: (id) => this.remoteTargetOf(id),
        requestAccountCheck: () => {
          this.accountCheckDue = true;
        },
      },
      ctx.router,
      this.localStatements,
    );
    this.relay = new CommandRelay(
      {
        info: this.info,
        tracker: () => this.tracker,
        compressed: () => this.clientLink !== null,
        setNextClientSeq: (sequenceId) => {
          this.nextClientSeq = sequenceId;
        },
        startClientResponse: (compressedSeq) => this.startClientResponse(compressedSeq),
        expectResponse: (command, onSuccess) => this.expectResponse(command, onSuccess),
        writeUpstream: (buf) => this.writeUpstream(buf),
        writeUpstreamCorked: (bufs) => {
          const up = this.upstreamSocket;
          up?.cork();
          for (const b of bufs) this.writeUpstream(b);
          up?.uncork();
        },
        pauseClient: () => this.client.pause(),
        decisionApplied: () => {
          if (this.draining && this.isIdle()) this.closeGracefully();
          else this.resumeClient();
        },
        closed: () => this.phase === Phase.Closed,
        protocolError: (err) => this.onClientProtocolError(err),
      },
      ctx.router,
      commands,
      this.localStatements,
    );
    socket.setNoDelay(true);
    this.attachClient(socket);
    socket.on('close', () => this.onClientClosed());
    this.connectUpstream();
  }

  /** The `shiftgate_version` connection attribute, when the client sent one. */
  get requestedVersion(): string | null {
    return this.login.requestedVersion;
  }

  private get tracker(): ResponseTracker<CommandTag> {
    return this.responses.tracker;
  }

  /**
   * A client command was answered: the session's transaction is what the
   * server's last status flags say (an ERR carries none, so the flags of
   * the OK or EOF before it stand until the next), and callers waiting for
   * the commands in flight go on once none is left.
   */
  private commandAnswered(): void {
    const info = this.info;
    const inTransaction = this.tracker.inTransaction;
    if (info.inTransaction && !inTransaction) info.transactionsEnded++;
    info.inTransaction = inTransaction;
    if (this.answeredWaiters.length > 0 && this.tracker.pending === 0) {
      const waiters = this.answeredWaiters;
      this.answeredWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  // -------------------------------------------------------------------------
  // ProxySession

  /**
   * Settles once the client commands in flight now are answered (a switch
   * waits for them, see SwitchGate); null when none is. Answers the proxy
   * takes out of the stream are not waited for on their own: the wait ends
   * at the next client answer that leaves nothing in flight.
   */
  requestsAnswered(): Promise<void> | null {
    if (this.phase !== Phase.Command || this.tracker.pending === 0) return null;
    return new Promise((resolve) => this.answeredWaiters.push(resolve));
  }

  isIdle(): boolean {
    if (this.phase !== Phase.Command) return this.phase !== Phase.Auth && this.phase !== Phase.Account;
    return (
      this.tracker.pending === 0 &&
      !this.tracker.inTransaction &&
      !this.relay.deciding &&
      !this.relay.streaming
    );
  }

  drain(): void {
    this.draining = true;
    if (this.isIdle()) this.closeGracefully();
  }

  terminate(reason: string): void {
    if (this.phase === Phase.Closed) return;
    if (this.phase === Phase.Command && this.tracker.pending > 0) {
      this.killRunningQuery();
      this.writeClient(
        encodePacket(
          this.nextClientSeq,
          encodeErr(ErrorCode.ServerShutdown, '08S01', `Shiftgate: ${reason}`),
        ),
      );
    }
    this.closeAll();
  }

  // -------------------------------------------------------------------------
  // Sockets

  private attachClient(socket: Socket): void {
    socket.on('data', this.onClientData);
    socket.on('error', (err) =>
      log.debug('mysql client socket error', { session: this.info.id, error: err.message }),
    );
    socket.on('drain', () => this.upstreamSocket?.resume());
  }

  private writeClient(buf: Buffer): void {
    if (!this.clientOpen || this.client.destroyed || buf.length === 0) return;
    const wire = this.clientLink === null ? buf : this.clientLink.write(buf);
    this.bytesOut.inc(wire.length);
    if (!this.client.write(wire)) this.upstreamSocket?.pause();
  }

  /**
   * Under the compressed protocol, the response about to be written answers
   * a command that came in compressed packet `compressedSeq`: its compressed
   * packets are numbered from the next id, as the server numbers them.
   */
  private startClientResponse(compressedSeq: number): void {
    if (this.clientLink !== null) this.clientLink.nextSequenceId = (compressedSeq + 1) & 0xff;
  }

  private writeUpstream(buf: Buffer): void {
    const up = this.upstreamSocket;
    if (!up || !this.upstreamOpen || up.destroyed) return;
    if (!up.write(buf)) this.client.pause();
  }

  private connectUpstream(): void {
    const { host, port } = this.upstream;
    const socket = connect({ host, port, noDelay: true });
    this.upstreamSocket = socket;
    socket.setTimeout(this.ctx.config.proxy.connect_timeout_ms, () => {
      if (this.phase === Phase.Connecting) socket.destroy(new Error('connect timeout'));
    });
    socket.once('connect', () => {
      this.upstreamOpen = true;
    });
    this.attachUpstream(socket);
    socket.on('close', () => this.onUpstreamClosed());
  }

  private attachUpstream(socket: Socket): void {
    socket.on('data', this.onUpstreamData);
    socket.on('error', (err) => {
      if (this.phase === Phase.Connecting) {
        this.ctx.metrics.upstreamConnectErrors.labels(DIALECT).inc();
        log.warn('mysql upstream connect failed', { session: this.info.id, error: err.message });
        this.sendClientError(
          0,
          ErrorCode.ConnHostError,
          'HY000',
          `Shiftgate could not connect to the upstream server ${this.upstream.host}:${this.upstream.port} (${err.message})`,
        );
        this.closeAll();
      } else {
        if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') this.upstreamReset = true;
        log.debug('mysql upstream socket error', { session: this.info.id, error: err.message });
      }
    });
    socket.on('drain', () => this.resumeClient());
  }

  /**
   * Reads the client again after upstream backpressure, unless something
   * else holds it on purpose: a pending routing decision (the backlog) or
   * an unfinished login.
   */
  private resumeClient(): void {
    if (this.relay.deciding || this.login.early.held || this.upstreamSocket?.writableNeedDrain) return;
    this.client.resume();
  }

  // -------------------------------------------------------------------------
  // Client -> proxy

  private readonly onClientData = (chunk: Buffer): void => {
    this.bytesIn.inc(chunk.length);
    this.onClientWire(chunk);
  };

  /** Bytes as the client sent them: compressed packets from the login OK on, when agreed. */
  private onClientWire(chunk: Buffer): void {
    // After the session ended (drain, upstream gone), late client bytes have no one to go to.
    if (this.phase === Phase.Closed) return;
    try {
      if (this.clientLink === null) {
        this.onClientBytes(chunk);
        return;
      }
      // Compressed packets one at a time, so each command knows the compressed sequence id it came with.
      for (const frame of this.clientLink.read(chunk)) {
        this.relay.clientFrameSeq = frame.sequenceId;
        this.onClientBytes(frame.payload);
        if ((this.phase as Phase) === Phase.Closed) return;
      }
    } catch (err) {
      this.onClientProtocolError(err);
    }
  }

  /** Packet-stream bytes from the client (inflated first under the compressed protocol). */
  private onClientBytes(data: Buffer): void {
    if (this.phase === Phase.Command || this.relay.streaming) this.relay.relayChunk(this.clientFramer, data);
    else {
      for (const p of this.clientFramer.push(data)) this.login.onClientPacket(p);
      this.boundPreLogin();
    }
  }

  /** Before login, what the proxy holds for the client stays bounded (`pre-login.ts`). */
  private boundPreLogin(): void {
    const phase = this.phase as Phase;
    if (phase === Phase.Command || phase === Phase.Closed) return;
    const partial = this.clientFramer.buffered;
    // In Auth / Account a packet at sequence id 0 is a pipelined command; anything else is part of the login.
    const partialIsCommand =
      (phase === Phase.Auth && this.clientFramer.pendingSequenceId === 0) || phase === Phase.Account;
    const bytes = this.login.early.bound(partial, partialIsCommand);
    if (bytes !== null) {
      this.client.pause();
      log.debug('mysql client paused until login: pipelined commands reached the limit', {
        session: this.info.id,
        bytes,
      });
    }
  }

  private onClientProtocolError(err: unknown): void {
    if (!(err instanceof ProtocolError)) {
      log.error('mysql session failed', {
        session: this.info.id,
        error: (err as Error).stack ?? String(err),
      });
      this.terminate('internal error');
      return;
    }
    this.ctx.metrics.protocolErrors.labels(DIALECT).inc();
    log.warn('mysql client protocol error', { session: this.info.id, error: err.message });
    if (this.phase === Phase.Command && this.tracker.pending > 0) this.killRunningQuery();
    this.sendClientError(
      this.nextClientSeq,
      ErrorCode.MalformedPacket,
      '08S01',
      `Shiftgate: malformed packet: ${err.message}`,
    );
    this.closeAll();
  }

  private sendClientError(seq: number, code: number, sqlState: string, message: string): void {
    this.writeClient(encodePacket(seq, encodeErr(code, sqlState, message)));
  }

  private startClientTls(): void {
    const raw = this.client;
    raw.removeAllListeners('data');
    raw.pause();
    // A client may send its TLS ClientHello right behind the SSLRequest; give those bytes back to the socket.
    if (this.clientFramer.buffered > 0) raw.unshift(this.clientFramer.takeBuffered());
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.ctx.clientTls! });
    this.client = secure;
    this.login.auth.clientTlsActive = true;
    this.clientFramer = new PacketFramer(this.ctx.config.proxy.max_message_bytes, STREAM_FROM_BYTES);
    this.attachClient(secure);
    secure.on('close', () => this.onClientClosed());
  }

  private startUpstreamTls(then: () => void): void {
    const raw = this.upstreamSocket!;
    raw.removeAllListeners('data');
    const secure = tlsConnect({ ...this.upstream.tls, socket: raw });
    this.upstreamSocket = secure;
    this.login.auth.upstreamTlsActive = true;
    this.attachUpstream(secure);
    secure.on('close', () => this.onUpstreamClosed());
    secure.once('secureConnect', then);
    secure.on('error', (err) => {
      if (this.phase === Phase.Auth && !this.client.destroyed) {
        this.login.auth.sendClientError(
          ErrorCode.SslConnectionError,
          'HY000',
          `Shiftgate: TLS to the upstream server failed: ${err.message}`,
        );
        this.closeAll();
      }
    });
  }

  // -------------------------------------------------------------------------
  // Upstream -> proxy

  private readonly onUpstreamData = (chunk: Buffer): void => {
    try {
      if (this.phase === Phase.Command) {
        this.relayResponses(chunk);
        return;
      }
      for (const p of this.upstreamFramer.push(chunk)) {
        const phase = this.phase as Phase;
        if (phase === Phase.Connecting || phase === Phase.Auth || phase === Phase.Account) {
          this.login.onServerPacket(p, phase);
        }
        // Bytes behind the final auth OK belong to the command relay.
        else if (phase === Phase.Command) this.relayResponses(p.raw);
        else if (phase !== Phase.Closed) {
          throw new ProtocolError('server spoke out of turn during the handshake', 'handshake', 0);
        }
      }
      if ((this.phase as Phase) === Phase.Command && this.upstreamFramer.buffered > 0) {
        this.relayResponses(this.upstreamFramer.takeBuffered());
      }
    } catch (err) {
      this.onUpstreamProtocolError(err);
    }
  };

  private onUpstreamProtocolError(err: unknown): void {
    log.error('mysql upstream protocol error', {
      session: this.info.id,
      error: err instanceof ProtocolError ? err.message : ((err as Error).stack ?? String(err)),
    });
    this.sendClientError(
      this.nextClientSeq,
      ErrorCode.ServerLost,
      'HY000',
      `Lost connection to the upstream server: Shiftgate could not follow its response (${(err as Error).message})`,
    );
    this.closeAll();
  }

  /** Login (or COM_CHANGE_USER) done and the account known: the command relay takes over. */
  private onLoggedIn(loginOk: Buffer | null): void {
    this.phase = Phase.Command;
    if (loginOk !== null) {
      this.login.auth.sendClient(loginOk);
      if ((this.login.clientCapabilities & Capability.Compress) !== 0) this.startClientCompression();
    }
    this.readInPlace();
    log.debug('mysql session authenticated', {
      session: this.info.id,
      user: this.info.user,
      thread: this.upstreamThreadId,
    });
    if (this.draining && (loginOk !== null || this.isIdle())) {
      this.closeGracefully();
      return;
    }
    if (this.login.early.length > 0) {
      try {
        this.relay.relayPackets(this.login.early.take());
      } catch (err) {
        this.onClientProtocolError(err);
        return;
      }
    }
    if (this.login.early.held) {
      this.login.early.held = false;
      this.resumeClient();
    }
  }

  /**
   * Both sides compress from the login OK on (the OK itself is plain).
   * NOTE: only the client leg: the upstream connection is opened without
   * CLIENT_COMPRESS, so the proxy inflates each command once and deflates
   * each response once, and relays and scans plain packets as before. The
   * server's `Compression` status variable therefore says OFF.
   */
  private startClientCompression(): void {
    this.clientLink = new CompressedLink(Math.min(MAX_COMPRESSED_FIELD, this.clientFramer.maxMessageBytes));
    // Bytes the client sent behind its login (it cannot have compressed them before seeing the OK).
    if (this.clientFramer.buffered > 0) this.onClientWire(this.clientFramer.takeBuffered());
  }

  /**
   * From the command phase on, both sockets (when plain TCP) read into
   * buffers they reuse (`readInPlace`). A read buffer is reused only when
   * nothing refers to it past its chunk: packets are relayed as they are, so
   * anything that holds bytes for later (a partial packet, packets behind a
   * routing decision, a streamed or assembled statement, compressed frames,
   * a write still queued on either socket, a login step) gives the next read
   * a fresh buffer instead. A COM_CHANGE_USER switches nothing back: its
   * phases simply keep every buffer.
   */
  private readInPlace(): void {
    const client = this.client;
    const upstream = this.upstreamSocket;
    if (upstream === null || this.phase !== Phase.Command) return;
    const queued = () => client.writableLength > 0 || upstream.writableLength > 0;
    const clientKeeps = () =>
      this.phase !== Phase.Command ||
      this.clientLink !== null ||
      this.relay.holdsPackets ||
      this.clientFramer.buffered > 0 ||
      queued();
    const upstreamKeeps = () => this.phase !== Phase.Command || this.upstreamFramer.buffered > 0 || queued();
    readInPlace(client, this.onClientData, clientKeeps);
    readInPlace(upstream, this.onUpstreamData, upstreamKeeps);
  }

  // -------------------------------------------------------------------------
  // Command phase

  /** A command is going upstream: its response, if it has one, is next to follow. */
  private expectResponse(command: number, onSuccess: (() => void) | null): void {
    if (command === Command.Quit) {
      this.quitSent = true;
      return;
    }
    this.responses.expect(command, this.relay.clientFrameSeq, onSuccess);
  }

  /** A COM_STMT_PREPARE of the proxy's own (see CommandRouterHost.prepareOwn). */
  private prepareOwn(sql: string): Promise<{ id: number; params: number } | null> {
    return new Promise((resolve) => {
      if (this.phase !== Phase.Command || !this.upstreamOpen) {
        resolve(null);
        return;
      }
      this.responses.expectHidden(Command.StmtPrepare, (ok) => {
        const id = this.tracker.lastPreparedId;
        resolve(ok && id !== null ? { id, params: this.tracker.lastPreparedParams } : null);
      });
      this.writeUpstream(encodeTextCommandPacket(Command.StmtPrepare, sql));
    });
  }

  /** The upstream thread id behind a connection id this proxy handed out, or null. */
  private targetOf(connectionId: number): number | null {
    const session = this.ctx.registry.byCancelKey(String(connectionId));
    return session instanceof MysqlSession && session.upstreamThreadId !== 0
      ? session.upstreamThreadId
      : null;
  }

  /**
   * The upstream thread behind a connection id another live proxy of the
   * fleet handed out, from its heartbeat. Only a session whose id is the one
   * its thread gives counts (a proxy of an older version numbered its
   * sessions itself, so its ids may repeat another proxy's).
   */
  private async remoteTargetOf(connectionId: number): Promise<number | null> {
    const [owner] =
      (await this.ctx.fleet?.find(
        (s) => s.id === connectionId && s.backendId !== null && proxyConnectionId(s.backendId) === s.id,
      )) ?? [];
    return owner?.backendId ?? null;
  }

  private relayResponses(chunk: Buffer): void {
    this.responses.relay(chunk);
    if (this.accountCheckDue && this.responses.atBoundary) {
      this.accountCheckDue = false;
      // NOTE: a client that pipelines commands behind COM_CHANGE_USER keeps no admin rights until
      // it reconnects: the proxy asks only when no other response is owed, so its answer comes alone.
      if (this.ctx.router !== null && this.tracker.pending === 0 && !this.relay.streaming) {
        this.login.startAccountCheck(null);
        return;
      }
    }
    if (this.draining && this.responses.atBoundary && this.isIdle()) this.closeGracefully();
  }

  // -------------------------------------------------------------------------
  // Ending

  /** Stops whatever the upstream connection is running, through a connection of the proxy's own. */
  private killRunningQuery(): void {
    if (this.upstreamThreadId === 0 || !this.upstreamOpen) return;
    const thread = this.upstreamThreadId;
    void killUpstreamQuery(this.upstream, thread, this.ctx.config.proxy.connect_timeout_ms).then((ok) => {
      if (!ok)
        log.warn('mysql KILL QUERY of an abandoned statement failed', { session: this.info.id, thread });
    });
  }

  private onClientClosed(): void {
    if (!this.clientOpen) return;
    this.clientOpen = false;
    if (this.phase === Phase.Command && this.tracker.pending > 0) {
      // The client went away mid-statement: do not let the statement run on for nobody.
      this.killRunningQuery();
    }
    this.closeAll();
    this.maybeClosed();
  }

  /**
   * The server closed (or reset) the upstream connection: KILL CONNECTION,
   * wait_timeout, shutdown, a broken link. Whatever the server sent last
   * (MySQL's 4031 on wait_timeout, a 1927 answering a KILL of one's own
   * connection, 1053 at shutdown) has already been relayed; the client
   * socket now closes the way the server's did (FIN, or a reset when the
   * upstream was reset). NOTE: no error of the proxy's own is added in the
   * command phase, even mid-command: an ERR packet is an ordinary statement
   * error to mysql2 and the mariadb connector, so their pools would hand the
   * dead connection out again, while a closed socket is the fatal
   * PROTOCOL_CONNECTION_LOST / ER_SOCKET_UNEXPECTED_CLOSE (and libmariadb's
   * own 2013) that a direct connection gives.
   */
  private onUpstreamClosed(): void {
    if (this.upstreamGone) return;
    this.upstreamGone = true;
    this.upstreamOpen = false;
    if (this.clientOpen && !this.quitSent) {
      if (this.phase === Phase.Command) {
        log.info('mysql upstream connection closed by the server', {
          session: this.info.id,
          thread: this.upstreamThreadId,
          pending: this.tracker.pending,
          reset: this.upstreamReset,
        });
        if (this.upstreamReset) this.resetClient();
      } else if (this.phase === Phase.Auth || (this.phase === Phase.Account && this.login.checkingLogin)) {
        this.login.auth.sendClientError(
          ErrorCode.ServerLost,
          'HY000',
          'Lost connection to MySQL server during authentication (Shiftgate: the upstream connection closed)',
        );
      } else if (this.phase === Phase.Connecting && !this.login.greeted) {
        this.sendClientError(
          0,
          ErrorCode.ServerLost,
          'HY000',
          'Shiftgate: the upstream server closed the connection before its greeting',
        );
      }
    }
    this.closeAll();
    this.maybeClosed();
  }

  /** Ends the client connection with a TCP reset, as the server ended the upstream one. */
  private resetClient(): void {
    const client = this.client;
    if (client.destroyed) return;
    // A TLS client has no TCP handle of its own to reset: it is closed instead.
    if (client instanceof TLSSocket) client.destroy();
    else client.resetAndDestroy();
  }

  /** At an idle point: say COM_QUIT upstream so the server logs a clean disconnect, and close the client. */
  private closeGracefully(): void {
    if (this.phase === Phase.Closed) return;
    this.closeAll();
  }

  private closeAll(): void {
    const idleCommandPhase = this.phase === Phase.Command && this.tracker.pending === 0;
    this.phase = Phase.Closed;
    if (!this.client.destroyed) this.client.end();
    // A half-closed client that never reads must not keep the session alive.
    const client = this.client;
    setTimeout(() => client.destroy(), 1000).unref();
    const up = this.upstreamSocket;
    if (!up || this.upstreamGone || up.destroyed) return;
    if (idleCommandPhase && this.upstreamOpen && !this.quitSent) {
      this.quitSent = true;
      up.end(encodePacket(0, Buffer.from([Command.Quit])));
    } else if (this.quitSent) {
      up.end();
    } else {
      up.destroy();
      return;
    }
    setTimeout(() => up.destroy(), 1000).unref();
  }

  private maybeClosed(): void {
    if (!this.clientOpen && this.upstreamGone && !this.resolved) {
      this.resolved = true;
      this.phase = Phase.Closed;
      this.resolveClosed();
    }
  }
}
