import type { FleetSessions, RemoteSession } from '../proxy/fleet-sessions.ts';
import { log } from '../proxy/log.ts';
import type { LiveProxy } from './heartbeat.ts';
import type { FleetMember } from './member.ts';

/** Every session of the live proxies other than `self`, as their heartbeats list them. */
function remoteSessionsOf(view: LiveProxy[], self: string): RemoteSession[] {
  return view
    .filter((p) => p.id !== self)
    .flatMap((p) =>
      p.sessions.map((s) => ({ proxy: p.id, peer: p.peer, id: s.id, backendId: s.backendId ?? null })),
    );
}

/**
 * The fleet's sessions through this proxy's fleet membership. The member
 * is created once the proxy listens (its port names it by default), so it
 * is asked for at each lookup; none yet finds nothing.
 */
export class FleetMemberSessions implements FleetSessions {
  private freshView: Promise<LiveProxy[]> | null = null;

  constructor(
    private readonly member: () => FleetMember | null,
    /** The longest a lookup waits for fresh heartbeats. */
    private readonly timeoutMs: number,
  ) {}

  async find(match: (session: RemoteSession) => boolean): Promise<RemoteSession[]> {
    const member = this.member();
    if (!member) return [];
    const found = remoteSessionsOf(member.lastView, member.id).filter(match);
    if (found.length > 0) return found;
    // Lookups at the same time (a burst of cancels with unknown keys) share one wait for the heartbeats.
    this.freshView ??= member
      .fresh()
      .catch((err: Error) => {
        log.debug('fleet sessions not read', { error: err.message });
        return [];
      })
      .finally(() => {
        this.freshView = null;
      });
    const fresh = this.freshView;
    let timer: NodeJS.Timeout | undefined;
    const view = await Promise.race([
      fresh,
      new Promise<LiveProxy[]>((resolve) => {
        timer = setTimeout(() => resolve([]), this.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return remoteSessionsOf(view, member.id).filter(match);
  }
}
