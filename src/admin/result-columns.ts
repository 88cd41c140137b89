import type { AdminCommand } from './command.ts';

/**
 * The columns of each admin command's result set. They depend on the
 * command alone, so a prepared admin command can be described before it
 * runs (it runs at every execution).
 */
const COLUMNS: Record<AdminCommand['kind'], readonly string[]> = {
  'show-status': [
    'name',
    'phase',
    'table',
    'rows_done',
    'rows_total',
    'rows_per_s',
    'eta_s',
    'batch_size',
    'throttled',
    'throttle_reason',
    'client_p99_ms',
    'baseline_p99_ms',
    'controller',
    'target_rate',
    'latency_cost',
    'floor_p99_ms',
    'last_change',
  ],
  'show-migrations': [
    'name',
    'phase',
    'parent',
    'started',
    'active',
    'completed',
    'p50_before_ms',
    'p99_before_ms',
    'p50_during_ms',
    'p99_during_ms',
    'p50_after_ms',
    'p99_after_ms',
    'error',
  ],
  'show-sessions': [
    'id',
    'user',
    'database',
    'client_address',
    'application_name',
    'version',
    'connected_at',
    'statements',
    'p99_ms',
    'admin_only',
    'proxy',
  ],
  'show-proxies': [
    'proxy',
    'host',
    'listen',
    'peer',
    'pid',
    'shiftgate_version',
    'started_at',
    'heartbeat_age_ms',
    'sessions',
    'sessions_by_version',
    'p99_ms',
    'runs_migration',
  ],
  start: ['name', 'phase', 'status'],
  complete: ['name', 'phase', 'status'],
  rollback: ['name', 'phase', 'status'],
  pause: ['status'],
  resume: ['status'],
  set: ['knob', 'value'],
};

export function adminResultColumns(command: AdminCommand): string[] {
  return [...COLUMNS[command.kind]];
}
