/**
 * A database URL as it may be shown on screen or in a log: the password
 * replaced by `***`. Text that does not parse as a URL is masked by pattern.
 *
 * @example
 * maskPassword('postgres://app:s3cret@db:5432/appdb') // postgres://app:***@db:5432/appdb
 */
export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    // The last '@' ends the user info: a password may contain unencoded '@' or ':'.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@');
  }
}
