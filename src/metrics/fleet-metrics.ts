import { Gauge, type Registry } from 'prom-client';
import type { LiveProxy } from '../fleet/heartbeat.ts';
import { SHARED_STATE } from './worker-aggregation.ts';

/**
 * The fleet as this proxy last read it (its heartbeat reads the live
 * proxies every beat): every proxy's sessions by version and its client
 * p99, so one scrape of any proxy shows the whole fleet (with workers,
 * every worker reads the same heartbeats: not added up).
 */
export function registerFleetMetrics(registry: Registry, view: () => readonly LiveProxy[]): void {
  new Gauge({
    name: 'shiftgate_fleet_proxies',
    help: 'Live proxies of the fleet (heartbeat younger than fleet.heartbeat_timeout_ms)',
    registers: [registry],
    aggregator: SHARED_STATE,
    collect() {
      this.set(view().length);
    },
  });
  new Gauge({
    name: 'shiftgate_fleet_sessions',
    help: 'Client sessions of every live proxy, by proxy and by the schema version they are bound to',
    labelNames: ['proxy', 'version'] as const,
    registers: [registry],
    aggregator: SHARED_STATE,
    collect() {
      this.reset();
      for (const p of view()) {
        for (const s of p.sessions) this.labels(p.id, s.version ?? '(none)').inc();
      }
    },
  });
  new Gauge({
    name: 'shiftgate_fleet_client_p99_seconds',
    help: "Client statement p99 of each live proxy over its heartbeat's latency window",
    labelNames: ['proxy'] as const,
    registers: [registry],
    aggregator: SHARED_STATE,
    collect() {
      this.reset();
      for (const p of view()) {
        const p99 = p.latency.p99Ms;
        this.labels(p.id).set(p99 === null ? Number.NaN : p99 / 1000);
      }
    },
  });
  new Gauge({
    name: 'shiftgate_fleet_heartbeat_age_seconds',
    help: "Age of each live proxy's last heartbeat when this proxy last read the fleet",
    labelNames: ['proxy'] as const,
    registers: [registry],
    aggregator: SHARED_STATE,
    collect() {
      this.reset();
      for (const p of view()) this.labels(p.id).set(p.heartbeatAgeMs / 1000);
    },
  });
}
