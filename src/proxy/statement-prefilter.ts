import type { StatementRouter } from './statement-router.ts';

/**
 * Runs a router's prefilter (`mayRoute`) over a statement whose bytes
 * arrive in pieces, without joining them: each piece is scanned once as it
 * arrives, and so is the seam between it and the bytes before it, so a
 * 20 MB statement costs no 20 MB scan at its end on the proxy's one event
 * loop. Sound because `mayRoute` answers from windows of at most
 * PREFILTER_WINDOW bytes (see StatementRouter).
 *
 * @example
 * const filter = new PiecewisePrefilter(router);
 * filter.feed(pieceOne); filter.feed(pieceTwo);
 * if (!filter.mayRoute) forwardPieces(); // else join the text and route it
 */
export class PiecewisePrefilter {
  private tail: Buffer = Buffer.alloc(0);
  private hit = false;

  constructor(private readonly router: StatementRouter) {}

  /** True once some part of the bytes fed so far may make the router want the statement. */
  get mayRoute(): boolean {
    return this.hit;
  }

  feed(bytes: Buffer): void {
    if (this.hit || bytes.length === 0) return;
    const seam = Buffer.concat([this.tail, bytes.subarray(0, PREFILTER_WINDOW - 1)]);
    if (this.router.mayRoute(seam, 0, seam.length) || this.router.mayRoute(bytes, 0, bytes.length)) {
      this.hit = true;
      return;
    }
    const keep = PREFILTER_WINDOW - 1;
    this.tail =
      bytes.length >= keep
        ? Buffer.from(bytes.subarray(bytes.length - keep))
        : Buffer.concat([this.tail, bytes]).subarray(-keep);
  }
}

/**
 * Longest window `StatementRouter.mayRoute` needs to see at once: a text
 * may route only if one of its windows of this many bytes may.
 */
export const PREFILTER_WINDOW = 16;
