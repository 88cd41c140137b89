import { ProtocolError } from '../../../proxy/protocol-error.ts';

/**
 * Follows message boundaries in the server-to-client stream without
 * copying or holding it back: the relay forwards each chunk as it came and
 * the scanner only gathers the bodies of the few message types the proxy
 * watches (ReadyForQuery, ErrorResponse). A 10 MB DataRow is skipped by
 * its length, never buffered.
 */
export class BackendScanner {
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private remaining = 0;
  private code = 0;
  private collected: Buffer[] | null = null;
  private readonly watched = new Uint8Array(256);
  /** Bytes of the current partial header that `scan` let the caller forward already. */
  private headerForwarded = 0;
  /** The message being walked is being dropped by `scanFiltering`. */
  private dropping = false;
  /** The message being walked is held by `scanFiltering`, to be forwarded as this makes it. */
  private replacing: ((body: Buffer) => Buffer) | null = null;
  /** Where `scanFiltering` collects what to forward, while it runs. */
  private out: Buffer[] | null = null;

  constructor(
    watch: readonly number[],
    private readonly onMessage: (code: number, body: Buffer) => void,
  ) {
    for (const c of watch) this.watched[c] = 1;
  }

  scan(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.collected) this.collected.push(chunk.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0 && this.collected) this.finish();
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && n - i >= 5) {
        this.code = chunk[i]!;
        length = chunk.readInt32BE(i + 1);
        i += 5;
      } else {
        const take = Math.min(5 - this.headerFill, n - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < 5) {
          this.headerForwarded = this.headerFill;
          break;
        }
        this.headerFill = 0;
        this.headerForwarded = 0;
        this.code = this.header[0]!;
        length = this.header.readInt32BE(1);
      }
      if (length < 4) {
        throw new ProtocolError(
          `server message length ${length} is below 4`,
          String.fromCharCode(this.code),
          i,
        );
      }
      this.remaining = length - 4;
      if (this.watched[this.code]) {
        this.collected = [];
        if (this.remaining === 0) this.finish();
      }
    }
  }

  /** True when `scanFiltering` holds back part of a message: the next chunk must be filtered too. */
  get holdsBytes(): boolean {
    return this.headerFill > this.headerForwarded || this.replacing !== null;
  }

  /**
   * Like `scan`, but returns what to forward instead of the chunk: whole
   * messages for which `drop(code)` is true are removed when their header
   * completes (the proxy has its own responses to take out of the stream:
   * it re-prepared a statement), and a watched message for which
   * `replace(code)` gives a function is held until it is complete and
   * forwarded as that function makes it (a whole message, header
   * included). A header split across chunks is held back until it is
   * known. Bytes forwarded unchanged are slices of the chunk, not copies.
   */
  scanFiltering(
    chunk: Buffer,
    drop: (code: number) => boolean,
    replace?: (code: number) => ((body: Buffer) => Buffer) | null,
  ): Buffer[] {
    const out: Buffer[] = [];
    this.out = out;
    let run = 0;
    const flush = (to: number) => {
      if (to > run) out.push(chunk.subarray(run, to));
      run = to;
    };
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.collected) this.collected.push(chunk.subarray(i, i + take));
        if (this.dropping || this.replacing) {
          flush(i);
          run = i + take;
        }
        i += take;
        this.remaining -= take;
        if (this.remaining === 0 && this.collected) {
          flush(i);
          this.finish();
        }
        continue;
      }
      const headerStart = i;
      const heldBefore = this.headerFill;
      const take = Math.min(5 - this.headerFill, n - i);
      chunk.copy(this.header, this.headerFill, i, i + take);
      this.headerFill += take;
      i += take;
      if (this.headerFill < 5) {
        // Held until the rest of the header arrives with the next chunk.
        flush(headerStart);
        run = n;
        break;
      }
      this.code = this.header[0]!;
      const length = this.header.readInt32BE(1);
      if (length < 4) {
        this.out = null;
        throw new ProtocolError(
          `server message length ${length} is below 4`,
          String.fromCharCode(this.code),
          i,
        );
      }
      // A header begun by `scan` was partly forwarded already: it cannot be one of ours.
      const untouched = this.headerForwarded > 0;
      this.dropping = !untouched && drop(this.code);
      this.replacing =
        !untouched && !this.dropping && this.watched[this.code] ? (replace?.(this.code) ?? null) : null;
      if (this.dropping || this.replacing) {
        flush(headerStart);
        run = i;
      } else if (heldBefore > this.headerForwarded) {
        // The part of the header held from the previous chunk goes out before this chunk's part.
        flush(headerStart);
        out.push(Buffer.from(this.header.subarray(this.headerForwarded, heldBefore)));
      }
      this.headerFill = 0;
      this.headerForwarded = 0;
      this.remaining = length - 4;
      if (this.watched[this.code] && !this.dropping) {
        this.collected = [];
        if (this.remaining === 0) this.finish();
      }
    }
    flush(n);
    this.out = null;
    return out;
  }

  private finish(): void {
    const parts = this.collected!;
    this.collected = null;
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.onMessage(this.code, body);
    if (this.replacing) {
      this.out?.push(this.replacing(body));
      this.replacing = null;
    }
  }
}
