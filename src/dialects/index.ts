import type { FleetStore } from '../fleet/heartbeat.ts';
import type { MigrationDialect } from '../migrations/dialect.ts';
import { type EngineOptions, MigrationEngine } from '../migrations/engine.ts';
import { MigrationError } from '../migrations/errors.ts';
import type { AdminClient } from '../proxy/admin-client.ts';
import type { WireDialect } from '../proxy/dialect.ts';
import { connectMysqlAdminClient } from './mysql/admin-client.ts';
import { MysqlFleetStore } from './mysql/fleet-store.ts';
import { mysqlDialect } from './mysql/index.ts';
import { mysqlMigrationDialect } from './mysql/migration-driver.ts';
import { connectPgAdminClient } from './postgres/admin-client.ts';
import { PostgresFleetStore } from './postgres/fleet-store.ts';
import { postgresWireDialect } from './postgres/index.ts';
import { postgresMigrationDialect } from './postgres/migration-driver.ts';

/** Everything Shiftgate has for one engine, found by URL scheme. */
interface DialectEntry {
  schemes: readonly string[];
  wire: WireDialect;
  connectAdminClient(url: string): Promise<AdminClient>;
  /** The migration driver, or null while the engine has none (the proxy then only relays). */
  migration: MigrationDialect | null;
  /** The fleet's heartbeat rows in the upstream's state store, on a connection of their own. */
  connectFleetStore(url: string): Promise<FleetStore>;
}

/** The one place that maps a URL scheme to an engine. */
const DIALECTS: readonly DialectEntry[] = [
  {
    schemes: ['postgres:', 'postgresql:'],
    wire: postgresWireDialect,
    connectAdminClient: connectPgAdminClient,
    migration: postgresMigrationDialect,
    connectFleetStore: (url) => PostgresFleetStore.connect(url),
  },
  {
    schemes: ['mysql:', 'mariadb:'],
    wire: mysqlDialect,
    connectAdminClient: connectMysqlAdminClient,
    migration: mysqlMigrationDialect,
    connectFleetStore: (url) => MysqlFleetStore.connect(url),
  },
];

function entryFor(url: URL): DialectEntry {
  const entry = DIALECTS.find((d) => d.schemes.includes(url.protocol));
  if (!entry)
    throw new Error(`no dialect for URL scheme '${url.protocol}' (expected postgres:// or mysql://)`);
  return entry;
}

/** The wire dialect for an upstream URL. */
export function dialectForUrl(url: URL): WireDialect {
  return entryFor(url).wire;
}

/** Opens an admin connection to a running proxy with the driver its URL scheme asks for. */
export function connectAdminClient(url: string): Promise<AdminClient> {
  return entryFor(new URL(url)).connectAdminClient(url);
}

/** A migration engine on `options.url`, with the driver its scheme picks unless `options.dialect` is given. */
export function connectMigrationEngine(
  options: Omit<EngineOptions, 'dialect'> & { dialect?: MigrationDialect },
): Promise<MigrationEngine> {
  return MigrationEngine.connect({
    ...options,
    dialect: options.dialect ?? migrationDialectFor(options.url),
  });
}

/** The migration driver for a database URL; a MigrationError names what is wrong with it. */
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

/** The migration driver for a database URL, or null when migrations are not supported for its engine. */
export function migrationDialectForUrl(url: URL): MigrationDialect | null {
  return DIALECTS.find((d) => d.schemes.includes(url.protocol))?.migration ?? null;
}

/** A connection to the fleet's rows in the state store of the upstream `url` names. */
export function connectFleetStore(url: string): Promise<FleetStore> {
  return entryFor(new URL(url)).connectFleetStore(url);
}
