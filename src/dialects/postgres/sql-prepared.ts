import { serialize } from 'pg-protocol';
import { mentions } from '../../proxy/mentions.ts';
import type { Frame } from './codec/framer.ts';
import { quoteIdent } from './translate/ident.ts';
import { sqlPrepareOps } from './translate/sql-prepare.ts';

/**
 * A session's SQL-level prepared statements (`PREPARE q AS ...`), which the
 * server keeps in the same namespace as protocol-level ones but which the
 * proxy sees only as statement text. The server holds the text as it was
 * translated when it ran; once the version map changes (a migration
 * started, completed, rolled back) that text may name the wrong columns or
 * give another result shape ("cached plan must not change result type").
 * So an `EXECUTE q` of a statement prepared under an older map is sent as
 * `DEALLOCATE q; <the client's PREPARE>; EXECUTE q`: the router translates
 * the whole text for the session's version as it is now, and the two
 * CommandComplete answers that the client did not ask for are taken out of
 * the stream.
 *
 * Every Query and Parse is looked at, because statements prepared before any
 * migration started must be known; a byte scan for the keywords keeps the
 * parser away from all other text.
 */
export class SqlPreparedStatements {
  private readonly entries = new Map<string, { text: string; generation: number }>();

  /** Notes the PREPAREs, DEALLOCATEs and DISCARD ALLs of a statement text the client sent. */
  observe(bytes: Buffer, start: number, end: number, generation: number): void {
    if (!mentions(bytes, start, end, this.entries.size > 0 ? CHANGING : PREPARING)) return;
    for (const op of sqlPrepareOps(bytes.toString('utf8', start, end))) {
      if (op.kind === 'prepare') this.entries.set(op.name, { text: op.text, generation });
      else if (op.kind === 'deallocate') {
        if (op.name === null) this.entries.clear();
        else this.entries.delete(op.name);
      }
    }
  }

  /**
   * For a simple Query: the Query to send instead, with the stale
   * statements it executes prepared again in front, and how many
   * CommandComplete messages that adds; null when nothing is stale.
   * Call before `observe` for the same text.
   */
  reprepare(frame: Frame, generation: number): { frame: Frame; extraCompletions: number } | null {
    if (!this.hasStale(generation)) return null;
    const end = frame.raw.length - 1; // the Query's text ends in a zero byte
    if (!mentions(frame.raw, frame.bodyOffset, end, EXECUTING)) return null;
    const sql = frame.raw.toString('utf8', frame.bodyOffset, end);
    const prefix: string[] = [];
    const fresh = new Set<string>();
    for (const op of sqlPrepareOps(sql)) {
      if (op.kind !== 'execute') {
        // Prepared again (or gone) earlier in the same text: the client's own order holds.
        fresh.add(op.kind === 'prepare' ? op.name : (op.name ?? '\u0000all'));
        continue;
      }
      const entry = this.entries.get(op.name);
      if (!entry || entry.generation === generation || fresh.has(op.name) || fresh.has('\u0000all')) continue;
      prefix.push(`DEALLOCATE ${quoteIdent(op.name)}; ${entry.text};\n`);
      entry.generation = generation;
      fresh.add(op.name);
    }
    if (prefix.length === 0) return null;
    const raw = serialize.query(prefix.join('') + sql);
    return { frame: { code: frame.code, raw, bodyOffset: 5 }, extraCompletions: 2 * prefix.length };
  }

  private hasStale(generation: number): boolean {
    for (const e of this.entries.values()) if (e.generation !== generation) return true;
    return false;
  }
}

const PREPARING = ['prepare'];
const CHANGING = ['prepare', 'deallocate', 'discard'];
const EXECUTING = ['execute'];
