import { hostname } from 'node:os';
import { AdminConsole } from '../admin/console.ts';
import { MigrationControl } from '../admin/migration-control.ts';
import type { Config } from '../config/schema.ts';
import { DashboardApi } from '../dashboard/api.ts';
import { PhaseLog } from '../dashboard/phase-log.ts';
import { dashboardRoutes } from '../dashboard/routes.ts';
import { SeriesSampler } from '../dashboard/sampler.ts';
import { SeriesRing } from '../dashboard/series.ts';
import { connectFleetStore, dialectForUrl, migrationDialectForUrl } from '../dialects/index.ts';
import { FleetMember } from '../fleet/member.ts';
import { FleetMemberSessions } from '../fleet/remote-sessions.ts';
import { shiftgateVersion } from '../fleet/shiftgate-version.ts';
import { fleetSessionOf, latencySummaryOf } from '../fleet/snapshot.ts';
import { registerFleetMetrics } from '../metrics/fleet-metrics.ts';
import { type AdminHttp, type HttpRoutes, startAdminHttp } from '../metrics/http.ts';
import { MigrationMetrics } from '../metrics/migration-metrics.ts';
import { ProxyMetrics } from '../metrics/registry.ts';
import type { MigrationDialect } from '../migrations/dialect.ts';
import { MigrationError } from '../migrations/errors.ts';
import { LatencyRecorder, MIN_QUANTILE_SAMPLES } from '../proxy/latency-recorder.ts';
import { parseHostPort } from '../proxy/listen-address.ts';
import { log } from '../proxy/log.ts';
import { ShiftgateRouter } from '../proxy/router.ts';
import { type RunningProxy, startProxy } from '../proxy/server.ts';
import { SessionRegistry } from '../proxy/session-registry.ts';
import { ProxySwitchGate } from '../proxy/switch-hold.ts';
import { CLIENT_P99_WINDOW_S, ThrottleController } from '../throttle/controller.ts';
import { fleetClientP99, heartbeatLatencyWindowS } from '../throttle/fleet-client-p99.ts';
import { applyFleetControls } from '../throttle/fleet-controls.ts';
import { VersionFollower } from '../versions/follower.ts';

export interface Shiftgate {
  proxy: RunningProxy;
  http: AdminHttp | null;
  /** The JSON behind the dashboard page (also served under /api/ when the HTTP endpoint runs). */
  dashboard: DashboardApi;
  router: ShiftgateRouter;
  control: MigrationControl | null;
  /** This proxy as a member of the fleet (its heartbeat in the state store). */
  fleet: FleetMember;
  /** What the admin HTTP endpoint answers besides /metrics; a worker answers them for the primary's endpoint. */
  adminHttp: { probe: () => Promise<void>; routes: HttpRoutes };
  /** Drains the proxy (SIGTERM semantics) and releases everything. */
  stop(): Promise<void>;
}

/**
 * The composition root: the proxy for the upstream's dialect, its router
 * (admin console, version binding, translation), the migration control and
 * throttle, the version follower and the admin HTTP endpoint.
 *
 * @example
 * const sg = await startShiftgate(config, 'postgres://app@db/appdb');
 * // clients connect to sg.proxy.address.port
 * await sg.stop();
 */
export async function startShiftgate(
  config: Config,
  upstreamUrl: string,
  options: {
    http?: boolean;
    /**
     * This process is worker N of `proxy.workers`: its fleet id ends in `/wN`,
     * and it opens no HTTP endpoint (the primary's answers for the group).
     */
    worker?: number;
  } = {},
): Promise<Shiftgate> {
  const upstream = new URL(upstreamUrl);
  const dialect = dialectForUrl(upstream);
  const metrics = new ProxyMetrics();
  const latency = new LatencyRecorder(config.proxy.latency_window_s);
  const registry = new SessionRegistry();
  const startedAt = new Date();
  let fleet: FleetMember | null = null;
  const host = hostname();
  const workerSuffix = options.worker === undefined ? '' : `/w${options.worker}`;
  // Until the proxy listens (its port is part of the default id), the runner is named by host and pid.
  const fleetId = () =>
    fleet?.id ??
    (config.fleet.proxy_id ? `${config.fleet.proxy_id}${workerSuffix}` : `${host} (pid ${process.pid})`);

  const translator = dialect.createTranslator ? await dialect.createTranslator() : null;
  if (translator) metrics.translationCacheCounts = () => translator.cacheCounters();
  let control: MigrationControl | null = null;
  const clientP99Ms = (seconds: number = CLIENT_P99_WINDOW_S) =>
    latency.quantileMs(0.99, seconds, MIN_QUANTILE_SAMPLES);
  // The throttle protects the clients that fare worst anywhere in the fleet, not only this proxy's.
  const worstClientP99 = fleetClientP99(clientP99Ms, () => fleet, {
    heartbeatMs: config.fleet.heartbeat_ms,
    minSamples: MIN_QUANTILE_SAMPLES,
  });
  const throttle = new ThrottleController(config.throttle, {
    clientP99: (seconds = CLIENT_P99_WINDOW_S) => worstClientP99(seconds),
    replicaLagMs: () => control?.replicaLagMs ?? null,
  });
  const migrationMetrics = new MigrationMetrics(metrics.registry, {
    inFlight: async () => {
      const s = await control?.status();
      return s ? { name: s.name, phase: s.phase } : null;
    },
    throttle: () => ({ ...throttle.state, paused: throttle.isPaused }),
    throttleChanges: () => throttle.changes,
    clientP99Ms: () => clientP99Ms(),
    sessions: registry,
  });

  // When each phase began, for the dashboard's timeline: the state store keeps only a few dates.
  const phases = new PhaseLog();
  let follower: VersionFollower | null = null;
  let unavailable = 'migrations are not supported for this upstream yet';
  let retry: NodeJS.Timeout | null = null;
  const managedDatabase = decodeURIComponent(upstream.pathname.replace(/^\//, '')) || null;
  const adminConsole = new AdminConsole(
    config,
    registry,
    latency,
    () => control ?? unavailable,
    managedDatabase,
    // A phase shown by SHOW SHIFTGATE STATUS is already the one this proxy translates by.
    async () => {
      await follower?.refresh().catch(() => {});
    },
    () => fleet,
  );
  const router = new ShiftgateRouter(config, adminConsole, translator, metrics);

  /** The migration side needs the database; while it is unreachable the proxy relays and retries. */
  async function connectMigrations(migrationDialect: MigrationDialect): Promise<void> {
    let opening = true;
    try {
      const opened = await MigrationControl.open({
        config,
        url: upstreamUrl,
        dialect: migrationDialect,
        throttle,
        latency,
        worstClientP99,
        onChange: () => void follower?.refresh().catch(() => {}),
        onBatch: (report) => migrationMetrics.onBatch(report),
        onProgress: (progress) => migrationMetrics.onProgress(progress),
        onPhase: (migration, phase) => phases.observe(migration, phase),
        runner: fleetId,
        switchGate: new ProxySwitchGate({
          router,
          registry,
          refresh: () => follower?.refresh() ?? Promise.reject(new Error('no version follower yet')),
        }),
      });
      opening = false;
      opened.startReplicaLagPolling();
      opened.startLeaseWatch(config.fleet.heartbeat_ms);
      // Through the control, which opens the status connection again after a database restart.
      follower = new VersionFollower(
        {
          versions: async () => (await opened.readEngine()).versions(),
          introspect: async () => (await opened.readEngine()).introspect(),
          nameResolution: async (names) => (await opened.readEngine()).nameResolution(names),
          subscribe: (listener) => opened.onStateChange(listener),
        },
        (map, history) => {
          const inFlight = history.versions.find((v) => v.version === history.inFlight);
          // Until expand and backfill are done, the new version's columns are not ready to be written.
          router.setCompletedMigrations(
            history.versions
              .filter((v) => v.phase === 'completed')
              .map((v) => ({
                name: v.version,
                completedAt: v.completedAt,
                tables: new Set([...v.before, ...v.after].flatMap((t) => [t.name, t.physical])),
              })),
          );
          router.setVersionMap(
            map,
            inFlight && inFlight.phase !== 'active' && inFlight.phase !== 'contracting'
              ? inFlight.version
              : null,
            history.inFlight,
          );
        },
        undefined,
        log,
      );
      await follower.start();
      control = opened;
      await opened.resumeInterrupted();
    } catch (err) {
      if (opening && err instanceof MigrationError) {
        // The upstream URL itself rules migrations out (a MySQL URL naming no database): retrying cannot help.
        unavailable = `migrations are not available for this upstream: ${err.message}`;
        log.warn('migrations are not available for this upstream; the proxy relays only', {
          error: err.message,
        });
        return;
      }
      unavailable = `the migration engine cannot reach the database (${(err as Error).message}); retrying`;
      log.warn('migration engine not connected; retrying', { error: (err as Error).message });
      retry = setTimeout(() => void connectMigrations(migrationDialect), 2000);
      retry.unref();
    }
  }
  const migrationDialect = migrationDialectForUrl(upstream);
  if (migrationDialect) {
    await connectMigrations(migrationDialect);
  } else {
    log.warn('migrations are not supported for this upstream yet; the proxy relays only', {
      dialect: dialect.name,
    });
  }

  const proxy = await startProxy({
    config,
    dialect,
    upstream,
    metrics,
    latency,
    registry,
    router,
    fleet: new FleetMemberSessions(() => fleet, config.proxy.connect_timeout_ms),
  });
  const listen = `${proxy.address.address}:${proxy.address.port}`;
  const heartbeatWindowS = heartbeatLatencyWindowS(config.fleet.heartbeat_ms, config.proxy.latency_window_s);
  const member = new FleetMember({
    scope: managedDatabase ?? '',
    identity: {
      id: `${config.fleet.proxy_id ?? `${host}:${proxy.address.port}`}${workerSuffix}`,
      host,
      listen,
      peer: proxy.peer,
      shiftgateVersion: shiftgateVersion(),
      pid: process.pid,
      startedAt,
    },
    connect: () => connectFleetStore(upstreamUrl),
    snapshot: () => ({
      sessions: registry.list().map((s) => fleetSessionOf(s.info)),
      latency: latencySummaryOf(latency, heartbeatWindowS, MIN_QUANTILE_SAMPLES),
      running: control?.runningMigration ?? null,
    }),
    intervalMs: config.fleet.heartbeat_ms,
    timeoutMs: config.fleet.heartbeat_timeout_ms,
    onControls: (controls, changed) => {
      if (changed) applyFleetControls(throttle, controls);
      control?.setRollbackRequest(controls.rollback);
      if (controls.rollback !== null) void settleRollbackRequest(controls.rollback);
    },
  });
  /** A rollback request whose migration is no longer in flight has been carried out: it is cleared. */
  async function settleRollbackRequest(name: string): Promise<void> {
    try {
      if (!control || (await control.status())?.name === name) return;
      await member.changeControls({ rollback: null });
    } catch (err) {
      log.debug('rollback request not cleared yet', { error: (err as Error).message });
    }
  }
  fleet = member;
  member.start();
  registerFleetMetrics(metrics.registry, () => member.lastView);
  // Ten minutes at one point a second: what a freshly opened dashboard shows at once.
  const series = new SeriesRing(600);
  const dashboard = new DashboardApi(
    { dialect: dialect.name, control: () => control ?? unavailable, sessions: registry, latency, throttle },
    series,
    phases,
  );
  const adminHttp = {
    probe: () => dialect.probeUpstream(proxy.ctx),
    routes: dashboardRoutes(dashboard, { loopbackOnly: isLoopback(parseHostPort(config.http).host) }),
  };
  const listensHttp = options.http !== false && options.worker === undefined;
  // A worker samples too: the primary's dashboard shows a worker's series.
  const sampler =
    options.http !== false || options.worker !== undefined
      ? new SeriesSampler(dashboard.sources, dashboard, series)
      : null;
  sampler?.start();
  const http = listensHttp
    ? await startAdminHttp(config.http, metrics.registry, adminHttp.probe, adminHttp.routes)
    : null;

  return {
    proxy,
    http,
    dashboard,
    router,
    get control() {
      return control;
    },
    fleet: member,
    adminHttp,
    async stop() {
      if (retry) clearTimeout(retry);
      sampler?.stop();
      await proxy.shutdown();
      // After the drain: sessions still draining are the fleet's to see until they are gone.
      await member.stop();
      follower?.stop();
      await control?.close();
      await http?.close();
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
