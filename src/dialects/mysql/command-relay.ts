/**
 * Client commands in the command phase, on their way upstream: framed
 * whole when the proxy must read them (KILL, admin commands, version
 * binding: see `command-router.ts`), relayed in pieces as their bytes
 * arrive when it need not (large packets, LOAD DATA LOCAL content), joined
 * when a 16 MB+ statement must be routed whole, and held in order behind a
 * routing decision that waits for the router.
 */
import { ProtocolError } from '../../proxy/protocol-error.ts';
import type { SessionInfo } from '../../proxy/session.ts';
import { PiecewisePrefilter } from '../../proxy/statement-prefilter.ts';
import type { StatementRouter } from '../../proxy/statement-router.ts';
import type { CommandMessage, CommandRouter, Forward } from './command-router.ts';
import type { Packet, PacketFramer, PacketSink } from './framer.ts';
import { mayBeKill } from './kill.ts';
import type { LocalStatements } from './prepared-statements.ts';
import { Command, MAX_PACKET_PAYLOAD } from './protocol.ts';
import { AwaitingClient, type ResponseTracker } from './response.ts';
import type { CommandTag } from './response-follower.ts';

/**
 * Client packets from this size up are relayed in pieces as their bytes
 * arrive, when the proxy does not need them whole (see `streamDecision`):
 * a 16 MB packet is then neither waited for nor copied on the event loop
 * that every session shares. Smaller packets are framed whole (one copy at
 * most, of at most this much). NOTE: above 3 * 64 KiB, so a streamed
 * COM_QUERY is never one `matchKill` could take for a KILL.
 */
export const STREAM_FROM_BYTES = 256 * 1024;

/** Pipelined writes up to this many bytes are joined into one write; larger ones go as they are, corked. */
const JOIN_WRITES_UP_TO = 64 * 1024;

/** A client message relayed in pieces as its bytes arrive. */
interface ClientStream {
  /** The command byte; -1 for the rest of a message whose first packet was relayed whole. */
  command: number;
  /** The packet is LOAD DATA LOCAL content. */
  infile: boolean;
  /** The physical packet being relayed is 0xFFFFFF bytes long: the message goes on in the next. */
  packetContinues: boolean;
  /**
   * A statement the router may have to see whole: its pieces are held, not
   * forwarded, while the router's prefilter runs over them as they come.
   */
  held: HeldStatement | null;
}

interface HeldStatement {
  raw: Buffer[];
  payload: Buffer[];
  payloadBytes: number;
  prefilter: PiecewisePrefilter;
  lastSequenceId: number;
}

/** The packets of one 16 MB+ command message as one command: payloads joined, raw bytes kept. */
function joinCommand(packets: Packet[]): CommandMessage {
  const payload = Buffer.concat(packets.map((p) => p.payload));
  return {
    command: payload[0]!,
    payload,
    raw: Buffer.concat(packets.map((p) => p.raw)),
    lastSequenceId: packets[packets.length - 1]!.sequenceId,
  };
}

/** What the relay needs of the session it relays for. */
export interface CommandRelayHost {
  readonly info: SessionInfo;
  /** The tracker of the responses the client is owed (what the client may send next: commands, infile data, auth). */
  tracker(): ResponseTracker<CommandTag>;
  /** The client leg is compressed: packets are framed whole and held ones keep their compressed sequence ids. */
  compressed(): boolean;
  /** The sequence id the client expects next in the current response (for errors the proxy writes). */
  setNextClientSeq(sequenceId: number): void;
  startClientResponse(compressedSeq: number): void;
  /** A command is going upstream: its response, if it has one, is next to follow. */
  expectResponse(command: number, onSuccess: (() => void) | null): void;
  writeUpstream(buf: Buffer): void;
  /** Writes the buffers upstream in one corked batch. */
  writeUpstreamCorked(bufs: Buffer[]): void;
  /** Stops reading the client while a routing decision is pending. */
  pauseClient(): void;
  /** A pending routing decision was applied and the commands behind it relayed: the session may read on. */
  decisionApplied(): void;
  /** The session ended. */
  closed(): boolean;
  protocolError(err: unknown): void;
}

/** The client-to-server command stream of one session. */
export class CommandRelay {
  /** Compressed sequence id of the client's compressed packet being read (or of the held packet being relayed). */
  clientFrameSeq = 0;
  /** Compressed sequence ids of the packets held in the backlog, for when they are relayed. */
  private readonly backlogFrameSeq = new WeakMap<Packet, number>();
  /** Client packets held back while a routing decision is pending, relayed in order once it is in. */
  private backlog: Packet[] | null = null;
  /** The packets so far of a 16 MB+ statement the router must see whole. */
  private assembling: Packet[] | null = null;
  /** The client message being relayed in pieces, or null. */
  private clientStream: ClientStream | null = null;

  constructor(
    private readonly host: CommandRelayHost,
    private readonly router: StatementRouter | null,
    private readonly commands: CommandRouter,
    private readonly statements: LocalStatements,
  ) {}

  /** A routing decision is pending: client packets wait in the backlog. */
  get deciding(): boolean {
    return this.backlog !== null;
  }

  /** A client message is being relayed in pieces. */
  get streaming(): boolean {
    return this.clientStream !== null;
  }

  /** Client packets or pieces of them are kept for later: backlog, an assembled statement, held pieces. */
  get holdsPackets(): boolean {
    return this.backlog !== null || this.assembling !== null || this.clientStream !== null;
  }

  /**
   * A chunk of client bytes in the command phase: whole packets and pieces
   * of streamed ones. The sink and the list of buffers to write are made
   * once per session, not per chunk.
   */
  relayChunk(framer: PacketFramer, chunk: Buffer): void {
    // Whatever a chunk that failed (a malformed packet ends the session) left is not sent.
    if (this.out.length > 0) this.out = [];
    framer.feed(chunk, this.sink);
    this.flushUpstream(this.out);
  }

  /** What the chunk being relayed sends upstream, in order. */
  private out: Buffer[] = [];

  private readonly sink: PacketSink = {
    packet: (p) => this.relayPacket(p, this.out),
    large: (head, length, sequenceId, continuation) =>
      this.streamDecision(head, length, sequenceId, continuation),
    piece: (raw, payload, last) => this.relayPiece(raw, payload, last, this.out),
  };

  relayPackets(packets: Packet[]): void {
    const out: Buffer[] = [];
    for (const p of packets) this.relayPacket(p, out);
    this.flushUpstream(out);
  }

  private relayPacket(p: Packet, out: Buffer[]): void {
    if (this.backlog !== null) {
      // A routing decision is pending: everything behind it waits, in order.
      if (this.host.compressed()) this.backlogFrameSeq.set(p, this.clientFrameSeq);
      this.backlog.push(p);
      return;
    }
    const heldFrameSeq = this.backlogFrameSeq.get(p);
    if (heldFrameSeq !== undefined) this.clientFrameSeq = heldFrameSeq;
    const tracker = this.host.tracker();
    if (this.clientStream !== null) {
      // The last packet of a streamed message, short enough to come whole.
      this.continueStream(this.clientStream, p.sequenceId, p.continues);
      this.relayPiece(p.raw, p.payload, true, out);
      return;
    }
    this.host.setNextClientSeq((p.sequenceId + 1) & 0xff);
    if (tracker.awaiting === AwaitingClient.Infile) {
      // LOAD DATA LOCAL INFILE content, up to an empty packet.
      this.host.startClientResponse(this.clientFrameSeq);
      out.push(p.raw);
      tracker.clientData(p.payload.length === 0);
      return;
    }
    if (this.assembling !== null) {
      this.assembling.push(p);
      if (!p.continues) this.onCommand(joinCommand(this.assembling), out);
      return;
    }
    if (p.continuation) {
      out.push(p.raw);
      return;
    }
    if (p.sequenceId !== 0) {
      if (tracker.awaiting === AwaitingClient.Auth) {
        this.host.startClientResponse(this.clientFrameSeq);
        out.push(p.raw);
        tracker.clientData(false);
        return;
      }
      throw new ProtocolError(`command packet with sequence id ${p.sequenceId}`, 'command', 0);
    }
    if (p.payload.length === 0) throw new ProtocolError('empty command packet', 'command', 0);
    const command = p.payload[0]!;
    if (p.continues) {
      if (this.router !== null && (command === Command.Query || command === Command.StmtPrepare)) {
        // The router must see a 16 MB+ statement whole; its packets are held until the last one.
        this.assembling = [p];
      } else {
        this.host.info.ranClientStatements = true;
        this.forward(command, { raw: p.raw, onSuccess: null }, out);
      }
      return;
    }
    this.onCommand({ command, payload: p.payload, raw: p.raw, lastSequenceId: p.sequenceId }, out);
  }

  /**
   * Whether a large client packet (header and first bytes in) is relayed in
   * pieces. Streamed and forwarded as they come: LOAD DATA LOCAL content,
   * the rest of a message already on its way, and commands the proxy
   * passes through without reading past their first bytes (COM_STMT_EXECUTE,
   * COM_STMT_SEND_LONG_DATA and bulk execute of server statements; without
   * a router, COM_QUERY and COM_STMT_PREPARE). Streamed but held: a
   * COM_QUERY or COM_STMT_PREPARE the router may want, scanned by its
   * prefilter as it comes and forwarded piece by piece, unjoined, unless it
   * turns out to be one for the router. Anything else, or anything behind a
   * pending routing decision, is framed whole as before.
   */
  private streamDecision(head: Buffer, length: number, sequenceId: number, continuation: boolean): boolean {
    // NOTE: a compressed client's packets are framed whole: its response is numbered from the
    // compressed packet that ended the command, which a stream begun earlier would not know.
    if (this.backlog !== null || this.host.compressed()) return false;
    const continues = length === MAX_PACKET_PAYLOAD;
    if (this.clientStream !== null) {
      this.continueStream(this.clientStream, sequenceId, continues);
      return true;
    }
    if (this.host.tracker().awaiting === AwaitingClient.Infile) {
      this.beginStream(-1, sequenceId, continues, { infile: true });
      return true;
    }
    if (this.assembling !== null) return false;
    if (continuation) {
      this.beginStream(-1, sequenceId, continues);
      return true;
    }
    if (sequenceId !== 0 || head.length === 0) return false;
    const command = head[0]!;
    const router = this.router;
    switch (command) {
      case Command.Query:
      case Command.StmtPrepare:
        if (router !== null) {
          this.beginStream(command, sequenceId, continues, { held: router });
          return true;
        }
        if (command === Command.Query && mayBeKill(length - 1)) return false;
        if (command === Command.StmtPrepare) this.statements.preparedUpstream();
        break;
      case Command.StmtExecute:
      case Command.StmtBulkExecute:
      case Command.StmtSendLongData: {
        // A statement the proxy answers itself: framed whole, as before.
        if (this.statements.size > 0 && this.statements.has(this.statements.idIn(head))) {
          return false;
        }
        break;
      }
      default:
        return false;
    }
    this.host.info.ranClientStatements = true;
    this.beginStream(command, sequenceId, continues);
    this.host.expectResponse(command, null);
    return true;
  }

  private beginStream(
    command: number,
    sequenceId: number,
    continues: boolean,
    options: { infile?: boolean; held?: StatementRouter | null } = {},
  ): void {
    this.host.setNextClientSeq((sequenceId + 1) & 0xff);
    this.clientStream = {
      command,
      infile: options.infile ?? false,
      packetContinues: continues,
      held: options.held
        ? {
            raw: [],
            payload: [],
            payloadBytes: 0,
            prefilter: new PiecewisePrefilter(options.held),
            lastSequenceId: sequenceId,
          }
        : null,
    };
  }

  /** The next physical packet of a streamed message. */
  private continueStream(stream: ClientStream, sequenceId: number, continues: boolean): void {
    this.host.setNextClientSeq((sequenceId + 1) & 0xff);
    stream.packetContinues = continues;
    if (stream.held !== null) stream.held.lastSequenceId = sequenceId;
  }

  private relayPiece(raw: Buffer, payload: Buffer, last: boolean, out: Buffer[]): void {
    const stream = this.clientStream!;
    const held = stream.held;
    if (held === null) out.push(raw);
    else {
      held.raw.push(raw);
      if (payload.length > 0) {
        // The prefilter reads the text, not the command byte (as `mayRoute(payload, 1, ...)` does).
        held.prefilter.feed(held.payloadBytes === 0 ? payload.subarray(1) : payload);
        held.payload.push(payload);
        held.payloadBytes += payload.length;
      }
    }
    if (!last) return;
    if (stream.infile) {
      this.host.tracker().clientData(false);
      this.clientStream = null;
      return;
    }
    if (stream.packetContinues) return;
    this.clientStream = null;
    if (held !== null) this.finishHeldStatement(stream.command, held, out);
  }

  /**
   * A held statement is whole: forwarded piece by piece when the router
   * cannot want it and it cannot be a KILL (what `CommandRouter.inspect` decides
   * for it, without joining or decoding 16 MB), else joined and inspected
   * like any other command.
   */
  private finishHeldStatement(command: number, held: HeldStatement, out: Buffer[]): void {
    if (!held.prefilter.mayRoute && !(command === Command.Query && mayBeKill(held.payloadBytes - 1))) {
      if (command === Command.StmtPrepare) this.statements.preparedUpstream();
      this.host.info.ranClientStatements = true;
      this.host.expectResponse(command, null);
      for (const raw of held.raw) out.push(raw);
      return;
    }
    this.onCommand(
      {
        command,
        payload: Buffer.concat(held.payload, held.payloadBytes),
        raw: Buffer.concat(held.raw),
        lastSequenceId: held.lastSequenceId,
      },
      out,
    );
  }

  private flushUpstream(out: Buffer[]): void {
    if (out.length === 1) this.host.writeUpstream(out[0]!);
    else if (out.length > 1) {
      let bytes = 0;
      for (const b of out) bytes += b.length;
      if (bytes <= JOIN_WRITES_UP_TO) this.host.writeUpstream(Buffer.concat(out, bytes));
      else {
        // Pieces of a streamed packet: one writev, no copy.
        this.host.writeUpstreamCorked(out);
      }
    }
    // Emptied by pop, not by `length = 0`: setting an array's length is a runtime call in V8, per chunk.
    while (out.length > 0) out.pop();
  }

  /** One whole command: forwarded (maybe rewritten), answered by the proxy, or held for a routing decision. */
  private onCommand(msg: CommandMessage, out: Buffer[]): void {
    this.assembling = null;
    const decision = this.commands.inspect(msg);
    if (!(decision instanceof Promise)) {
      this.forward(msg.command, decision, out);
      return;
    }
    // Commands before this one go upstream now; the ones behind it wait for the decision.
    this.flushUpstream(out);
    this.backlog = [];
    this.host.pauseClient();
    const frameSeq = this.clientFrameSeq;
    decision
      .then((forward) => {
        if (this.host.closed()) return;
        this.clientFrameSeq = frameSeq;
        const now: Buffer[] = [];
        this.forward(msg.command, forward, now);
        this.flushUpstream(now);
        const backlog = this.backlog ?? [];
        this.backlog = null;
        if (backlog.length > 0) this.relayPackets(backlog);
        if (this.backlog !== null || this.host.closed()) return;
        this.host.decisionApplied();
      })
      .catch((err: unknown) => this.host.protocolError(err));
  }

  /** Sends a command upstream and expects its response. */
  private forward(command: number, forward: Forward, out: Buffer[]): void {
    if (forward === null) return;
    this.host.expectResponse(command, forward.onSuccess);
    out.push(forward.raw);
  }
}
