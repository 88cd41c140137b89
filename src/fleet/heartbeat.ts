import type { ControlsChange, FleetControls } from './controls.ts';

/**
 * What one proxy tells the rest of the fleet through the state store, once
 * a second (DESIGN.md section 7): who it is, its live sessions and its
 * client latency. Dialect-neutral; each dialect's fleet store writes and
 * reads it.
 */

/** One client session as other proxies see it (the data behind SHOW SHIFTGATE SESSIONS). */
export interface FleetSession {
  id: number;
  user: string | null;
  database: string | null;
  clientAddress: string;
  applicationName: string | null;
  /** Migration name the session is bound to; null = the schema before any migration. */
  version: string | null;
  connectedAt: string;
  statements: number;
  p99Ms: number | null;
  /** The session ran nothing but admin commands: it is no client of a version. */
  adminOnly: boolean;
  /**
   * The server's id of its upstream connection (PostgreSQL backend pid,
   * MySQL thread id), once known: another proxy finds the owner of a cancel
   * or KILL by it. Absent in heartbeats of older proxies.
   */
  backendId?: number | null;
}

/** A compact summary of the client latency of the last seconds. */
export interface LatencySummary {
  windowSeconds: number;
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /**
   * The non-empty slots of the window's histogram as [slot, count] pairs, so
   * a reader can merge proxies into one fleet-wide quantile.
   */
  buckets: [number, number][];
}

/** What a proxy writes at each heartbeat. */
export interface ProxyHeartbeat {
  id: string;
  host: string;
  /** Where its clients connect (HOST:PORT). */
  listen: string;
  /**
   * Where it takes the cancel requests other proxies forward (HOST:PORT,
   * reachable from them), or null when its dialect forwards none.
   */
  peer: string | null;
  shiftgateVersion: string;
  pid: number;
  startedAt: Date;
  sessions: FleetSession[];
  latency: LatencySummary;
  /** The migration this proxy's runner is carrying out now (it holds the migration lock), if any. */
  running: string | null;
}

/** A heartbeat as read back, with its age by the database's clock (proxies' clocks never compared). */
export interface LiveProxy extends ProxyHeartbeat {
  heartbeatAt: Date;
  heartbeatAgeMs: number;
}

/**
 * The fleet's rows in the state store, on a connection of their own. Rows
 * are scoped by the upstream database the proxies serve: on MySQL the
 * `shiftgate` database is shared by every database of the server.
 */
export interface FleetStore {
  /** Creates the proxies table when missing (idempotent, safe against a concurrent init). */
  init(): Promise<void>;
  /** Inserts or refreshes this proxy's row, stamped with the database's clock. */
  beat(scope: string, heartbeat: ProxyHeartbeat): Promise<void>;
  /** Rows whose heartbeat is at most `timeoutMs` old. */
  live(scope: string, timeoutMs: number): Promise<LiveProxy[]>;
  /** Deletes the scope's rows whose heartbeat is older than `olderThanMs` (each fleet may set its own timeout). */
  sweep(scope: string, olderThanMs: number): Promise<number>;
  /** Deletes one proxy's row (its clean exit). */
  remove(scope: string, id: string): Promise<void>;
  /** The fleet's controls, or null when none was ever recorded. */
  controls(scope: string): Promise<FleetControls | null>;
  /** Records a change to the controls (one statement; concurrent changes of different fields both stay). */
  changeControls(scope: string, change: ControlsChange): Promise<void>;
  /** The connection is gone: every call fails from now on. */
  readonly lost: boolean;
  close(): Promise<void>;
}

/** What the admin console asks of the fleet. */
export interface FleetView {
  /** This proxy's id in the fleet. */
  readonly id: string;
  /** The live proxies now, read from the store (this one included once it has written a heartbeat). */
  live(): Promise<LiveProxy[]>;
  /**
   * The live proxies once each other one has written a heartbeat after this
   * call began: their sessions as they are now, not as of a second ago.
   */
  fresh(): Promise<LiveProxy[]>;
  /** Records a command for every proxy (the runner among them) to apply at its next heartbeat. */
  changeControls(change: ControlsChange): Promise<void>;
}
