import type { Config } from '../config/schema.ts';
import type { MigrationStatus } from '../migrations/index.ts';
import { clientError } from '../proxy/client-error.ts';
import { type LatencyRecorder, MIN_QUANTILE_SAMPLES } from '../proxy/latency-recorder.ts';
import type { SessionInfo } from '../proxy/session.ts';
import type { SessionRegistry } from '../proxy/session-registry.ts';
import type { LocalResult } from '../proxy/statement-router.ts';
import { CLIENT_P99_WINDOW_S } from '../throttle/controller.ts';
import { setKnob } from '../throttle/knobs.ts';
import type { AdminCommand } from './command.ts';
import type { MigrationControl } from './migration-control.ts';
import { adminResultColumns } from './result-columns.ts';

const COMMAND_NAMES: Record<AdminCommand['kind'], string> = {
  'show-status': 'SHOW SHIFTGATE STATUS',
  'show-migrations': 'SHOW SHIFTGATE MIGRATIONS',
  'show-sessions': 'SHOW SHIFTGATE SESSIONS',
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
      case 'start': {
        const s = await control.start(command.name);
        return phaseResult('SHIFTGATE START', s, 'started; the backfill runs in the background');
      }
      case 'pause':
        control.pause();
        return { columns: adminResultColumns(command), rows: [['backfill paused']], tag: 'SHIFTGATE PAUSE' };
      case 'resume':
        control.resume();
        return {
          columns: adminResultColumns(command),
          rows: [['backfill resumed']],
          tag: 'SHIFTGATE RESUME',
        };
      case 'set': {
        control.throttle.knobs = setKnob(control.throttle.knobs, command.knob, command.value);
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
        const s = await control.rollback();
        return phaseResult('SHIFTGATE ROLLBACK', s, 'rolled back');
      }
    }
  }

  /** Client sessions (not admin-only) of the managed database bound to a version other than `version`. */
  private retiringSessions(version: string) {
    return this.registry
      .list()
      .map((s) => s.info)
      .filter(
        (i) =>
          i.ranClientStatements &&
          i.boundVersion !== version &&
          (this.managedDatabase === null || i.database === this.managedDatabase),
      )
      .map((i) => ({
        id: i.id,
        user: i.user,
        address: i.clientAddress,
        version: i.boundVersion ?? '(none)',
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

  private sessions(): LocalResult {
    return {
      columns: adminResultColumns({ kind: 'show-sessions' }),
      rows: this.registry
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
        ]),
      tag: 'SHOW',
    };
  }
}

function phaseResult(tag: string, s: MigrationStatus, message: string): LocalResult {
  return {
    columns: adminResultColumns({ kind: 'start', name: s.name }),
    rows: [[s.name, s.phase, message]],
    tag,
  };
}
