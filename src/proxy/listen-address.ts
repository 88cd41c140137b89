/** Splits `HOST:PORT` (IPv6 hosts in brackets) as used by `listen` and `http`. */
export function parseHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(value.slice(i + 1)) };
}
