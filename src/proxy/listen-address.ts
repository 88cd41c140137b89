import { networkInterfaces } from 'node:os';

/** Splits `HOST:PORT` (IPv6 hosts in brackets) as used by `listen` and `http`. */
export function parseHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(value.slice(i + 1)) };
}

/** Hosts that bind every interface and so name none another machine could connect to. */
function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The host other proxies reach a listener bound to `bound` at: `advertised`
 * when configured, else the bound host, else (a wildcard) this machine's
 * first external IPv4 address, or loopback on a machine without one.
 */
export function reachableHost(bound: string, advertised: string | null): string {
  if (advertised) return advertised;
  if (!isWildcard(bound)) return bound;
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
  return external?.address ?? '127.0.0.1';
}

/** `HOST:PORT` with an IPv6 host in brackets, as `parseHostPort` reads it. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
