/**
 * The MySQL / MariaDB wire dialect: one upstream connection per client
 * session, relayed packet by packet (see `session.ts`).
 */
import type { WireDialect } from '../../proxy/dialect.ts';
import { MysqlSession } from './session.ts';
import { createMysqlSqlTranslator } from './translate/index.ts';
import { openAdminConnection, parseMysqlUpstream } from './upstream.ts';

export const mysqlDialect: WireDialect = {
  name: 'mysql',
  defaultListenPort: 6033,
  createTranslator: () => createMysqlSqlTranslator(),
  accept(socket, ctx) {
    return new MysqlSession(socket, ctx);
  },
  async probeUpstream(ctx) {
    const conn = await openAdminConnection(
      parseMysqlUpstream(ctx.upstream),
      ctx.config.proxy.connect_timeout_ms,
    );
    try {
      await conn.ping();
    } finally {
      await conn.end().catch(() => undefined);
    }
  },
};

export { MysqlSession } from './session.ts';
