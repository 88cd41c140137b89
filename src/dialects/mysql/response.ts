/**
 * Follows server responses packet by packet, knowing only the first bytes
 * of each, to tell when the response to a command is complete (the final
 * OK / ERR / EOF, after every result set of a multi-statement). The relay
 * uses it for statement latency, transaction state and idle points. Pure:
 * no sockets, no clocks.
 */
import { ProtocolError } from '../../proxy/protocol-error.ts';
import { decodeColumnCount, decodeStmtPrepareOk, terminatorStatusAt } from './messages.ts';
import { Command, MAX_PACKET_PAYLOAD, ResponseHeader, ServerStatus } from './protocol.ts';

/** The shape of the response a command gets. */
export enum ResponseKind {
  /** No response at all (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
  None = 0,
  /** OK, ERR, LOCAL INFILE request or result sets, possibly several (COM_QUERY, COM_STMT_EXECUTE). */
  Results = 1,
  /** COM_STMT_PREPARE_OK and its parameter / column definitions. */
  Prepare = 2,
  /** Column definitions up to EOF (COM_FIELD_LIST). */
  FieldList = 3,
  /** Rows up to EOF (COM_STMT_FETCH). */
  Rows = 4,
  /** Exactly one packet, whatever it is (COM_PING, COM_STATISTICS, ...). */
  Single = 5,
  /** An authentication exchange ending in OK or ERR (COM_CHANGE_USER). */
  Auth = 6,
}

/** How the server answers each command. */
export function responseKindOf(command: number): ResponseKind {
  switch (command) {
    case Command.Quit:
    case Command.StmtClose:
    case Command.StmtSendLongData:
      return ResponseKind.None;
    case Command.Query:
    case Command.StmtExecute:
    case Command.StmtBulkExecute:
    case Command.ProcessInfo:
      return ResponseKind.Results;
    case Command.StmtPrepare:
      return ResponseKind.Prepare;
    case Command.FieldList:
      return ResponseKind.FieldList;
    case Command.StmtFetch:
      return ResponseKind.Rows;
    case Command.ChangeUser:
      return ResponseKind.Auth;
    default:
      return ResponseKind.Single;
  }
}

enum Phase {
  First = 0,
  Columns = 1,
  ColumnsEof = 2,
  Rows = 3,
  Params = 4,
  ParamsEof = 5,
  PrepareColumns = 6,
  PrepareColumnsEof = 7,
}

/** What one server packet meant. */
export enum Outcome {
  /** The response goes on. */
  Continue = 0,
  /** The oldest pending response is complete. */
  Complete = 1,
  /** No response was pending: the server spoke on its own (e.g. an ERR before closing a killed connection). */
  Unsolicited = 2,
}

/** What the server now waits for from the client, in the middle of a response. */
export enum AwaitingClient {
  Nothing = 0,
  /** After a LOCAL INFILE request: file packets up to an empty packet. */
  Infile = 1,
  /** After an auth switch or more-data packet in COM_CHANGE_USER. */
  Auth = 2,
}

interface Pending<T> {
  kind: ResponseKind;
  tag: T;
}

/**
 * @example
 * const t = new ResponseTracker<number>(true);
 * t.expect(ResponseKind.Results, performance.now());
 * if (t.onPacket(head, length, false) === Outcome.Complete) record(t.completedTag);
 */
export class ResponseTracker<T = unknown> {
  private readonly queue: Pending<T>[] = [];
  private phase: Phase = Phase.First;
  private count = 0;
  private prepareColumns = 0;
  /** Status flags of the last OK / EOF seen (SERVER_STATUS_IN_TRANS tells an open transaction). */
  statusFlags = 0;
  /** The statement id of the last COM_STMT_PREPARE the server answered with an OK. */
  lastPreparedId: number | null = null;
  /** The parameter count of that statement. */
  lastPreparedParams = 0;
  awaiting: AwaitingClient = AwaitingClient.Nothing;
  /** Tag of the response that just completed, and whether it ended in an ERR. */
  completedTag: T | undefined;
  completedWithError = false;

  constructor(
    /** CLIENT_DEPRECATE_EOF was agreed: no EOF after column definitions, OK (0xFE) ends rows. */
    private readonly deprecateEof: boolean,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  get inTransaction(): boolean {
    return (this.statusFlags & ServerStatus.InTrans) !== 0;
  }

  /**
   * The response being received is in its rows: until a packet that starts
   * with 0xFE (a terminator shorter than 16 MB) or 0xFF (ERR), every packet
   * is a row and leaves the tracker as it is (`onPacketAt` answers Continue).
   */
  get inRows(): boolean {
    const current = this.queue[0];
    // Phase.Rows is only ever reached in the results of a COM_QUERY / COM_STMT_EXECUTE.
    return current !== undefined && (this.phase === Phase.Rows || current.kind === ResponseKind.Rows);
  }

  /** Tag of the oldest pending response (the one being received), if any. */
  firstTag(): T | undefined {
    return this.queue[0]?.tag;
  }

  /** Tag of the newest pending response, if any. */
  lastTag(): T | undefined {
    return this.queue[this.queue.length - 1]?.tag;
  }

  /** A command went upstream; `kind` None is ignored. */
  expect(kind: ResponseKind, tag: T): void {
    if (kind === ResponseKind.None) return;
    this.queue.push({ kind, tag });
  }

  /** The client sent a packet that belongs to the current exchange (file data, auth data). */
  clientData(empty: boolean): void {
    if (this.awaiting === AwaitingClient.Infile) {
      if (empty) this.awaiting = AwaitingClient.Nothing;
    } else {
      this.awaiting = AwaitingClient.Nothing;
    }
  }

  /**
   * One server packet: `head` is its first bytes (at least 64 or the whole
   * payload), `length` its full payload length.
   */
  onPacket(head: Buffer, length: number, continuation: boolean): Outcome {
    return this.onPacketAt(head, 0, head.length, length, continuation);
  }

  /**
   * `onPacket` with the head at `buf[headStart, headStart + headLength)`,
   * read in place (the relay calls this for every server packet).
   */
  onPacketAt(
    buf: Buffer,
    headStart: number,
    headLength: number,
    length: number,
    continuation: boolean,
  ): Outcome {
    const current = this.queue[0];
    if (current === undefined) return Outcome.Unsolicited;
    // The rest of a >= 16 MB message (a big row) is never a terminator.
    if (continuation) return Outcome.Continue;
    const end = headStart + headLength;
    const first = length === 0 ? -1 : buf[headStart]!;
    switch (current.kind) {
      case ResponseKind.Single:
        if (first === ResponseHeader.Ok || this.isTerminator(first, length))
          this.statusFlags = terminatorStatusAt(buf, headStart, end);
        return this.complete(first === ResponseHeader.Err);
      case ResponseKind.Auth:
        return this.onAuth(buf, headStart, end, first);
      case ResponseKind.FieldList:
        if (first === ResponseHeader.Err) return this.complete(true);
        if (this.isTerminator(first, length)) return this.complete(false);
        return Outcome.Continue;
      case ResponseKind.Rows:
        return this.onRows(buf, headStart, end, first, length, false);
      case ResponseKind.Prepare:
        return this.onPrepare(buf, headStart, end, first);
      default:
        return this.onResults(buf, headStart, end, first, length);
    }
  }

  private isTerminator(first: number, length: number): boolean {
    // A text row starting with 0xFE (8-byte length prefix) is at least 16 MB long, so a shorter 0xFE is an EOF / OK.
    return first === ResponseHeader.Eof && length < MAX_PACKET_PAYLOAD;
  }

  private complete(error: boolean): Outcome {
    const done = this.queue.shift()!;
    this.completedTag = done.tag;
    this.completedWithError = error;
    this.phase = Phase.First;
    this.awaiting = AwaitingClient.Nothing;
    return Outcome.Complete;
  }

  // The methods below read the packet's head at buf[at, end) in place: no view is made per packet.

  private onAuth(buf: Buffer, at: number, end: number, first: number): Outcome {
    if (first === ResponseHeader.Ok) {
      this.statusFlags = terminatorStatusAt(buf, at, end);
      return this.complete(false);
    }
    if (first === ResponseHeader.Err) return this.complete(true);
    // AuthSwitchRequest (0xFE) or AuthMoreData (0x01): the client may answer.
    this.awaiting = AwaitingClient.Auth;
    return Outcome.Continue;
  }

  private onResults(buf: Buffer, at: number, end: number, first: number, length: number): Outcome {
    switch (this.phase) {
      case Phase.First:
        if (first === ResponseHeader.Ok) return this.endOfResult(buf, at, end);
        if (first === ResponseHeader.Err) return this.onErr(buf, at, end);
        if (first === ResponseHeader.LocalInfile) {
          this.awaiting = AwaitingClient.Infile;
          return Outcome.Continue;
        }
        // A one-byte column count is the byte itself; longer forms are decoded (and checked).
        this.count = first < 0xfb ? first : decodeColumnCount(buf.subarray(at, end));
        this.phase = Phase.Columns;
        return Outcome.Continue;
      case Phase.Columns:
        if (--this.count === 0) this.phase = this.deprecateEof ? Phase.Rows : Phase.ColumnsEof;
        return Outcome.Continue;
      case Phase.ColumnsEof:
        if (first === ResponseHeader.Err) return this.onErr(buf, at, end);
        this.statusFlags = terminatorStatusAt(buf, at, end);
        // COM_STMT_EXECUTE that opened a cursor: rows come later through COM_STMT_FETCH.
        if (this.statusFlags & ServerStatus.CursorExists) return this.complete(false);
        this.phase = Phase.Rows;
        return Outcome.Continue;
      default:
        return this.onRows(buf, at, end, first, length, true);
    }
  }

  private onRows(
    buf: Buffer,
    at: number,
    end: number,
    first: number,
    length: number,
    multi: boolean,
  ): Outcome {
    if (first === ResponseHeader.Err) return this.onErr(buf, at, end);
    if (!this.isTerminator(first, length)) return Outcome.Continue;
    if (!multi) {
      this.statusFlags = terminatorStatusAt(buf, at, end);
      return this.complete(false);
    }
    return this.endOfResult(buf, at, end);
  }

  /** An OK or the terminator of a result set: another result follows when MORE_RESULTS_EXISTS is set. */
  private endOfResult(buf: Buffer, at: number, end: number): Outcome {
    this.statusFlags = terminatorStatusAt(buf, at, end);
    if (this.statusFlags & ServerStatus.MoreResultsExist) {
      this.phase = Phase.First;
      return Outcome.Continue;
    }
    return this.complete(false);
  }

  private onErr(buf: Buffer, at: number, end: number): Outcome {
    // MariaDB progress reports use the ERR header with code 0xFFFF; the proxy clears
    // MARIADB_CLIENT_PROGRESS, but a report is still no terminator.
    if (end - at >= 3 && buf[at + 1] === 0xff && buf[at + 2] === 0xff) return Outcome.Continue;
    return this.complete(true);
  }

  private onPrepare(buf: Buffer, at: number, end: number, first: number): Outcome {
    switch (this.phase) {
      case Phase.First: {
        if (first === ResponseHeader.Err) return this.complete(true);
        if (first !== ResponseHeader.Ok) {
          throw new ProtocolError(
            `unexpected 0x${first.toString(16)} answering COM_STMT_PREPARE`,
            'COM_STMT_PREPARE_OK',
            0,
          );
        }
        const ok = decodeStmtPrepareOk(buf.subarray(at, end));
        this.lastPreparedId = ok.statementId;
        this.lastPreparedParams = ok.numParams;
        this.prepareColumns = ok.numColumns;
        if (ok.numParams > 0) {
          this.count = ok.numParams;
          this.phase = Phase.Params;
          return Outcome.Continue;
        }
        return this.prepareColumnsNext();
      }
      case Phase.Params:
        if (--this.count > 0) return Outcome.Continue;
        if (!this.deprecateEof) {
          this.phase = Phase.ParamsEof;
          return Outcome.Continue;
        }
        return this.prepareColumnsNext();
      case Phase.ParamsEof:
        return this.prepareColumnsNext();
      case Phase.PrepareColumns:
        if (--this.count > 0) return Outcome.Continue;
        if (!this.deprecateEof) {
          this.phase = Phase.PrepareColumnsEof;
          return Outcome.Continue;
        }
        return this.complete(false);
      default:
        return this.complete(false);
    }
  }

  private prepareColumnsNext(): Outcome {
    if (this.prepareColumns === 0) return this.complete(false);
    this.count = this.prepareColumns;
    this.phase = Phase.PrepareColumns;
    return Outcome.Continue;
  }
}
