import type { MigrationControl } from '../admin/migration-control.ts';
import type { LatencyRecorder } from '../proxy/latency-recorder.ts';
import type { SessionRegistry } from '../proxy/session-registry.ts';
import type { ThrottleController } from '../throttle/controller.ts';

/** What the dashboard reads: the same objects the admin console answers from, never anything it could change. */
export interface DashboardSources {
  dialect: string;
  /** The migration control, or why there is none yet (no support for the engine, database unreachable). */
  control(): MigrationControl | string;
  sessions: SessionRegistry;
  latency: LatencyRecorder;
  throttle: ThrottleController;
}
