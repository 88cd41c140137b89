import { mayBeAdminCommand, parseAdminCommand } from '../admin/command.ts';
import type { AdminConsole } from '../admin/console.ts';
import { adminResultColumns } from '../admin/result-columns.ts';
import type { Config } from '../config/schema.ts';
import type { CounterHandle } from '../metrics/batched-counter.ts';
import type { ProxyMetrics } from '../metrics/registry.ts';
import { TranslationError, type VersionMap } from '../versions/index.ts';
import { ClientError, clientError } from './client-error.ts';
import type { SessionInfo } from './session.ts';
import type { CopyHeaderMatch, Route, StatementRouter } from './statement-router.ts';
import { type HoldOutcome, SwitchHold } from './switch-hold.ts';
import { isVersionShow, parseVersionSet } from './version-binding.ts';

const MENTIONS_SHIFTGATE = /shiftgate/i;

/** A dialect's SQL translator, as the router sees it. */
/** A translated statement: the text to send, and what the wire session must check on the way. */
export interface Rewrite {
  readonly sql: string;
  readonly copyHeader?: CopyHeaderMatch;
}

export interface SqlTranslator {
  /**
   * The statement rewritten for `version`'s view of the physical schema, as
   * `session`'s server reads it (search_path, string rules), or null when it
   * needs no change. Throws TranslationError to refuse.
   */
  translate(version: string, sql: string, session: SessionInfo): Rewrite | null;
  setVersionMap(map: VersionMap): void;
  /**
   * The proxy's own session setting (`shiftgate.*`) this statement would
   * change on the server other than through the one form the router
   * intercepts, or null. Such statements are refused.
   */
  reservedSettingChange?(sql: string): string | null;
  /** Plan cache hits and misses so far, for metrics. */
  cacheCounters(): { hits: number; misses: number };
  /**
   * The dialect's own SQLSTATE and error number for a refusal, when they
   * differ from the PostgreSQL SQLSTATE the error carries and MYSQL_ERRNO
   * (MySQL clients read `42S22` for an unknown column, not `42703`).
   */
  errorOf?(err: TranslationError): { sqlstate: string; code: number };
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

/** A completed migration, as a refusal for a session still bound to a version before it names it. */
export interface CompletedMigration {
  name: string;
  completedAt: Date | null;
  /** Every name (in either version) of the tables it changed. */
  tables: ReadonlySet<string>;
}

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
  ) {
    this.translationCounts = {
      passthrough: metrics.translations.labels('passthrough'),
      rewritten: metrics.translations.labels('rewritten'),
      refused: metrics.translations.labels('refused'),
    };
  }

  /** Per-result handles of shiftgate_translations_total, counted per statement at the cost of an addition. */
  private readonly translationCounts: Record<'passthrough' | 'rewritten' | 'refused', CounterHandle>;

  /** A version whose migration is still expanding or backfilling: sessions cannot bind to it yet. */
  private notReady: string | null = null;

  /** Completed migrations, oldest first: what retired the schema of sessions bound to older versions. */
  private completed: readonly CompletedMigration[] = [];

  /** The switch whose tables' statements are held back now, if any. */
  private hold: SwitchHold | null = null;

  /**
   * Installs a new version map (the state store changed); translation
   * follows at once for every session. `inFlight` is the migration in
   * flight in the history the map was built from: once the switching one
   * is no longer in flight, its switch is over and what it held goes on,
   * translated by this map.
   */
  setVersionMap(map: VersionMap, notReady: string | null = null, inFlight: string | null = null): void {
    this.generation += 1;
    this.map = map;
    this.notReady = notReady;
    this.translator?.setVersionMap(map);
    this.translating = this.translator !== null && map.versions.some((v) => !v.identity);
    const hold = this.hold;
    if (hold && hold.migration !== inFlight) {
      this.hold = null;
      hold.release();
    }
  }

  /** Completed migrations, oldest first, as the state store lists them (with the map they come with). */
  setCompletedMigrations(list: readonly CompletedMigration[]): void {
    this.completed = list;
  }

  /**
   * For an error on `table` in a session bound to `version`: which
   * completed migration, later than the version, changed that table (the
   * session may need a schema it retired), said for the client; else null.
   */
  retirementNote(version: string, table: string): string | null {
    if (!this.map || this.completed.length === 0) return null;
    const names = this.map.versions.map((v) => v.name);
    const at = names.indexOf(version);
    if (at < 0) return null;
    const later = new Set(names.slice(at + 1));
    const by = this.completed.find((m) => later.has(m.name) && m.tables.has(table));
    if (!by) return null;
    const when = by.completedAt ? ` (completed at ${by.completedAt.toISOString()})` : '';
    return `Migration "${by.name}"${when} changed ${table}; this session is still bound to version "${version}": reconnect to use the new schema`;
  }

  /**
   * Starts holding new statements on `tables` (names of the migration's
   * tables, logical and physical): the switch of `migration` is about to
   * run. The names other versions use for the same physical tables are held
   * too. Prepared statements are looked at again on their next use, so a
   * Bind of one is held like a new statement.
   */
  beginSwitch(migration: string, tables: readonly string[]): SwitchHold {
    const names = new Set(tables);
    for (const v of this.map?.versions ?? []) {
      for (const t of v.tables) if (t.physical !== null && tables.includes(t.physical)) names.add(t.name);
    }
    const hold = new SwitchHold(migration, names, this.config.proxy.switch_hold_ms, (expired) => {
      if (this.hold === expired) this.hold = null;
    });
    const previous = this.hold;
    if (previous) hold.adopt(previous);
    this.hold = hold;
    this.generation += 1;
    return hold;
  }

  /**
   * The switch attempt behind `hold` is over and the map in force is the
   * right one for the schema it left (a new map, when it committed, was
   * installed first): what it held goes on. A later hold is left alone.
   */
  endSwitch(hold: SwitchHold): void {
    if (this.hold !== hold) return;
    this.hold = null;
    hold.release();
  }

  /**
   * When `sql` must wait for a switch: a promise of how the wait ended,
   * else null. A transaction that holds a lock on the switching tables is
   * never held (the switch waits for it, and it would wait for the switch);
   * any other, like a statement outside a transaction, waits, since its
   * first lock on them would queue behind the switch and then meet the new
   * schema with the old translation.
   */
  holdFor(session: SessionInfo, sql: string): Promise<HoldOutcome> | null {
    const hold = this.hold;
    if (hold === null || !hold.touches(sql)) return null;
    if (session.inTransaction && hold.exempts(session)) return null;
    return hold.wait(session).then((outcome) => {
      this.metrics.switchHeld.labels(outcome ? 'timed_out' : 'released').inc();
      return outcome;
    });
  }

  get switching(): boolean {
    return this.hold !== null;
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
    return this.translating || this.hold !== null || mayBeAdminCommand(bytes, start, end);
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
    if (this.hold !== null) {
      const held = this.holdFor(session, sql);
      if (held) {
        return held.then((error): Route => (error ? { kind: 'error', error } : this.translate(session, sql)));
      }
    }
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
        this.translationCounts.passthrough.inc(1);
        return { kind: 'forward' };
      }
      this.translationCounts.rewritten.inc(1);
      return { kind: 'rewrite', sql: rewritten.sql, copyHeader: rewritten.copyHeader };
    } catch (err) {
      if (!(err instanceof TranslationError)) throw err;
      this.translationCounts.refused.inc(1);
      const mapped = this.translator!.errorOf?.(err);
      const sqlstate = mapped?.sqlstate ?? err.sqlstate;
      const errno = mapped?.code ?? MYSQL_ERRNO[err.kind];
      const retired = this.retirementNote(version, err.object.split('.')[0]!);
      if (retired) {
        const latest = this.map.latestCompleted;
        return {
          kind: 'error',
          error: new ClientError(
            sqlstate,
            errno,
            `${err.message}. ${retired}`,
            `the statement was not sent; a new session binds to "${latest}" (or run SET shiftgate.version = '${latest}' outside a transaction)`,
          ),
        };
      }
      return {
        kind: 'error',
        error: new ClientError(
          sqlstate,
          errno,
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
