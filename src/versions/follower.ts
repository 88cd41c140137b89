import type { SchemaModel, VersionHistory } from '../migrations/index.ts';
import { buildVersionMap } from './build-version-map.ts';
import { migrationRecordsOf, physicalSchemaOf } from './from-engine.ts';
import type { NameResolution } from './name-resolution.ts';
import type { PhysicalSchema } from './physical-schema.ts';
import type { MigrationRecord } from './schema-change.ts';
import type { VersionMap } from './version-map.ts';
import { VersionMapError } from './version-map-error.ts';

/** Phases whose DDL may be under way while their record is already written. */
const CHANGING: ReadonlySet<string> = new Set(['pending', 'expanding', 'contracting', 'rolling_back']);

/** Where the follower reports; the composition root passes the proxy's log. */
export interface FollowerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

const silent: FollowerLog = { info() {}, warn() {} };

/** Where the follower reads the state store and the physical schema. */
export interface VersionSource {
  versions(): Promise<VersionHistory>;
  introspect(): Promise<SchemaModel>;
  /** Relations elsewhere named like `names`, and the default search paths (PostgreSQL); absent: none. */
  nameResolution?(names: readonly string[]): Promise<NameResolution>;
  /** Subscribes to the changes the state store announces (LISTEN/NOTIFY); polling covers the rest. */
  subscribe?(listener: () => void): Promise<void>;
}

/**
 * Keeps every proxy's version map in step with the state store: a migration
 * started, completed or rolled back by this proxy, another proxy or
 * `shiftgate migrate` is picked up at the next announcement, or within
 * `pollMs` by polling, and the new map is handed to `onMap` whole.
 */
export class VersionFollower {
  private signature = '';
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The rebuild running now, and one queued behind it that every later caller shares. */
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(
    private readonly source: VersionSource,
    private readonly onMap: (map: VersionMap, history: VersionHistory) => void,
    private readonly pollMs = 1000,
    private readonly log: FollowerLog = silent,
  ) {}

  /** Builds the first map, then follows. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
    await this.source
      .subscribe?.(() => {
        this.refresh().catch((err: Error) =>
          this.log.warn('reading the migration state failed', { error: err.message }),
        );
      })
      .catch((err: Error) =>
        this.log.warn('state change announcements unavailable; polling only', { error: err.message }),
      );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Rebuilds the map if the history changed. The returned promise settles
   * after a read that began after the call, so a caller that just changed
   * the state (or is about to answer a status question) sees its change.
   */
  refresh(): Promise<void> {
    if (!this.running) {
      this.running = this.rebuild().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => {})
      .then(() => {
        this.queued = null;
        return this.refresh();
      });
    return this.queued;
  }

  private async rebuild(): Promise<void> {
    const history = await this.source.versions();
    const signature = JSON.stringify(history.versions.map((v) => [v.version, v.phase]));
    if (signature === this.signature) return;
    const physical = physicalSchemaOf(await this.source.introspect());
    const records = migrationRecordsOf(history);
    if (this.source.nameResolution) {
      physical.nameResolution = await this.source.nameResolution(tableNames(physical, records));
    }
    let map: VersionMap;
    try {
      map = buildVersionMap(physical, records);
    } catch (err) {
      // The record of a phase is written before its DDL runs: mid-change, the physical schema
      // does not match it yet. The next announcement (or poll) after the DDL builds the map.
      const phase = history.versions.find((v) => v.version === history.inFlight)?.phase;
      if (err instanceof VersionMapError && phase !== undefined && CHANGING.has(phase)) return;
      throw err;
    }
    this.signature = signature;
    this.log.info('schema versions changed', { latest: map.latest, latestCompleted: map.latestCompleted });
    this.onMap(map, history);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((err: Error) => this.log.warn('reading the migration state failed', { error: err.message }))
        .finally(() => this.schedule());
    }, this.pollMs);
    this.timer.unref();
  }
}

/** Every table name a version may use: physical ones and those the history names. */
function tableNames(physical: PhysicalSchema, records: readonly MigrationRecord[]): string[] {
  const names = new Set(physical.tables.map((t) => t.name));
  for (const r of records) {
    for (const c of r.changes) {
      if ('table' in c) names.add(c.table);
      if (c.kind === 'rename_table') {
        names.add(c.from);
        names.add(c.to);
      }
    }
  }
  return [...names];
}
