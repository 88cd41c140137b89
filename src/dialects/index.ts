import type { WireDialect } from '../proxy/dialect.ts';
import { mysqlDialect } from './mysql/index.ts';
import { postgresWireDialect } from './postgres/index.ts';

/**
 * Picks the dialect from the upstream URL's scheme. This is the one place
 * that maps a scheme to an engine.
 */
export function dialectForUrl(url: URL): WireDialect {
  switch (url.protocol) {
    case 'postgres:':
    case 'postgresql:':
      return postgresWireDialect;
    case 'mysql:':
    case 'mariadb:':
      return mysqlDialect;
    default:
      throw new Error(`no dialect for upstream scheme '${url.protocol}' (expected postgres:// or mysql://)`);
  }
}
