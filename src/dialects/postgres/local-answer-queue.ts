import { BackendCode } from './codec/message-codes.ts';

/** What becomes of one expected server response. */
type Action =
  /** Forward it: the client asked for it (its own Close). */
  | { kind: 'forward' }
  /** Drop it: it answers a message the proxy added (a re-prepare's Close or Parse). */
  | { kind: 'drop' }
  /** Send these bytes in its place: the local answer the stand-in marks the place of. */
  | { kind: 'replace'; bytes: Buffer };

interface Expected {
  /** The response comes in the batch this many ReadyForQuery messages from now. */
  afterZ: number;
  code: number;
  action: Action;
  /** ErrorResponse only: it is the stand-in's when its body contains this. */
  marker?: Buffer;
}

/** What the scanner does with a server message, decided at its header. */
export type Decision = 'forward' | 'drop' | 'hold' | Buffer;

/**
 * The server responses the proxy must take out of the stream or put its
 * own answers in place of, batch by batch (a batch ends with
 * ReadyForQuery). Responses of one kind arrive in the order their
 * messages were sent, and after an error the server skips every message
 * up to Sync, so a response is matched to its message by kind and order
 * within its batch; what a batch did not answer is void when it ends.
 *
 * CloseComplete is the one response the proxy both adds (stand-ins,
 * re-prepares) and forwards (the client's own Close), so every Close sent
 * upstream takes its place in the queue.
 */
export class LocalAnswerQueue {
  private readonly expected: Expected[] = [];

  /** True while some response must be dropped or replaced: the server's stream must be filtered. */
  get active(): boolean {
    return this.expected.length > 0;
  }

  /**
   * The client's own Close: its CloseComplete is forwarded, in its place
   * among the proxy's (a stand-in's may be added behind it before it comes).
   */
  closeFromClient(afterZ: number): void {
    this.expected.push({ afterZ, code: BackendCode.CloseComplete, action: FORWARD });
  }

  /** A response to a message the proxy added (re-prepare): dropped. */
  drop(afterZ: number, code: number): void {
    this.expected.push({ afterZ, code, action: DROP });
  }

  /** The response `code` to a stand-in: `bytes` go to the client in its place. */
  replace(afterZ: number, code: number, bytes: Buffer): void {
    this.expected.push({ afterZ, code, action: { kind: 'replace', bytes } });
  }

  /** The stand-in's ErrorResponse (its body names `marker`): `bytes` go to the client in its place. */
  replaceError(afterZ: number, marker: Buffer, bytes: Buffer): void {
    this.expected.push({
      afterZ,
      code: BackendCode.ErrorResponse,
      action: { kind: 'replace', bytes },
      marker,
    });
  }

  /** At a message's header: forward, drop, replace, or hold it whole until `decideHeld`. */
  decide(code: number): Decision {
    const i = this.expected.findIndex((e) => e.afterZ === 0 && e.code === code);
    if (i < 0) return 'forward';
    const entry = this.expected[i]!;
    // An ErrorResponse may be the server's own (an earlier message failed, or 25P02): read it first.
    if (entry.marker) return 'hold';
    this.expected.splice(i, 1);
    if (entry.action.kind === 'forward') return 'forward';
    if (entry.action.kind === 'drop') return 'drop';
    return entry.action.bytes;
  }

  /** A held ErrorResponse, whole: the local error in its place when it is the stand-in's, else itself. */
  decideHeld(code: number, raw: Buffer): Buffer {
    const i = this.expected.findIndex((e) => e.afterZ === 0 && e.code === code);
    const entry = this.expected[i];
    if (!entry?.marker || raw.indexOf(entry.marker, 5) < 0 || entry.action.kind !== 'replace') return raw;
    this.expected.splice(i, 1);
    return entry.action.bytes;
  }

  /** The server reported an error: it skips to Sync, so nothing more of this batch is answered. */
  onError(): void {
    this.settle(false);
  }

  /** A batch ended. */
  onReadyForQuery(): void {
    this.settle(true);
  }

  private settle(batchEnded: boolean): void {
    for (let i = this.expected.length - 1; i >= 0; i--) {
      const entry = this.expected[i]!;
      if (entry.afterZ === 0) this.expected.splice(i, 1);
      else if (batchEnded) entry.afterZ -= 1;
    }
  }
}

const FORWARD: Action = { kind: 'forward' };
const DROP: Action = { kind: 'drop' };
