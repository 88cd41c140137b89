import type { ProxySession } from './session.ts';

/**
 * Every live client session of this proxy, plus the cancel keys the proxy
 * handed out (a PostgreSQL BackendKeyData, a MySQL connection id) so a
 * cancel from another connection finds its session and nothing else.
 */
export class SessionRegistry {
  private readonly sessions = new Map<number, ProxySession>();
  private readonly cancelKeys = new Map<string, ProxySession>();

  add(session: ProxySession): void {
    this.sessions.set(session.info.id, session);
    session.closed.then(() => this.remove(session));
  }

  private remove(session: ProxySession): void {
    this.sessions.delete(session.info.id);
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
    return [...this.sessions.values()];
  }
}
