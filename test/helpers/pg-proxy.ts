/** Starts a PostgreSQL proxy in this process, in front of a real server. */
import { loadConfig } from '../../src/config/load.ts';
import { postgresWireDialect } from '../../src/dialects/postgres/index.ts';
import { type RunningProxy, startProxy } from '../../src/proxy/server.ts';

export interface TestPgProxy {
  proxy: RunningProxy;
  port: number;
  /** `url` (a database URL on the real server) rewritten to go through the proxy. */
  via(url: string): string;
  stop(): Promise<void>;
}

export async function startPgProxy(
  upstream: string,
  flags: Record<string, string> = {},
): Promise<TestPgProxy> {
  const config = loadConfig({ env: {}, flags: { upstream, listen: '127.0.0.1:0', ...flags } });
  const proxy = await startProxy({ config, dialect: postgresWireDialect, upstream: new URL(upstream) });
  const port = proxy.address.port;
  return {
    proxy,
    port,
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    stop: () => proxy.shutdown(2000),
  };
}
