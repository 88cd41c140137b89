/**
 * A session's way from the upstream connect to the command relay: the
 * server's greeting, the client's login (TLS on either leg, the version
 * binding decided at connect), the authentication exchange
 * (`handshake.ts`), and the account check that follows the server's OK
 * (`account-check.ts`). The session owns the sockets and the phase; this
 * class reads the login's packets and says when the relay takes over.
 */
import { ClientError } from '../../proxy/client-error.ts';
import type { ProxyContext } from '../../proxy/context.ts';
import { log } from '../../proxy/log.ts';
import { ProtocolError } from '../../proxy/protocol-error.ts';
import type { SessionInfo } from '../../proxy/session.ts';
import { AccountCheck, accountQuery, userOfAccount } from './account-check.ts';
import type { Packet } from './framer.ts';
import {
  AuthExchange,
  agreeCapabilities,
  greetingForClient,
  type OfferedCapabilities,
  offeredCapabilities,
} from './handshake.ts';
import { PROXY_CONNECTION_ID_BASE } from './kill.ts';
import { encodeClientError, type LocalAnswerContext } from './local-answers.ts';
import {
  decodeHandshakeResponse,
  decodeHandshakeV10,
  decodeOk,
  encodePacket,
  encodeSslRequest,
  type HandshakeV10,
  patchHandshakeResponseCapabilities,
} from './messages.ts';
import { EarlyCommands } from './pre-login.ts';
import { Capability, ErrorCode, MariadbCapability, ResponseHeader } from './protocol.ts';
import type { ResponseFollower } from './response-follower.ts';
import type { MysqlUpstream } from './upstream.ts';

export enum Phase {
  /** Connecting upstream, waiting for the server greeting. */
  Connecting = 0,
  /** Greeting sent; waiting for the client's SSLRequest / HandshakeResponse41. */
  Handshake = 1,
  /** Relaying the authentication exchange, sequence ids translated. */
  Auth = 2,
  /** Authenticated: the command relay. */
  Command = 3,
  Closed = 4,
  /**
   * The server accepted a login (or COM_CHANGE_USER); the proxy asks it
   * which account it authenticated before any client command is relayed.
   */
  Account = 5,
}

/** What the login needs of the session: its phase, its two links, and the socket work it cannot do itself. */
export interface LoginHost {
  readonly info: SessionInfo;
  phase(): Phase;
  setPhase(phase: Phase): void;
  writeClient(buf: Buffer): void;
  writeUpstream(buf: Buffer): void;
  /** An error of the proxy's own to the client, as packet `seq`. */
  sendClientError(seq: number, code: number, sqlState: string, message: string): void;
  /** The server greeted: the connect timeout no longer applies. */
  greeted(): void;
  /** The server's thread id for this session's connection. */
  setUpstreamThreadId(thread: number): void;
  /** The session takes the connection id its client is about to see (KILL of it, SHOW SHIFTGATE SESSIONS). */
  register(): void;
  /** The client asked for TLS (SSLRequest): the client socket is wrapped. */
  startClientTls(): void;
  /** The upstream leg goes TLS; `then` once it is up. */
  startUpstreamTls(then: () => void): void;
  /** Login (or COM_CHANGE_USER) done and the account known: the command relay takes over. */
  loggedIn(loginOk: Buffer | null): void;
  closeAll(): void;
}

export class Login {
  readonly auth: AuthExchange;
  /** Commands the client pipelined before its login was through. */
  readonly early = new EarlyCommands();
  /** The `shiftgate_version` connection attribute, when the client sent one. */
  requestedVersion: string | null = null;
  private greetingPacket: HandshakeV10 | null = null;
  /** What the greeting offered the client. */
  private offered: OfferedCapabilities = { capabilities: 0, mariadbCapabilities: 0 };
  private clientCaps = 0;
  /** MariaDB extended capabilities agreed with the client. */
  private mariadbCaps = 0;
  /** The session's version binding failed at connect: told to the client in place of the login OK. */
  private bindError: ClientError | null = null;
  private check: AccountCheck | null = null;

  constructor(
    private readonly host: LoginHost,
    private readonly ctx: ProxyContext,
    private readonly upstream: MysqlUpstream,
    private readonly responses: ResponseFollower,
  ) {
    this.auth = new AuthExchange(host);
  }

  /** Capabilities agreed with the client. */
  get clientCapabilities(): number {
    return this.clientCaps;
  }

  /** MariaDB extended capabilities agreed with the client. */
  get mariadbCapabilities(): number {
    return this.mariadbCaps;
  }

  /** How the proxy's own answers must look to this client, with the status flags the server left. */
  answerContext(statusFlags: number): LocalAnswerContext {
    return {
      deprecateEof: (this.clientCaps & Capability.DeprecateEof) !== 0,
      extendedMetadata: (this.mariadbCaps & MariadbCapability.ExtendedMetadata) !== 0,
      statusFlags,
    };
  }

  /** The server greeted (its greeting was not an error). */
  get greeted(): boolean {
    return this.greetingPacket !== null;
  }

  /** The account check under way is the one of the initial login (the client still waits for its OK). */
  get checkingLogin(): boolean {
    return this.check?.loginOk != null;
  }

  /** A client packet before the command relay: the login, or a command pipelined behind it. */
  onClientPacket(p: Packet): void {
    const phase = this.host.phase();
    if (phase === Phase.Handshake) {
      this.onHandshakeResponse(p);
      return;
    }
    if (phase === Phase.Account) {
      // Sent before the client saw the OK (pipelined), or behind COM_CHANGE_USER: relayed once the account is known.
      this.early.hold(p);
      return;
    }
    if (phase !== Phase.Auth) {
      throw new ProtocolError('client spoke before the server greeting', 'handshake', 0);
    }
    if (p.sequenceId === 0 && !p.continuation) {
      // A command pipelined behind the handshake: it waits until authentication succeeds.
      this.early.hold(p);
      return;
    }
    this.auth.onClientPacket(p);
  }

  private onHandshakeResponse(p: Packet): void {
    const response = decodeHandshakeResponse(p.payload);
    this.auth.clientSeq = p.sequenceId;
    if (response.sslRequest) {
      if (!this.ctx.clientTls || this.auth.clientTlsActive) {
        throw new ProtocolError('SSLRequest although the proxy offered no TLS', 'SSLRequest', 0);
      }
      this.host.startClientTls();
      return;
    }
    const info = this.host.info;
    info.user = response.user;
    info.database = response.database;
    info.applicationName = response.attributes.get('program_name') ?? null;
    this.requestedVersion = response.attributes.get('shiftgate_version') ?? null;
    this.auth.authPlugin = response.authPluginName ?? this.greetingPacket!.authPluginName;
    const agreed = agreeCapabilities(response, this.offered, this.upstream.tls !== null);
    this.clientCaps = agreed.client;
    const mariadbCapabilities = agreed.mariadb;
    this.mariadbCaps = mariadbCapabilities;
    this.responses.startFollowing((this.clientCaps & Capability.DeprecateEof) !== 0);
    // The binding is decided now, at connect; a refusal (unknown version) is told to the
    // client only once the server has accepted the login, in place of its OK. NOTE: that
    // costs a login for a doomed session, but the database stays the first authority: an
    // unauthenticated client learns nothing about the migrations (the refusal lists the
    // known versions), and the server sees a clean login and COM_QUIT, not an aborted handshake.
    try {
      this.ctx.router?.bindAtConnect(info, this.requestedVersion);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      this.bindError = err;
    }
    const upstreamCapabilities = agreed.upstream;
    const payload = patchHandshakeResponseCapabilities(p.payload, upstreamCapabilities, mariadbCapabilities);
    this.host.setPhase(Phase.Auth);
    if (this.upstream.tls) {
      this.auth.upstreamSeq = 1;
      this.host.writeUpstream(
        encodePacket(
          1,
          encodeSslRequest(
            upstreamCapabilities,
            response.maxPacketSize,
            response.characterSet,
            mariadbCapabilities,
          ),
        ),
      );
      this.host.startUpstreamTls(() => this.auth.sendUpstream(payload));
    } else {
      this.auth.upstreamSeq = 0;
      this.auth.sendUpstream(payload);
    }
  }

  /** A server packet before the command relay, in phase Connecting, Auth or Account. */
  onServerPacket(p: Packet, phase: Phase.Connecting | Phase.Auth | Phase.Account): void {
    if (phase === Phase.Connecting) this.onGreeting(p);
    else if (phase === Phase.Auth) this.onUpstreamAuthPacket(p);
    else this.onAccountPacket(p);
  }

  private onGreeting(p: Packet): void {
    this.host.greeted();
    if (p.payload[0] === ResponseHeader.Err) {
      // The server refused the connection (too many connections, host blocked): its own words.
      this.host.writeClient(p.raw);
      this.host.closeAll();
      return;
    }
    const greeting = decodeHandshakeV10(p.payload);
    this.greetingPacket = greeting;
    this.host.setUpstreamThreadId(greeting.connectionId);
    if (greeting.connectionId >= PROXY_CONNECTION_ID_BASE) {
      log.warn(
        'mysql server thread id in the range of proxy connection ids: KILL of it is read as a proxy id',
        {
          session: this.host.info.id,
          thread: greeting.connectionId,
        },
      );
    }
    this.auth.onGreeting(greeting);
    if (this.upstream.tls && (greeting.capabilities & Capability.Ssl) === 0) {
      this.host.sendClientError(
        0,
        ErrorCode.SslConnectionError,
        'HY000',
        'Shiftgate: the upstream URL asks for TLS but the server does not offer it',
      );
      this.host.closeAll();
      return;
    }
    this.offered = offeredCapabilities(greeting, Boolean(this.ctx.clientTls));
    this.host.register();
    this.host.setPhase(Phase.Handshake);
    this.host.writeClient(greetingForClient(greeting, this.host.info.id, this.offered));
  }

  private onUpstreamAuthPacket(p: Packet): void {
    const step = this.auth.onServerPacket(p);
    if (step === 'refused') {
      this.host.closeAll();
      return;
    }
    if (step !== 'ok') return;
    this.responses.tracker.statusFlags = decodeOk(p.payload).statusFlags;
    if (this.bindError) {
      this.host.setPhase(Phase.Command);
      log.info('mysql session refused: version binding', {
        session: this.host.info.id,
        user: this.host.info.user,
        error: this.bindError.message,
      });
      this.auth.sendClient(encodeClientError(this.bindError));
      this.early.drop();
      this.host.closeAll();
      return;
    }
    if (this.ctx.router !== null) {
      // Admin authorisation needs the account the server chose, not the name the client claimed.
      this.startAccountCheck(p.payload);
      return;
    }
    this.host.loggedIn(p.payload);
  }

  /** Asks the server for CURRENT_USER() on the session's own connection; the answer is not relayed. */
  startAccountCheck(loginOk: Buffer | null): void {
    this.host.setPhase(Phase.Account);
    this.host.info.user = null;
    this.check = new AccountCheck(loginOk, (this.clientCaps & Capability.DeprecateEof) !== 0);
    this.host.writeUpstream(accountQuery(this.host.info.boundVersion));
  }

  private onAccountPacket(p: Packet): void {
    const answer = this.check!.onPacket(p.payload);
    if (answer === undefined) return;
    if (answer.refused !== null) {
      log.info('mysql account check refused by the server', {
        session: this.host.info.id,
        error: answer.refused,
      });
    }
    this.onAccountKnown(answer.account);
  }

  private onAccountKnown(account: string | null): void {
    const check = this.check!;
    this.check = null;
    this.host.info.user = userOfAccount(account);
    log.debug('mysql session account', { session: this.host.info.id, account });
    this.host.loggedIn(check.loginOk);
  }
}
