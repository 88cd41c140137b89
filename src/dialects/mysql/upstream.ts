/**
 * The upstream URL and the few connections Shiftgate opens itself (the
 * probe, KILL QUERY on behalf of a client that vanished mid-statement),
 * all through `mysql2`.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import mysql from 'mysql2/promise';

export interface MysqlUpstream {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string | null;
  /** TLS to the upstream, or null for a clear connection. */
  tls: TlsConnectionOptions | null;
}

const TLS_MODES_ON = new Set([
  'required',
  'require',
  'verify_ca',
  'verify-ca',
  'verify_identity',
  'verify-full',
  'verify_full',
]);

/**
 * Reads `mysql://user:pass@host:3306/db?ssl-mode=REQUIRED`. TLS parameters:
 * `ssl-mode` / `sslmode` (DISABLED, PREFERRED, REQUIRED, VERIFY_CA,
 * VERIFY_IDENTITY), `ssl=true`, `ssl-ca=/path/ca.pem`. REQUIRED encrypts
 * without checking the certificate, as the mysql client does.
 *
 * @example
 * parseMysqlUpstream(new URL('mysql://root@127.0.0.1:3306/app')).port; // 3306
 */
export function parseMysqlUpstream(url: URL): MysqlUpstream {
  const p = url.searchParams;
  const mode = (p.get('ssl-mode') ?? p.get('sslmode') ?? p.get('ssl_mode') ?? '').toLowerCase();
  const sslFlag = (p.get('ssl') ?? '').toLowerCase();
  const wantsTls = TLS_MODES_ON.has(mode) || sslFlag === 'true' || sslFlag === '1';
  const verify = mode.startsWith('verify');
  const caPath = p.get('ssl-ca') ?? p.get('sslrootcert');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  let tls: TlsConnectionOptions | null = null;
  if (wantsTls) {
    tls = { rejectUnauthorized: verify };
    if (caPath) tls.ca = readFileSync(caPath);
    if (mode === 'verify_identity' || mode === 'verify-full' || mode === 'verify_full') tls.servername = host;
    else tls.checkServerIdentity = () => undefined;
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    host,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database === '' ? null : database,
    tls,
  };
}

/** A short-lived `mysql2` connection with the upstream URL's own credentials. */
export async function openAdminConnection(
  upstream: MysqlUpstream,
  timeoutMs: number,
): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: upstream.host,
    port: upstream.port,
    user: upstream.user,
    password: upstream.password,
    ...(upstream.database ? { database: upstream.database } : {}),
    connectTimeout: timeoutMs,
    ...(upstream.tls ? { ssl: upstream.tls as mysql.SslOptions } : {}),
  });
}

/** Stops the statement running on upstream connection `threadId` (best effort; resolves false on failure). */
export async function killUpstreamQuery(
  upstream: MysqlUpstream,
  threadId: number,
  timeoutMs: number,
): Promise<boolean> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await openAdminConnection(upstream, timeoutMs);
    await conn.query(`KILL QUERY ${threadId >>> 0}`);
    return true;
  } catch {
    return false;
  } finally {
    await conn?.end().catch(() => undefined);
  }
}
