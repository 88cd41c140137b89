import type { ProxySession } from './session.ts';

/**
 * Every live client session of this proxy, plus the cancel keys the proxy
 * handed out (a PostgreSQL BackendKeyData, a MySQL connection id) so a
 * cancel from another connection finds its session and nothing else.
 */
export class SessionRegistry {
  /** A set, not a map by id: a MySQL session's id changes once the server's greeting names its thread. */
  private readonly sessions = new Set<ProxySession>();
  private readonly cancelKeys = new Map<string, ProxySession>();

  add(session: ProxySession): void {
    this.sessions.add(session);
    session.closed.then(() => this.remove(session));
  }

  private remove(session: ProxySession): void {
    this.sessions.delete(session);
    for (const [key, s] of this.cancelKeys) if (s === session) this.cancelKeys.delete(key);
  }

  setCancelKey(key: string, session: ProxySession): void {
    this.cancelKeys.set(key, session);
  }

  byCancelKey(key: string): ProxySession | undefined {
    return this.cancelKeys.get(key);
  }

  get size(): number {
    return this.sessions.size;
  }

  list(): ProxySession[] {
    return [...this.sessions];
  }
}
