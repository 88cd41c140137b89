import type { Config } from '../config/schema.ts';
import type { ControlsChange } from '../fleet/controls.ts';
import type { FleetView, LiveProxy } from '../fleet/heartbeat.ts';
import { fleetSessionOf } from '../fleet/snapshot.ts';
import type { MigrationStatus } from '../migrations/index.ts';
import { clientError } from '../proxy/client-error.ts';
import { type LatencyRecorder, MIN_QUANTILE_SAMPLES } from '../proxy/latency-recorder.ts';
import { log } from '../proxy/log.ts';
import type { SessionInfo } from '../proxy/session.ts';
import type { SessionRegistry } from '../proxy/session-registry.ts';
import type { LocalResult } from '../proxy/statement-router.ts';
import { CLIENT_P99_WINDOW_S } from '../throttle/controller.ts';
import { setKnob } from '../throttle/knobs.ts';
import type { AdminCommand } from './command.ts';
import type { MigrationControl, RetiringSession } from './migration-control.ts';
import { adminResultColumns } from './result-columns.ts';

const COMMAND_NAMES: Record<AdminCommand['kind'], string> = {
  'show-status': 'SHOW SHIFTGATE STATUS',
  'show-migrations': 'SHOW SHIFTGATE MIGRATIONS',
  'show-sessions': 'SHOW SHIFTGATE SESSIONS',
  'show-proxies': 'SHOW SHIFTGATE PROXIES',
  start: 'SHIFTGATE START',
  pause: 'SHIFTGATE PAUSE',
  resume: 'SHIFTGATE RESUME',
  set: 'SHIFTGATE SET',
  complete: 'SHIFTGATE COMPLETE',
  rollback: 'SHIFTGATE ROLLBACK',
};

const text = (v: number | null | undefined, digits = 0): string | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v.toFixed(digits);
const time = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/**
 * The admin commands of DESIGN.md section 1, answered as result sets. Every
 * command is authorised on its own against `admin.users`. Dialect-neutral:
 * the wire session renders the result.
 */
export class AdminConsole {
  constructor(
    private readonly config: Config,
    private readonly registry: SessionRegistry,
    private readonly latency: LatencyRecorder,
    /** The migration control, or why there is none (no support for the engine, database unreachable). */
    private readonly control: () => MigrationControl | string,
    /** The session's database is the one migrations run in (only those sessions are clients of a version). */
    private readonly managedDatabase: string | null,
    /**
     * Brings this proxy's version map up to date before a status answer, so
     * a phase shown there is already the phase the proxy translates by.
     */
    private readonly syncVersions: () => Promise<void> = async () => {},
    /** The fleet this proxy is a member of, once it has one (null: this proxy alone). */
    private readonly fleet: () => FleetView | null = () => null,
  ) {}

  async execute(session: SessionInfo, command: AdminCommand): Promise<LocalResult> {
    if (!session.user || !this.config.admin.users.includes(session.user)) {
      throw clientError(
        'permissionDenied',
        `permission denied for ${COMMAND_NAMES[command.kind]}: user "${session.user ?? ''}" is not a Shiftgate admin`,
        'admin users are listed in the admin.users config key',
      );
    }
    if (command.kind === 'show-sessions') return this.sessions();
    if (command.kind === 'show-proxies') return this.proxies();
    const control = this.control();
    if (typeof control === 'string') {
      throw clientError('notSupported', `${COMMAND_NAMES[command.kind]} is not available: ${control}`);
    }
    return this.migrationCommand(control, command);
  }

  private async migrationCommand(control: MigrationControl, command: AdminCommand): Promise<LocalResult> {
    switch (command.kind) {
      case 'show-status': {
        // Read first, then follow: the map must be at least as new as the phase shown, and a phase
        // that changed between a follow and a later read would be shown before the map had it.
        const status = await this.status(control);
        await this.syncVersions();
        return status;
      }
      case 'show-migrations':
        return this.migrations(control);
      case 'show-sessions':
        return this.sessions();
      case 'show-proxies':
        return this.proxies();
      case 'start': {
        // A rollback asked for an earlier run of the same name must not catch this one.
        await this.fleet()
          ?.changeControls({ rollback: null })
          .catch(() => {});
        const s = await control.start(command.name);
        return phaseResult('SHIFTGATE START', s, 'started; the backfill runs in the background');
      }
      case 'pause': {
        control.pause();
        const note = await this.tellFleet({ paused: true });
        return {
          columns: adminResultColumns(command),
          rows: [[`backfill paused${note}`]],
          tag: 'SHIFTGATE PAUSE',
        };
      }
      case 'resume': {
        control.resume();
        const note = await this.tellFleet({ paused: false });
        return {
          columns: adminResultColumns(command),
          rows: [[`backfill resumed${note}`]],
          tag: 'SHIFTGATE RESUME',
        };
      }
      case 'set': {
        control.throttle.knobs = setKnob(control.throttle.knobs, command.knob, command.value);
        await this.tellFleet({ knobs: { [command.knob]: command.value } });
        const value = control.throttle.knobs[command.knob as keyof Config['throttle']];
        return {
          columns: adminResultColumns(command),
          rows: [[command.knob, value === null ? null : String(value)]],
          tag: 'SHIFTGATE SET',
        };
      }
      case 'complete': {
        const s = await control.complete(command.force, {
          boundToOtherThan: (version) => this.retiringSessions(version),
        });
        return phaseResult('SHIFTGATE COMPLETE', s, 'completed');
      }
      case 'rollback': {
        const fleet = this.fleet();
        const s = await control.rollback(
          fleet ? { requestOnFleet: (name) => fleet.changeControls({ rollback: name }) } : {},
        );
        return phaseResult('SHIFTGATE ROLLBACK', s, 'rolled back');
      }
    }
  }

  /**
   * Records a throttle command for the fleet, so the proxy running the
   * migration applies it wherever it is (and one taking over inherits it).
   * Applied here already; when the store cannot be written, the answer says
   * it holds on this proxy only.
   */
  private async tellFleet(change: ControlsChange): Promise<string> {
    const fleet = this.fleet();
    if (!fleet) return '';
    try {
      await fleet.changeControls(change);
      return '';
    } catch (err) {
      log.warn('throttle command not recorded for the fleet', { error: (err as Error).message });
      return ' (on this proxy only: the fleet could not be told)';
    }
  }

  /**
   * Client sessions (not admin-only) of the managed database bound to a
   * version other than `version`, on this proxy and on every other live
   * proxy of the fleet (from a heartbeat written after COMPLETE arrived).
   * When the fleet cannot be read, COMPLETE cannot know: it is refused.
   */
  private async retiringSessions(version: string): Promise<RetiringSession[]> {
    const fleet = this.fleet();
    const self = fleet?.id ?? null;
    const mine = this.registry.list().map((s) => ({ proxy: self, session: fleetSessionOf(s.info) }));
    let others: LiveProxy[] = [];
    if (fleet) {
      try {
        // Their sessions as of now: one that ran its first statement a moment ago counts too.
        others = (await fleet.fresh()).filter((p) => p.id !== fleet.id);
      } catch (err) {
        throw clientError(
          'stateConflict',
          `the other proxies' sessions cannot be read from the state store (${(err as Error).message})`,
          'try again, or run SHIFTGATE COMPLETE FORCE if no proxy serves the old version any more',
        );
      }
    }
    const theirs = others.flatMap((p) => p.sessions.map((session) => ({ proxy: p.id, session })));
    return [...mine, ...theirs]
      .filter(
        ({ session: s }) =>
          !s.adminOnly &&
          s.version !== version &&
          (this.managedDatabase === null || s.database === this.managedDatabase),
      )
      .map(({ proxy, session: s }) => ({
        proxy,
        id: s.id,
        user: s.user,
        address: s.clientAddress,
        version: s.version ?? '(none)',
      }));
  }

  private async status(control: MigrationControl): Promise<LocalResult> {
    const columns = adminResultColumns({ kind: 'show-status' });
    const status = await control.status();
    if (!status) return { columns, rows: [], tag: 'SHOW' };
    const throttle = control.throttle.state;
    const live = new Map(control.liveProgress(status.name).map((p) => [p.table, p]));
    const tables = status.backfill.length > 0 ? status.backfill : [null];
    const throttled = control.throttle.isPaused || throttle.throttled;
    const backfilling = status.phase === 'backfilling';
    const rows = tables.map((stored) => {
      const p = stored ? (live.get(stored.table) ?? stored) : null;
      return [
        status.name,
        status.phase,
        p?.table ?? null,
        text(p?.rowsDone),
        text(p?.rowsTotal),
        text(p?.rowsPerSecond),
        text(p?.etaSeconds),
        text(p?.batchSize),
        String(throttled),
        control.throttle.isPaused ? 'paused by operator' : throttle.reason,
        text(this.latency.quantileMs(0.99, CLIENT_P99_WINDOW_S, MIN_QUANTILE_SAMPLES), 2),
        text(throttle.baselineP99Ms, 2),
        throttle.controller,
        backfilling ? text(throttle.targetRate) : null,
        backfilling ? text(throttle.latencyCost, 2) : null,
        backfilling ? text(throttle.floorP99Ms, 2) : null,
        backfilling ? throttle.lastChange : null,
      ];
    });
    return { columns, rows, tag: 'SHOW' };
  }

  private async migrations(control: MigrationControl): Promise<LocalResult> {
    const history = await control.history();
    return {
      columns: adminResultColumns({ kind: 'show-migrations' }),
      rows: history.map(({ status: s, report: r }) => [
        s.name,
        s.phase,
        s.parent,
        time(s.createdAt),
        time(s.activeAt),
        time(s.completedAt),
        text(r?.beforeP50Ms, 2),
        text(r?.beforeP99Ms, 2),
        text(r?.duringP50Ms, 2),
        text(r?.duringP99Ms, 2),
        text(r?.afterP50Ms, 2),
        text(r?.afterP99Ms, 2),
        s.error,
      ]),
      tag: 'SHOW',
    };
  }

  /** Every live proxy's sessions: this proxy's as they are now, the others' as of their last heartbeat. */
  private async sessions(): Promise<LocalResult> {
    const fleet = this.fleet();
    const self = fleet?.id ?? null;
    const rows: (string | null)[][] = this.registry
      .list()
      .map(({ info: i }) => [
        String(i.id),
        i.user,
        i.database,
        i.clientAddress,
        i.applicationName,
        i.boundVersion,
        time(i.connectedAt),
        String(i.statements),
        text(i.latency.quantileMs(0.99), 2),
        String(!i.ranClientStatements),
        self,
      ]);
    if (fleet) {
      const others = await fleet.live().catch((err: Error) => {
        log.warn('SHOW SHIFTGATE SESSIONS shows this proxy only: the fleet cannot be read', {
          error: err.message,
        });
        return [];
      });
      for (const p of others) {
        if (p.id === fleet.id) continue;
        for (const s of p.sessions) {
          rows.push([
            String(s.id),
            s.user,
            s.database,
            s.clientAddress,
            s.applicationName,
            s.version,
            s.connectedAt,
            String(s.statements),
            text(s.p99Ms, 2),
            String(s.adminOnly),
            p.id,
          ]);
        }
      }
    }
    return { columns: adminResultColumns({ kind: 'show-sessions' }), rows, tag: 'SHOW' };
  }

  /** The live proxies of the fleet, from their heartbeats. */
  private async proxies(): Promise<LocalResult> {
    const columns = adminResultColumns({ kind: 'show-proxies' });
    const fleet = this.fleet();
    if (!fleet) return { columns, rows: [], tag: 'SHOW' };
    let live: LiveProxy[];
    try {
      live = await fleet.live();
    } catch (err) {
      throw clientError(
        'internal',
        `the fleet cannot be read from the state store: ${(err as Error).message}`,
      );
    }
    return {
      columns,
      rows: live.map((p) => [
        p.id,
        p.host,
        p.listen,
        p.peer,
        String(p.pid),
        p.shiftgateVersion,
        time(p.startedAt),
        text(p.heartbeatAgeMs),
        String(p.sessions.length),
        sessionsByVersion(p),
        text(p.latency.p99Ms, 2),
        p.running,
      ]),
      tag: 'SHOW',
    };
  }
}

/** `version=count` pairs, most sessions first (the schema before any migration shows as `(none)`). */
function sessionsByVersion(p: LiveProxy): string {
  const counts = new Map<string, number>();
  for (const s of p.sessions) counts.set(s.version ?? '(none)', (counts.get(s.version ?? '(none)') ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([v, n]) => `${v}=${n}`)
    .join(', ');
}

function phaseResult(tag: string, s: MigrationStatus, message: string): LocalResult {
  return {
    columns: adminResultColumns({ kind: 'start', name: s.name }),
    rows: [[s.name, s.phase, message]],
    tag,
  };
}
