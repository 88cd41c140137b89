/**
 * The migration dialects Shiftgate knows; a URL's scheme picks one. Adding
 * an engine means adding its dialect object here, nothing else.
 */
import { postgresMigrationDialect } from '../dialects/postgres/migration-driver.ts';
import type { MigrationDialect } from './dialect.ts';
import { MigrationError } from './errors.ts';

export const migrationDialects: readonly MigrationDialect[] = [postgresMigrationDialect];

export function migrationDialectFor(url: string): MigrationDialect {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new MigrationError(`not a database URL: ${url}`);
  }
  const dialect = migrationDialects.find((d) => d.urlSchemes.includes(scheme));
  if (!dialect)
    throw new MigrationError(
      `no migration dialect for "${scheme}" URLs (known: ${migrationDialects.flatMap((d) => d.urlSchemes).join(' ')})`,
    );
  return dialect;
}
