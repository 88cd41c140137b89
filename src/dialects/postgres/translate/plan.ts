/**
 * What translating one query string produces: the rewritten text and the
 * edits that made it, plus what the proxy needs to know about each
 * statement. Edits are applied to the original bytes, so everything they do
 * not cover is forwarded byte for byte.
 */

import type { CopyHeaderMatch } from '../../../proxy/statement-router.ts';

/** Replace bytes [start, end) of the original UTF-8 text with `text` (end === start: insert). */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A table of the version's schema that a statement names. */
export interface TableUse {
  /** The name the client used (the version's name). */
  readonly logical: string;
  readonly physical: string;
  /** True when the version sees it differently from the database (the statement was rewritten for it). */
  readonly migrating: boolean;
}

export interface StatementPlan {
  /** Set for a COPY FROM STDIN whose HEADER MATCH the proxy checks (the server is told HEADER true). */
  readonly copyHeader?: CopyHeaderMatch;
  /** The parser's node name: `SelectStmt`, `InsertStmt`, `CopyStmt`, ... */
  readonly kind: string;
  /** Byte range of the statement in the original text (without the `;`). */
  readonly start: number;
  readonly end: number;
  readonly tables: readonly TableUse[];
  /**
   * The result column names the client sees (the version's names), for a
   * SELECT or a RETURNING; null when the statement returns no rows or the
   * names depend on objects outside the version map.
   */
  readonly outputColumns: readonly string[] | null;
}

export interface TranslationPlan {
  readonly version: string;
  readonly original: string;
  /** The text to send upstream; `=== original` when nothing changed. */
  readonly sql: string;
  readonly rewritten: boolean;
  /** In byte order; empty when nothing changed. */
  readonly edits: readonly TextEdit[];
  /** One per statement of the query string; empty when the fast path skipped the parse. */
  readonly statements: readonly StatementPlan[];
  /** True when the text was passed without parsing (it cannot touch a migrating table). */
  readonly fastPath: boolean;
  /** The one statement's header check, when the text is a COPY FROM STDIN with HEADER MATCH (StatementPlan.copyHeader). */
  readonly copyHeader?: CopyHeaderMatch;
}

/** Applies byte-offset edits (sorted, non-overlapping) to the original UTF-8 bytes. */
export function applyEdits(original: Uint8Array, edits: readonly TextEdit[]): string {
  const parts: Buffer[] = [];
  let at = 0;
  for (const e of edits) {
    parts.push(Buffer.from(original.buffer, original.byteOffset + at, e.start - at));
    parts.push(Buffer.from(e.text, 'utf8'));
    at = e.end;
  }
  parts.push(Buffer.from(original.buffer, original.byteOffset + at, original.length - at));
  return Buffer.concat(parts).toString('utf8');
}
