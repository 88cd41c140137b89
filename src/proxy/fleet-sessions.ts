/**
 * The sessions other proxies of the fleet serve, as their heartbeats tell:
 * how a cancel (PostgreSQL CancelRequest, MySQL KILL) that lands on this
 * proxy finds the session it is meant for when that session is not here.
 */

/** A session another live proxy serves. */
export interface RemoteSession {
  /** The fleet id of the proxy that serves it. */
  proxy: string;
  /** Where that proxy takes forwarded cancels (HOST:PORT), or null when it takes none. */
  peer: string | null;
  /** The session's id as that proxy lists it (MySQL: the connection id its client sees). */
  id: number;
  /** The server's id of its upstream connection (PostgreSQL backend pid, MySQL thread id), once known. */
  backendId: number | null;
}

export interface FleetSessions {
  /**
   * The other live proxies' sessions that `match` accepts. Looked up in the
   * heartbeats read last and, when none matches (a session younger than a
   * heartbeat), in heartbeats written after the call began; bounded in time
   * and never rejects: an unreachable state store finds nothing.
   */
  find(match: (session: RemoteSession) => boolean): Promise<RemoteSession[]>;
}
