import { serialize } from 'pg-protocol';
import type { ClientError } from '../../proxy/client-error.ts';

interface Entry {
  /** The text the client sent in its Parse. */
  sql: string;
  paramTypes: number[];
  /** The text the server prepared (translated, or the stand-in of an admin command). */
  sent: string;
}

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
  /** Admin commands: the server holds a stand-in of their shape; their answer is made anew at every Bind. */
  private readonly local = new Set<string>();
  private generation = -1;

  /** A statement the server prepared as `sent` (the client's text, or its translation). */
  record(name: string, sql: string, paramTypes: number[], sent: string, generation: number): void {
    this.noteGeneration(generation);
    this.entries.set(name, { sql, paramTypes, sent });
    this.stale.delete(name);
    this.local.delete(name);
  }

  /** An admin command prepared as the stand-in `sent`: run at each Bind rather than translated. */
  recordLocal(name: string, sql: string, sent: string, generation: number): void {
    this.noteGeneration(generation);
    this.entries.set(name, { sql, paramTypes: [], sent });
    this.stale.delete(name);
    this.local.add(name);
  }

  close(name: string): void {
    this.entries.delete(name);
    this.stale.delete(name);
    this.local.delete(name);
  }

  /** The client's text of an admin-command statement, or null for any other statement. */
  localText(name: string): string | null {
    return this.local.has(name) ? (this.entries.get(name)?.sql ?? null) : null;
  }

  /** The client's text of a statement whose translation may be out of date, else null. */
  staleText(name: string): string | null {
    return this.stale.has(name) ? (this.entries.get(name)?.sql ?? null) : null;
  }

  /** True when Binds and Describes need looking at: some statement is stale or an admin command. */
  needsCheck(generation: number): boolean {
    this.noteGeneration(generation);
    return this.stale.size > 0 || this.local.size > 0;
  }

  /**
   * For a stale statement about to be used: re-translates it with
   * `translate` and returns the Close + Parse to send before the use when
   * the text changed (their CloseComplete and ParseComplete must not reach
   * the client), the refusal when the statement cannot be translated any
   * more (it stays stale: every use is refused until it translates again),
   * or null when nothing needs doing.
   */
  refresh(
    name: string,
    translate: (sql: string) => string | ClientError | null,
  ): Buffer | ClientError | null {
    if (!this.stale.delete(name)) return null;
    const entry = this.entries.get(name);
    if (!entry) return null;
    const next = translate(entry.sql);
    if (next === null || next === entry.sent) return null;
    if (typeof next !== 'string') {
      this.stale.add(name);
      return next;
    }
    entry.sent = next;
    return Buffer.concat([
      serialize.close({ type: 'S', name }),
      serialize.parse({ name, text: next, types: entry.paramTypes }),
    ]);
  }

  /** `name` is looked at again at its next use (checked during a schema switch's hold). */
  recheck(name: string): void {
    if (this.entries.has(name) && !this.local.has(name) && name !== '') this.stale.add(name);
  }

  private noteGeneration(generation: number): void {
    if (generation === this.generation) return;
    this.generation = generation;
    // The unnamed statement is re-parsed by every client before it is used again.
    this.stale = new Set([...this.entries.keys()].filter((name) => name !== '' && !this.local.has(name)));
  }
}
