import type { HttpAnswer } from '../metrics/http.ts';

/**
 * What `shiftgate serve` with `proxy.workers` passes between the primary and
 * its workers. The environment tells a process it is a worker (so the
 * command line, which the workers rerun, needs no flag of its own).
 */
export const WORKER_SLOT_ENV = 'SHIFTGATE_WORKER_SLOT';
/** The upstream the primary resolved (the embedded PostgreSQL it started, or the configured one). */
export const WORKER_UPSTREAM_ENV = 'SHIFTGATE_WORKER_UPSTREAM';

/** A worker listens and is a fleet member: clients can be handed to it. */
export interface WorkerReady {
  type: 'shiftgate:worker-ready';
  /** The listen address as HOST:PORT. */
  listen: string;
  proxyId: string;
}

/** The admin HTTP endpoint (in the primary) asks a worker for /healthz or a dashboard route. */
export interface HttpRequest {
  type: 'shiftgate:http-request';
  id: number;
  request: { kind: 'probe' } | { kind: 'route'; path: string; query: string; host: string | undefined };
}

export interface HttpReply {
  type: 'shiftgate:http-reply';
  id: number;
  /** The route's answer (null: not a route of the dashboard); absent for a probe that succeeded. */
  answer?: HttpAnswer | null;
  error?: string;
}

export type WorkerMessage = WorkerReady | HttpReply;

export function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}
