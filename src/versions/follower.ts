import type { SchemaModel, VersionHistory } from '../migrations/index.ts';
import { log } from '../proxy/log.ts';
import { buildVersionMap } from './build-version-map.ts';
import { migrationRecordsOf, physicalSchemaOf } from './from-engine.ts';
import type { VersionMap } from './version-map.ts';

/** Where the follower reads the state store and the physical schema. */
export interface VersionSource {
  versions(): Promise<VersionHistory>;
  introspect(): Promise<SchemaModel>;
  /** Resolves at the next change the state store announces (e.g. LISTEN/NOTIFY), or never. */
  nextChange?(): Promise<void>;
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
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly source: VersionSource,
    private readonly onMap: (map: VersionMap, history: VersionHistory) => void,
    private readonly pollMs = 500,
  ) {}

  /** Builds the first map, then follows. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
    void this.listen();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Rebuilds the map now if the history changed (also called by this proxy right after its own changes). */
  refresh(): Promise<void> {
    this.refreshing ??= this.rebuild().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async rebuild(): Promise<void> {
    const history = await this.source.versions();
    const signature = JSON.stringify(history.versions.map((v) => [v.version, v.phase]));
    if (signature === this.signature) return;
    const map = buildVersionMap(
      physicalSchemaOf(await this.source.introspect()),
      migrationRecordsOf(history),
    );
    this.signature = signature;
    log.info('schema versions changed', { latest: map.latest, latestCompleted: map.latestCompleted });
    this.onMap(map, history);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((err: Error) => log.warn('reading the migration state failed', { error: err.message }))
        .finally(() => this.schedule());
    }, this.pollMs);
    this.timer.unref();
  }

  private async listen(): Promise<void> {
    if (!this.source.nextChange) return;
    while (!this.stopped) {
      try {
        await this.source.nextChange();
        await this.refresh();
      } catch (err) {
        log.warn('state change notification failed; polling continues', { error: (err as Error).message });
        return;
      }
    }
  }
}
