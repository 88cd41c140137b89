import type { SecureContext } from 'node:tls';
import type { Config } from '../config/schema.ts';
import type { ProxyMetrics } from '../metrics/registry.ts';
import type { FleetSessions } from './fleet-sessions.ts';
import type { LatencyRecorder } from './latency-recorder.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { StatementRouter } from './statement-router.ts';

/** What every session of one running proxy shares. */
export interface ProxyContext {
  readonly config: Config;
  /** The parsed upstream URL (credentials, host, port, database, TLS parameters). */
  readonly upstream: URL;
  readonly registry: SessionRegistry;
  /** Client statement latency, proxy-wide; the throttle reads it. */
  readonly latency: LatencyRecorder;
  readonly metrics: ProxyMetrics;
  /** Set when `tls.cert` and `tls.key` are configured: the proxy terminates client TLS. */
  readonly clientTls: SecureContext | null;
  /** Admin commands, version binding and translation; null passes every statement through. */
  readonly router: StatementRouter | null;
  /** The other proxies' sessions, for a cancel or KILL of a session this proxy does not serve; null outside a fleet. */
  readonly fleet: FleetSessions | null;
  /** True once SIGTERM drain has begun: sessions close at their next idle point. */
  readonly draining: boolean;
}
