import { mayBeAdminCommand, parseAdminCommand } from '../admin/command.ts';
import type { AdminConsole } from '../admin/console.ts';
import { adminResultColumns } from '../admin/result-columns.ts';
import type { Config } from '../config/schema.ts';
import type { ProxyMetrics } from '../metrics/registry.ts';
import { TranslationError, type VersionMap } from '../versions/index.ts';
import { ClientError, clientError } from './client-error.ts';
import type { SessionInfo } from './session.ts';
import type { Route, StatementRouter } from './statement-router.ts';
import { isVersionShow, parseVersionSet } from './version-binding.ts';

const MENTIONS_SHIFTGATE = /shiftgate/i;

/** A dialect's SQL translator, as the router sees it. */
export interface SqlTranslator {
  /**
   * The statement rewritten for `version`'s view of the physical schema, as
   * `session`'s server reads it (search_path, string rules), or null when it
   * needs no change. Throws TranslationError to refuse.
   */
  translate(version: string, sql: string, session: SessionInfo): string | null;
  setVersionMap(map: VersionMap): void;
  /**
   * The proxy's own session setting (`shiftgate.*`) this statement would
   * change on the server other than through the one form the router
   * intercepts, or null. Such statements are refused.
   */
  reservedSettingChange?(sql: string): string | null;
  /** Plan cache hits and misses so far, for metrics. */
  cacheCounters(): { hits: number; misses: number };
}

/** MySQL error numbers for the translation refusals (the SQLSTATE comes with the error). */
const MYSQL_ERRNO: Record<TranslationError['kind'], number> = {
  unsupported: 1235,
  undefined_column: 1054,
  undefined_table: 1146,
  ambiguous_column: 1052,
  unknown_version: 1231,
  syntax_error: 1064,
};

/**
 * Shiftgate's statement router: version binding, the admin console and
 * versioned translation, in that order, behind the dialect-neutral
 * StatementRouter interface the wire sessions call.
 */
export class ShiftgateRouter implements StatementRouter {
  private map: VersionMap | null = null;
  generation = 0;
  /** True while some version's view differs from the physical schema: every statement is then looked at. */
  private translating = false;

  constructor(
    private readonly config: Config,
    private readonly console: AdminConsole | null,
    private readonly translator: SqlTranslator | null,
    private readonly metrics: ProxyMetrics,
  ) {}

  /** A version whose migration is still expanding or backfilling: sessions cannot bind to it yet. */
  private notReady: string | null = null;

  /** Installs a new version map (the state store changed); translation follows at once for every session. */
  setVersionMap(map: VersionMap, notReady: string | null = null): void {
    this.generation += 1;
    this.map = map;
    this.notReady = notReady;
    this.translator?.setVersionMap(map);
    this.translating = this.translator !== null && map.versions.some((v) => !v.identity);
  }

  get versionMap(): VersionMap | null {
    return this.map;
  }

  /**
   * The version a new session binds to: what it asked for at startup, else
   * the first matching config rule, else the latest completed version.
   */
  bindAtConnect(info: SessionInfo, requested: string | null): void {
    const rule = this.config.proxy.version_rules.find(
      (r) =>
        (r.user === undefined || r.user === info.user) &&
        (r.application_name === undefined || r.application_name === info.applicationName),
    );
    const version = requested ?? rule?.version ?? null;
    if (version !== null) this.checkVersion(version);
    info.boundVersion = version ?? this.map?.latestCompleted ?? null;
    info.startupVersion = info.boundVersion;
  }

  private checkVersion(version: string): void {
    if (this.map && !this.map.has(version)) {
      const known = this.map.versions.map((v) => v.name).join(', ');
      throw clientError(
        'invalidParameter',
        `unknown schema version "${version}" (it was never started, or it was rolled back)`,
        `known versions: ${known}`,
      );
    }
    if (!this.map) {
      throw clientError('invalidParameter', `unknown schema version "${version}": no migration has run yet`);
    }
    if (version === this.notReady) {
      throw clientError(
        'stateConflict',
        `schema version "${version}" is not ready yet: its migration is still expanding or backfilling`,
        'wait until SHOW SHIFTGATE STATUS shows it active, then connect again',
      );
    }
  }

  mayRoute(bytes: Buffer, start: number, end: number): boolean {
    return this.translating || mayBeAdminCommand(bytes, start, end);
  }

  route(session: SessionInfo, sql: string): Route | Promise<Route> {
    try {
      const set = parseVersionSet(sql);
      if (set) {
        if (set.version !== null) this.checkVersion(set.version);
        // RESET goes back to what the session connected with, as the server's own RESET does.
        return { kind: 'bind-version', version: set.version ?? session.startupVersion };
      }
      if (isVersionShow(sql)) {
        return {
          kind: 'result',
          result: { columns: ['shiftgate.version'], rows: [[session.boundVersion]], tag: 'SHOW' },
        };
      }
      const command = parseAdminCommand(sql);
      if (command) {
        if (!this.console) throw clientError('notSupported', 'this proxy runs without a migration engine');
        return this.console.execute(session, command).then(
          (result): Route => ({ kind: 'result', result }),
          (err: unknown): Route => ({ kind: 'error', error: asClientError(err) }),
        );
      }
      const setting = MENTIONS_SHIFTGATE.test(sql) ? this.translator?.reservedSettingChange?.(sql) : null;
      if (setting) {
        throw clientError(
          'permissionDenied',
          `${setting} is Shiftgate's own setting and cannot be changed by a client statement`,
          "bind the session with a statement of its own: SET shiftgate.version = '<migration name>'",
        );
      }
    } catch (err) {
      return { kind: 'error', error: asClientError(err) };
    }
    session.ranClientStatements = true;
    return this.translate(session, sql);
  }

  /**
   * The columns of the result the router would answer `sql` with itself,
   * without running it (a named prepared admin command is run at each
   * execution, but described at Parse), or null when `sql` is not one.
   */
  localResultColumns(sql: string): string[] | null {
    if (isVersionShow(sql)) return ['shiftgate.version'];
    try {
      const command = parseAdminCommand(sql);
      return command ? adminResultColumns(command) : null;
    } catch {
      return null;
    }
  }

  private translate(session: SessionInfo, sql: string): Route {
    if (!this.translating || !this.map) return { kind: 'forward' };
    const version = session.boundVersion ?? this.map.latestCompleted;
    try {
      const rewritten = this.translator!.translate(version, sql, session);
      if (rewritten === null) {
        this.metrics.translations.labels('passthrough').inc();
        return { kind: 'forward' };
      }
      this.metrics.translations.labels('rewritten').inc();
      return { kind: 'rewrite', sql: rewritten };
    } catch (err) {
      if (!(err instanceof TranslationError)) throw err;
      this.metrics.translations.labels('refused').inc();
      return {
        kind: 'error',
        error: new ClientError(
          err.sqlstate,
          MYSQL_ERRNO[err.kind],
          err.message,
          `the statement was not sent; rewrite it for schema version "${version}" or bind the session to another version`,
        ),
      };
    }
  }
}

function asClientError(err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  return clientError('internal', `Shiftgate failed: ${(err as Error).message}`);
}
