import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../proxy/listen-address.ts';

/** An answer of an extra route of the admin endpoint. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Extra GET routes (the dashboard): an answer for `path`, or null when the
 * path is not theirs (known at once, or once asked, when another process answers).
 */
export type HttpRoutes = (
  path: string,
  query: URLSearchParams,
  host: string | undefined,
) => Promise<HttpAnswer | null> | null;

/** Where /metrics reads its text: one registry, or the aggregate of a process group's. */
export type MetricsSource = Pick<Registry, 'metrics' | 'contentType'>;

export interface AdminHttp {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** How long one upstream probe answers /healthz for. */
const PROBE_TTL_MS = 1000;

/**
 * `probe` run at most once per `ttlMs`: callers inside the window share the
 * last answer (or the probe in flight), so /healthz polled at any rate opens
 * at most one upstream connection a second.
 */
export function cachedProbe(probe: () => Promise<void>, ttlMs = PROBE_TTL_MS): () => Promise<void> {
  let result: Promise<void> | null = null;
  /** When the last probe settled; Infinity while one is in flight (a slow upstream is not probed twice). */
  let settledAt = Number.NEGATIVE_INFINITY;
  return () => {
    if (result && performance.now() - settledAt < ttlMs) return result;
    settledAt = Number.POSITIVE_INFINITY;
    const current = probe();
    const settle = () => {
      settledAt = performance.now();
    };
    // Handled by every caller; this also keeps a cached failure from counting as unhandled.
    current.then(settle, settle);
    result = current;
    return current;
  };
}

/**
 * The admin HTTP endpoint: `GET /metrics` (Prometheus text format) and
 * `GET /healthz` (200 while `probe` succeeds, 503 with the reason when it
 * does not; answered from a one-second cache of the probe), then `routes`.
 * GET only: nothing on this port changes the proxy.
 */
export async function startAdminHttp(
  listen: string,
  registry: MetricsSource,
  probe: () => Promise<void>,
  routes?: HttpRoutes,
): Promise<AdminHttp> {
  const health = cachedProbe(probe);
  const server: Server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    if (path === '/healthz') {
      health().then(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'),
        (err: Error) =>
          res.writeHead(503, { 'content-type': 'text/plain' }).end(`upstream unreachable: ${err.message}\n`),
      );
      return;
    }
    const notFound = () =>
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`not found: try /metrics or /healthz${routes ? ', / or /api/status' : ''}\n`);
    const answer = routes?.(path, new URLSearchParams(query), req.headers.host);
    if (!answer) {
      notFound();
      return;
    }
    answer.then(
      (a) => (a ? res.writeHead(a.status, a.headers).end(a.body) : notFound()),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  const { host, port } = parseHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
