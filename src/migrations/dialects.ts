/**
 * The migration driver for a URL. Engines and their URL schemes are listed
 * once, in `src/dialects/index.ts`.
 */
import { migrationDialectForUrl } from '../dialects/index.ts';
import type { MigrationDialect } from './dialect.ts';
import { MigrationError } from './errors.ts';

export function migrationDialectFor(url: string): MigrationDialect {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MigrationError(`not a database URL: ${url}`);
  }
  const dialect = migrationDialectForUrl(parsed);
  if (!dialect)
    throw new MigrationError(
      `migrations are not supported for "${parsed.protocol}" URLs (postgres:// and mysql:// are)`,
    );
  return dialect;
}
