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
        if (this.headerFill < 5) break;
        this.headerFill = 0;
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

  private finish(): void {
    const parts = this.collected!;
    this.collected = null;
    this.onMessage(this.code, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}
