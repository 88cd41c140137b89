import type { CopyHeaderMatch } from '../../proxy/statement-router.ts';
import type { ErrorFields } from './codec/backend-encoder.ts';

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;

/**
 * The proxy's side of `HEADER MATCH` for a COPY FROM STDIN whose columns the
 * session's version names differently (the server was told `HEADER true`):
 * reads the client's data up to the end of the first line and checks that
 * line as the server's copyfromparse.c would, field count first, then each
 * name, with the server's messages and SQLSTATE 22P04.
 *
 * The CopyData frames that carry the line are held until it is complete;
 * then they go upstream as they are (the server skips the line), or the
 * COPY is failed.
 *
 * @example
 * const check = new CopyHeaderCheck(route.copyHeader);
 * const verdict = check.data(frame.raw); // null: line incomplete, frame held
 * if (verdict === 'match') upstream.write(Buffer.concat(check.held)); else failCopy(verdict);
 */
export class CopyHeaderCheck {
  /** The CopyData frames (whole, with their headers) read so far. */
  readonly held: Buffer[] = [];
  /** The first line's bytes so far. */
  private line: Buffer[] = [];
  private inQuote = false;
  /** The previous byte was an escape (a backslash in text, the escape character in a CSV quote). */
  private escaped = false;

  constructor(private readonly spec: CopyHeaderMatch) {}

  /**
   * A CopyData frame from the client: null while the first line is not
   * complete (the frame is held), else the verdict on it.
   */
  data(raw: Buffer, bodyOffset: number): 'match' | ErrorFields | null {
    // Copied: the frame may be a view of a chunk the framer is done with.
    this.held.push(Buffer.from(raw));
    const body = raw.subarray(bodyOffset);
    const end = this.lineEnd(body);
    if (end < 0) {
      this.line.push(body);
      return null;
    }
    this.line.push(body.subarray(0, end));
    return this.verdict();
  }

  /** CopyDone: the data ended, so what came is the whole header line (PostgreSQL checks even an empty one). */
  end(): 'match' | ErrorFields {
    return this.verdict();
  }

  /** Where the first line ends in `body` (as CopyReadLineText / CopyReadLineCSV see it), or -1. */
  private lineEnd(body: Buffer): number {
    const csv = this.spec.format === 'csv';
    const quote = this.spec.quote.charCodeAt(0);
    const escapeChar = this.spec.escape.charCodeAt(0);
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (this.escaped) {
        this.escaped = false;
        continue;
      }
      if (!csv) {
        if (c === BACKSLASH) this.escaped = true;
        else if (c === LF || c === CR) return i;
      } else if (this.inQuote) {
        // With escape === quote, a doubled quote closes and reopens: the same effect.
        if (c === escapeChar && escapeChar !== quote) this.escaped = true;
        else if (c === quote) this.inQuote = false;
      } else if (c === quote) this.inQuote = true;
      else if (c === LF || c === CR) return i;
    }
    return -1;
  }

  private verdict(): 'match' | ErrorFields {
    const line = Buffer.concat(this.line).toString('utf8');
    const fields = this.spec.format === 'csv' ? this.csvFields(line) : this.textFields(line);
    const expected = this.spec.columns;
    const where = `COPY ${this.spec.table}, line 1: "${line}"`;
    if (fields.length !== expected.length) {
      return {
        severity: 'ERROR',
        code: '22P04',
        message: `wrong number of fields in header line: got ${fields.length}, expected ${expected.length}`,
        where,
      };
    }
    for (const [i, field] of fields.entries()) {
      const name = expected[i]!;
      if (field === null) {
        return {
          severity: 'ERROR',
          code: '22P04',
          message: `column name mismatch in header line field ${i + 1}: got null value ("${this.spec.nullString}"), expected "${name}"`,
          where,
        };
      }
      if (field !== name) {
        return {
          severity: 'ERROR',
          code: '22P04',
          message: `column name mismatch in header line field ${i + 1}: got "${field}", expected "${name}"`,
          where,
        };
      }
    }
    return 'match';
  }

  /** Text format: fields split at the delimiter, backslash escapes decoded; the NULL string (raw) is null. */
  private textFields(line: string): (string | null)[] {
    const delimiter = this.spec.delimiter;
    const fields: (string | null)[] = [];
    let raw = '';
    const flush = () => {
      fields.push(raw === this.spec.nullString ? null : unescapeText(raw));
      raw = '';
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < line.length) {
        raw += c + line[++i];
      } else if (c === delimiter) flush();
      else raw += c;
    }
    flush();
    return fields;
  }

  /** CSV: quoted sections, escapes inside them; an unquoted field equal to the NULL string is null. */
  private csvFields(line: string): (string | null)[] {
    const { delimiter, quote, escape: escapeChar, nullString } = this.spec;
    const fields: (string | null)[] = [];
    let value = '';
    let raw = '';
    let quoted = false;
    let inQuote = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (inQuote) {
        raw += c;
        const next = line[i + 1];
        if (c === escapeChar && (next === quote || next === escapeChar) && i + 1 < line.length) {
          value += next;
          raw += next;
          i++;
        } else if (c === quote) inQuote = false;
        else value += c;
      } else if (c === delimiter) {
        fields.push(!quoted && raw === nullString ? null : value);
        value = '';
        raw = '';
        quoted = false;
      } else {
        raw += c;
        if (c === quote) {
          inQuote = true;
          quoted = true;
        } else value += c;
      }
    }
    fields.push(!quoted && raw === nullString ? null : value);
    return fields;
  }
}

/** The backslash sequences of COPY's text format (CopyReadAttributesText). */
function unescapeText(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, s: string) => {
    if (s[0] === 'x' && s.length > 1) return String.fromCharCode(Number.parseInt(s.slice(1), 16));
    if (/^[0-7]/.test(s)) return String.fromCharCode(Number.parseInt(s, 8));
    switch (s) {
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      default:
        return s;
    }
  });
}
