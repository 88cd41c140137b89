/**
 * The login, relayed between the client and the server with the proxy in
 * the middle: the greeting goes to the client with the capability flags
 * filtered and the connection id replaced; the client's HandshakeResponse41
 * goes upstream with its capabilities cut to what was offered; then the
 * authentication exchange (auth switch, caching_sha2_password's extra
 * rounds) is relayed with sequence ids translated, since each link counts
 * its own. Where only one link is encrypted, the proxy bridges
 * caching_sha2_password's full authentication (`auth.ts`).
 */
import { decryptPassword, encryptPassword, proxyRsaKey } from './auth.ts';
import type { Packet } from './framer.ts';
import {
  decodeAuthMoreData,
  decodeAuthSwitchRequest,
  encodeAuthMoreData,
  encodeErr,
  encodeHandshakeV10,
  encodePacket,
  type HandshakeResponse,
  type HandshakeV10,
} from './messages.ts';
import {
  AuthPlugin,
  CachingSha2,
  Capability,
  ResponseHeader,
  SUPPORTED_CAPABILITIES,
  SUPPORTED_MARIADB_CAPABILITIES,
} from './protocol.ts';

/** What the proxy offers the client in its greeting. */
export interface OfferedCapabilities {
  capabilities: number;
  mariadbCapabilities: number;
}

/** The server's capabilities the proxy can relay, with TLS offered when the proxy has a certificate for clients. */
export function offeredCapabilities(greeting: HandshakeV10, clientTls: boolean): OfferedCapabilities {
  let capabilities = (greeting.capabilities & SUPPORTED_CAPABILITIES) >>> 0;
  if (clientTls) capabilities = (capabilities | Capability.Ssl) >>> 0;
  return {
    capabilities,
    mariadbCapabilities: greeting.mariadbCapabilities & SUPPORTED_MARIADB_CAPABILITIES,
  };
}

/** The server's greeting as the client sees it: the proxy's connection id and capabilities. */
export function greetingForClient(
  greeting: HandshakeV10,
  connectionId: number,
  offered: OfferedCapabilities,
): Buffer {
  return encodePacket(
    0,
    encodeHandshakeV10({
      ...greeting,
      connectionId,
      capabilities: offered.capabilities,
      mariadbCapabilities: offered.mariadbCapabilities,
    }),
  );
}

/** The capabilities a login settles on each leg. */
export interface AgreedCapabilities {
  /** Agreed with the client. */
  client: number;
  /** MariaDB extended capabilities agreed with the client (and asked of the server). */
  mariadb: number;
  /** Asked of the server. */
  upstream: number;
}

export function agreeCapabilities(
  response: HandshakeResponse,
  offered: OfferedCapabilities,
  upstreamTls: boolean,
): AgreedCapabilities {
  // The client may only use what the proxy offered; TLS upstream is the proxy's own choice.
  const client = (response.capabilities & offered.capabilities & ~Capability.Ssl) >>> 0;
  const mariadb = response.mariadbCapabilities & offered.mariadbCapabilities;
  // The upstream leg stays uncompressed whatever the client chose (see the session's startClientCompression).
  const plain = (client & ~Capability.Compress) >>> 0;
  const upstream = upstreamTls ? (plain | Capability.Ssl) >>> 0 : plain;
  return { client, mariadb, upstream };
}

/** Where the exchange writes: the two links, each in its own sequence ids. */
export interface AuthWire {
  writeClient(buf: Buffer): void;
  writeUpstream(buf: Buffer): void;
}

/** What a server packet of the exchange means for the login. */
export type AuthStep =
  /** The server accepted the login: its OK is the caller's to tell. */
  | 'ok'
  /** The server refused the login; its error went to the client. */
  | 'refused'
  /** More of the exchange: the packet went to the client (or was answered by the proxy). */
  | 'continue';

/** The authentication exchange of one login. */
export class AuthExchange {
  /** Sequence id of the client link's last packet. */
  clientSeq = 0;
  /** Sequence id of the upstream link's last packet. */
  upstreamSeq = 0;
  authPlugin = '';
  clientTlsActive = false;
  upstreamTlsActive = false;
  private scramble: Buffer = Buffer.alloc(0);
  private fullAuthRequested = false;
  private proxyRequestedServerKey = false;
  private pendingCleartext: Buffer | null = null;
  private proxyOfferedKey = false;

  constructor(private readonly wire: AuthWire) {}

  onGreeting(greeting: HandshakeV10): void {
    this.scramble = greeting.authPluginData;
    this.authPlugin = greeting.authPluginName;
  }

  sendUpstream(payload: Buffer): void {
    this.upstreamSeq = (this.upstreamSeq + 1) & 0xff;
    this.wire.writeUpstream(encodePacket(this.upstreamSeq, payload));
  }

  sendClient(payload: Buffer): void {
    this.clientSeq = (this.clientSeq + 1) & 0xff;
    this.wire.writeClient(encodePacket(this.clientSeq, payload));
  }

  sendClientError(code: number, sqlState: string, message: string): void {
    this.sendClient(encodeErr(code, sqlState, message));
  }

  /** A client packet of the exchange (after its HandshakeResponse41). */
  onClientPacket(p: Packet): void {
    this.clientSeq = p.sequenceId;
    if (
      this.fullAuthRequested &&
      this.authPlugin === AuthPlugin.cachingSha2 &&
      this.onCachingSha2ClientPacket(p)
    ) {
      return;
    }
    this.sendUpstream(p.payload);
  }

  /** A server packet of the exchange. */
  onServerPacket(p: Packet): AuthStep {
    this.upstreamSeq = p.sequenceId;
    const header = p.payload[0];
    if (header === ResponseHeader.Ok) return 'ok';
    if (header === ResponseHeader.Err) {
      // Wrong password and friends: the server's own error (1045 ...), then the server closes.
      this.sendClient(p.payload);
      return 'refused';
    }
    if (header === ResponseHeader.Eof) {
      const sw = decodeAuthSwitchRequest(p.payload);
      this.authPlugin = sw.pluginName;
      this.scramble = sw.pluginData;
      this.fullAuthRequested = false;
    } else if (header === ResponseHeader.AuthMoreData && this.authPlugin === AuthPlugin.cachingSha2) {
      const data = decodeAuthMoreData(p.payload);
      if (this.proxyRequestedServerKey && this.pendingCleartext) {
        // The server's PEM public key, asked for by the proxy: answer with the encrypted password.
        this.proxyRequestedServerKey = false;
        const cipher = encryptPassword(this.pendingCleartext, this.scramble, data);
        this.pendingCleartext = null;
        this.sendUpstream(cipher);
        return 'continue';
      }
      if (data.length === 1 && data[0] === CachingSha2.PerformFullAuthentication)
        this.fullAuthRequested = true;
    }
    this.sendClient(p.payload);
    return 'continue';
  }

  /**
   * caching_sha2_password full authentication when only one link is
   * encrypted: a client on TLS sends its password in clear, which a server
   * on a clear link will not take; a client on a clear link sends it
   * RSA-encrypted, which a server on TLS will not take. Returns true when
   * the packet was handled here.
   */
  private onCachingSha2ClientPacket(p: Packet): boolean {
    if (this.clientTlsActive && !this.upstreamTlsActive) {
      // Cleartext password + NUL: fetch the server's key and send it encrypted instead.
      this.pendingCleartext = Buffer.from(p.payload);
      this.proxyRequestedServerKey = true;
      this.fullAuthRequested = false;
      this.sendUpstream(Buffer.from([CachingSha2.RequestPublicKey]));
      return true;
    }
    if (!this.clientTlsActive && this.upstreamTlsActive) {
      if (!this.proxyOfferedKey && p.payload.length === 1 && p.payload[0] === CachingSha2.RequestPublicKey) {
        this.proxyOfferedKey = true;
        this.sendClient(encodeAuthMoreData(Buffer.from(proxyRsaKey().publicPem)));
        return true;
      }
      if (this.proxyOfferedKey) {
        this.fullAuthRequested = false;
        this.sendUpstream(decryptPassword(p.payload, this.scramble, proxyRsaKey().privateKey));
        return true;
      }
    }
    return false;
  }
}
