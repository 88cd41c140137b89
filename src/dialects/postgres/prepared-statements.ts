import { serialize } from 'pg-protocol';

interface Entry {
  /** The text the client sent in its Parse. */
  sql: string;
  paramTypes: number[];
  /** The text the server prepared (translated, or the proxy's own answer). */
  sent: string;
}

/** What to send upstream in the statement's place: `text`, and whether it is the proxy's own answer. */
export type Prepare = { text: string; replaced: boolean };

/**
 * A session's named prepared statements as the server holds them. The
 * server keeps the text the proxy translated under the schema versions of
 * that moment; when the version map changes (a migration started,
 * completed, rolled back), a statement whose translation now differs is
 * re-prepared before its next use instead of failing with "cached plan
 * must not change result type" or a vanished column.
 */
export class PreparedStatements {
  private readonly entries = new Map<string, Entry>();
  /** Names whose translation may be out of date (the map changed since they were checked). */
  private stale = new Set<string>();
  /** Statements that are the proxy's own answer, which takes no parameters. */
  private readonly replaced = new Set<string>();
  /** Admin commands: their answer is made anew at every Bind. */
  private readonly local = new Set<string>();
  private generation = -1;

  record(name: string, sql: string, paramTypes: number[], prepared: Prepare, generation: number): void {
    this.noteGeneration(generation);
    this.entries.set(name, { sql, paramTypes, sent: prepared.text });
    this.markReplaced(name, prepared.replaced);
    this.stale.delete(name);
    this.local.delete(name);
  }

  close(name: string): void {
    this.entries.delete(name);
    this.stale.delete(name);
    this.replaced.delete(name);
    this.local.delete(name);
  }

  /** Marks a recorded statement as an admin command, run at each Bind rather than translated. */
  markLocal(name: string): void {
    this.local.add(name);
    this.stale.delete(name);
  }

  /** The client's text of an admin-command statement, or null for any other statement. */
  localText(name: string): string | null {
    return this.local.has(name) ? (this.entries.get(name)?.sql ?? null) : null;
  }

  /** The Close + Parse that make the server hold `prepared` under `name` (their answers must not reach the client). */
  replace(name: string, prepared: Prepare): Buffer {
    const entry = this.entries.get(name);
    if (entry) entry.sent = prepared.text;
    return Buffer.concat([
      serialize.close({ type: 'S', name }),
      serialize.parse({
        name,
        text: prepared.text,
        types: prepared.replaced ? [] : (entry?.paramTypes ?? []),
      }),
    ]);
  }

  /** True when Binds and Describes need looking at: some statement is stale or the proxy's own. */
  needsCheck(generation: number): boolean {
    this.noteGeneration(generation);
    return this.stale.size > 0 || this.replaced.size > 0;
  }

  isReplaced(name: string): boolean {
    return this.replaced.has(name);
  }

  private markReplaced(name: string, replaced: boolean): void {
    if (replaced) this.replaced.add(name);
    else this.replaced.delete(name);
  }

  /**
   * For a stale statement about to be used: re-translates it with
   * `translate` and returns the Close + Parse to send before the use when
   * the text changed (their CloseComplete and ParseComplete must not reach
   * the client), or null when nothing needs doing.
   */
  refresh(name: string, translate: (sql: string) => Prepare | null): Buffer | null {
    if (!this.stale.delete(name)) return null;
    const entry = this.entries.get(name);
    if (!entry) return null;
    const next = translate(entry.sql);
    if (!next || next.text === entry.sent) return null;
    this.markReplaced(name, next.replaced);
    return this.replace(name, next);
  }

  private noteGeneration(generation: number): void {
    if (generation === this.generation) return;
    this.generation = generation;
    // The unnamed statement is re-parsed by every client before it is used again.
    this.stale = new Set([...this.entries.keys()].filter((name) => name !== '' && !this.local.has(name)));
  }
}
