/**
 * Starts a MySQL-dialect Shiftgate in the test process, in front of the
 * shared MariaDB (or any URL), on a free port.
 */
import { loadConfig } from '../../src/config/load.ts';
import { mysqlDialect } from '../../src/dialects/mysql/index.ts';
import { type RunningProxy, startProxy } from '../../src/proxy/server.ts';
import type { StatementRouter } from '../../src/proxy/statement-router.ts';
import { MYSQL_URL } from '../helpers/databases.ts';

export interface MysqlProxy {
  proxy: RunningProxy;
  host: string;
  port: number;
  /** `mysql://` URL of the proxy with the given database (and the upstream's user). */
  url(database?: string): string;
  stop(): Promise<void>;
}

export async function startMysqlProxy(
  options: { upstream?: string; flags?: Record<string, string>; router?: StatementRouter } = {},
): Promise<MysqlProxy> {
  const upstream = options.upstream ?? MYSQL_URL;
  const config = loadConfig({ env: {}, flags: { upstream, listen: '127.0.0.1:0', ...options.flags } });
  const proxy = await startProxy({
    config,
    dialect: mysqlDialect,
    upstream: new URL(upstream),
    router: options.router,
  });
  const { port } = proxy.address;
  return {
    proxy,
    host: '127.0.0.1',
    port,
    url(database = '') {
      const u = new URL(upstream);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      u.pathname = `/${database}`;
      u.search = '';
      return u.toString();
    },
    stop: () => proxy.shutdown(2000),
  };
}
