/**
 * Server responses in the command phase: relayed to the client chunk by
 * chunk as they come, while a scanner follows packet boundaries and the
 * response tracker (`response.ts`) tells where each command's response
 * ends (result sets, OK / ERR / EOF) and what status flags (transaction,
 * NO_BACKSLASH_ESCAPES) the server left. At a response's end the proxy can
 * write its own answers to commands pipelined behind it, in order.
 */
import { performance } from 'node:perf_hooks';
import { log } from '../../proxy/log.ts';
import { PacketScanner, type PacketVisitor } from './framer.ts';
import { decodeErr } from './messages.ts';
import { ResponseHeader } from './protocol.ts';
import { Outcome, ResponseKind, ResponseTracker, responseKindOf } from './response.ts';

const EMPTY = Buffer.alloc(0);

/** Per-command bookkeeping carried through the response tracker. */
export interface CommandTag {
  command: number;
  /** performance.now() when the command went upstream. */
  start: number;
  /** Compressed sequence id of the compressed packet that ended the command (compressed protocol). */
  compressedSeq: number;
  /**
   * Answers the proxy writes itself for later pipelined commands, once this
   * response is through; built then, so they carry the status flags it left.
   */
  after: (() => Buffer)[] | null;
  /** Applied to the session when the command succeeds (COM_INIT_DB, COM_CHANGE_USER). */
  onSuccess: (() => void) | null;
  /**
   * Set for a command the proxy sent on its own behalf (a re-prepare): its
   * response never reaches the client, and this gets whether it succeeded.
   */
  hidden: ((ok: boolean) => void) | null;
}

/** Where followed responses go. */
export interface ResponseSink {
  writeClient(buf: Buffer): void;
  /**
   * Under the compressed protocol, the response about to be written answers
   * a command that came in compressed packet `compressedSeq`.
   */
  startClientResponse(compressedSeq: number): void;
  /** The client leg is compressed: each pipelined response starts its own run of compressed sequence ids. */
  compressed(): boolean;
  /** A response packet with this sequence id went to the client: the client expects the next id. */
  relayedSequenceId(sequenceId: number): void;
  /** A command's response is through, `micros` after the command went upstream. */
  commandDone(micros: number): void;
}

export class ResponseFollower {
  tracker: ResponseTracker<CommandTag> = new ResponseTracker(false);
  private readonly scanner = new PacketScanner();

  constructor(
    private readonly sink: ResponseSink,
    /** The session's id for log lines (a MySQL session's is fixed at the server's greeting). */
    private readonly sessionId: () => number,
  ) {}

  /** Responses follow the format agreed with the client (CLIENT_DEPRECATE_EOF or not). */
  startFollowing(deprecateEof: boolean): void {
    this.tracker = new ResponseTracker(deprecateEof);
  }

  /** No packet of the server's is partly relayed. */
  get atBoundary(): boolean {
    return this.scanner.atBoundary;
  }

  /** A command is going upstream: its response, if it has one, is next to follow. */
  expect(command: number, compressedSeq: number, onSuccess: (() => void) | null): void {
    const kind = responseKindOf(command);
    if (kind !== ResponseKind.None) {
      if (this.tracker.pending === 0) this.sink.startClientResponse(compressedSeq);
      this.tracker.expect(kind, {
        command,
        start: performance.now(),
        compressedSeq,
        after: null,
        onSuccess,
        hidden: null,
      });
    }
  }

  /**
   * The proxy sends a command of its own upstream: its response is
   * followed like any other, but kept from the client. Only sent while the
   * client's commands wait (a routing decision), so no client response
   * follows it in the queue.
   */
  expectHidden(command: number, done: (ok: boolean) => void): void {
    this.tracker.expect(responseKindOf(command), {
      command,
      start: performance.now(),
      compressedSeq: 0,
      after: null,
      onSuccess: null,
      hidden: done,
    });
  }

  /**
   * Answers a command from the proxy, after every response still owed for
   * earlier pipelined commands. `build` gets the response's first sequence
   * id and runs when the answer is written, so it sees the session state
   * (transaction status) those earlier responses left. `compressedSeq` is
   * the compressed sequence id of the command's compressed packet.
   */
  answer(firstSeq: number, compressedSeq: number, build: (firstSeq: number) => Buffer): void {
    const write = () => {
      this.sink.startClientResponse(compressedSeq);
      return build(firstSeq);
    };
    const last = this.tracker.lastTag();
    if (last === undefined) {
      this.sink.writeClient(write());
      return;
    }
    last.after ??= [];
    last.after.push(write);
  }

  /**
   * A chunk of server bytes in the command phase: written to the client
   * whole unless the proxy must put its own answers (or, compressed, a new
   * compressed sequence) between two responses in it. The packet visitor
   * is made once per session, rows are passed over unvisited and the
   * relayed sequence id is passed on once per chunk: this runs for every
   * chunk the server sends.
   */
  relay(chunk: Buffer): void {
    this.chunk = chunk;
    this.written = 0;
    this.lastSequenceId = -1;
    this.hideFrom = this.tracker.firstTag()?.hidden ? 0 : -1;
    this.sawHidden = false;
    // Rows are passed over by the scanner, not visited: only the packets that can end them are.
    this.scanner.passOverRows = this.tracker.inRows;
    try {
      const last = this.scanner.feed(chunk, this.visitPacket);
      // Client responses come before a hidden one in a chunk and end with a visited packet.
      this.lastSequenceId = this.sawHidden ? this.visibleSequenceId : last;
    } finally {
      // Also when the response cannot be followed: errors the proxy writes then carry the next id.
      if (this.lastSequenceId >= 0) this.sink.relayedSequenceId(this.lastSequenceId);
      this.chunk = EMPTY;
    }
    const from = this.written;
    const to = this.hideFrom >= 0 ? this.hideFrom : chunk.length;
    if (from < to)
      this.sink.writeClient(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
  }

  /** The chunk being relayed, how much of it is written, and the sequence id of its last packet (-1: none yet). */
  private chunk: Buffer = EMPTY;
  private written = 0;
  private lastSequenceId = -1;
  /** Where in the chunk a hidden response's bytes start (-1: none is being received). */
  private hideFrom = -1;
  /** Whether the chunk held packets of a hidden response, and the last packet's id before them. */
  private sawHidden = false;
  private visibleSequenceId = -1;

  private readonly visitPacket: PacketVisitor = (
    buf,
    headStart,
    headLength,
    length,
    sequenceId,
    continuation,
    endOffset,
  ) => {
    this.lastSequenceId = sequenceId;
    if (this.hideFrom >= 0) this.sawHidden = true;
    else this.visibleSequenceId = sequenceId;
    const tracker = this.tracker;
    const outcome = tracker.onPacketAt(buf, headStart, headLength, length, continuation);
    if (outcome === Outcome.Complete) this.onComplete(endOffset);
    else if (outcome === Outcome.Unsolicited && length > 0 && buf[headStart] === ResponseHeader.Err) {
      const err = decodeErr(buf.subarray(headStart, headStart + headLength));
      log.info('mysql server message outside a command', {
        session: this.sessionId(),
        code: err.code,
        message: err.message,
      });
    }
    this.scanner.passOverRows = this.tracker.inRows;
  };

  /** A command's response ended at `endOffset` in the chunk being relayed. */
  private onComplete(endOffset: number): void {
    const tracker = this.tracker;
    const tag = tracker.completedTag!;
    if (tag.hidden !== null) {
      // The proxy's own response: its bytes, [hideFrom, endOffset), are dropped.
      this.written = endOffset;
      this.hideFrom = -1;
      tag.hidden(!tracker.completedWithError);
      if (tag.after !== null) for (const build of tag.after) this.sink.writeClient(build());
      const next = this.sink.compressed() ? tracker.firstTag() : undefined;
      if (next !== undefined) this.sink.startClientResponse(next.compressedSeq);
      return;
    }
    this.sink.commandDone(Math.round((performance.now() - tag.start) * 1000));
    if (!tracker.completedWithError) tag.onSuccess?.();
    const head = tracker.firstTag();
    const hideNext = head !== undefined && head.hidden !== null;
    const next = this.sink.compressed() && !hideNext ? head : undefined;
    if (tag.after === null && next === undefined && !hideNext) return;
    this.sink.relayedSequenceId(this.lastSequenceId);
    this.sink.writeClient(this.chunk.subarray(this.written, endOffset));
    this.written = endOffset;
    if (tag.after !== null) for (const build of tag.after) this.sink.writeClient(build());
    // The next pipelined response starts its own run of compressed sequence ids.
    if (next !== undefined) this.sink.startClientResponse(next.compressedSeq);
    if (hideNext) this.hideFrom = endOffset;
  }
}
