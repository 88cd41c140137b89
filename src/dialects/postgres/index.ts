import type { Socket } from 'node:net';
import pg from 'pg';
import type { ProxyContext } from '../../proxy/context.ts';
import type { WireDialect } from '../../proxy/dialect.ts';
import { acceptPeerCancel } from './peer-cancel.ts';
import { PgSession } from './session.ts';
import { createPgSqlTranslator } from './sql-translator.ts';

/** The PostgreSQL wire dialect: protocol 3.0 relay, one upstream backend per client session. */
export const postgresWireDialect: WireDialect = {
  name: 'postgres',
  defaultListenPort: 6432,
  createTranslator: createPgSqlTranslator,
  accept(socket: Socket, ctx: ProxyContext) {
    return new PgSession(socket, ctx);
  },
  acceptPeer: acceptPeerCancel,
  async probeUpstream(ctx: ProxyContext) {
    const client = new pg.Client({
      connectionString: ctx.upstream.toString(),
      connectionTimeoutMillis: ctx.config.proxy.connect_timeout_ms,
      application_name: 'shiftgate-healthz',
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => {});
    }
  },
};
