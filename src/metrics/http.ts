import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../proxy/listen-address.ts';

export interface AdminHttp {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/**
 * The admin HTTP endpoint: `GET /metrics` (Prometheus text format) and
 * `GET /healthz` (200 while `probe` succeeds, 503 with the reason when it
 * does not).
 */
export async function startAdminHttp(
  listen: string,
  registry: Registry,
  probe: () => Promise<void>,
): Promise<AdminHttp> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
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
      probe().then(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'),
        (err: Error) =>
          res.writeHead(503, { 'content-type': 'text/plain' }).end(`upstream unreachable: ${err.message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
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
