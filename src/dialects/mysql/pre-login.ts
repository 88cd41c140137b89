/**
 * Client commands pipelined behind an unfinished login (behind the
 * handshake, or behind the login OK while the proxy asks for the account)
 * wait until the command relay takes over; what the proxy holds for the
 * client before then is bounded.
 */
import { ProtocolError } from '../../proxy/protocol-error.ts';
import type { Packet } from './framer.ts';

/**
 * Client bytes the proxy holds before login: a login packet larger than
 * this is refused, and commands pipelined behind an unfinished login stop
 * the proxy reading the client once they reach it (reading resumes at
 * login). NOTE: a login packet needs far less (MySQL clients cap connection
 * attributes at 64 KiB); a client that pipelines more than this and then
 * still has to answer an auth switch waits until the server's
 * connect_timeout ends the login, which no real client does.
 */
export const PRE_LOGIN_LIMIT_BYTES = 1024 * 1024;

/** Commands the client sent before its login was through. */
export class EarlyCommands {
  private packets: Packet[] = [];
  /** Bytes of `packets`. */
  private bytes = 0;
  /** Client reading stopped until login: the pipelined commands reached PRE_LOGIN_LIMIT_BYTES. */
  held = false;

  get length(): number {
    return this.packets.length;
  }

  hold(p: Packet): void {
    this.packets.push(p);
    this.bytes += p.raw.length;
  }

  /** The held commands, in order, for the relay; none are held after. */
  take(): Packet[] {
    const early = this.packets;
    this.packets = [];
    this.bytes = 0;
    return early;
  }

  /** The login failed: the commands go nowhere. */
  drop(): void {
    this.packets = [];
  }

  /**
   * Checks what the proxy holds against PRE_LOGIN_LIMIT_BYTES, with
   * `partial` bytes of a packet not yet whole; `partialIsCommand` when that
   * packet is a pipelined command, not part of the login. Throws for a
   * login packet over the limit; returns the bytes held when the client
   * must stop being read (once), else null.
   */
  bound(partial: number, partialIsCommand: boolean): number | null {
    if (!partialIsCommand && partial > PRE_LOGIN_LIMIT_BYTES) {
      throw new ProtocolError(
        `a login packet of more than ${partial} bytes exceeds the limit of ${PRE_LOGIN_LIMIT_BYTES}`,
        'handshake',
        0,
      );
    }
    if (this.bytes + partial > PRE_LOGIN_LIMIT_BYTES && !this.held) {
      this.held = true;
      return this.bytes + partial;
    }
    return null;
  }
}
