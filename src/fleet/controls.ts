/**
 * The operator's commands that concern whichever proxy runs the migration
 * (DESIGN.md section 7): any proxy accepts PAUSE, RESUME, SET and ROLLBACK,
 * records them here in the state store, and every proxy applies them at its
 * next heartbeat, so they hold on the runner wherever it is, and on the one
 * that takes over when it dies.
 */
export interface FleetControls {
  /** Bumped by every change: a proxy applies pause and knobs only when it moves (local-only changes stay). */
  revision: number;
  paused: boolean;
  /** Throttle knobs set with SHIFTGATE SET, as their text values. */
  knobs: Record<string, string>;
  /** A migration whose rollback was asked for; whoever holds the migration lock carries it out. */
  rollback: string | null;
}

/** One change to the controls: fields left out stay as they are; knobs are merged. */
export interface ControlsChange {
  paused?: boolean;
  knobs?: Record<string, string>;
  rollback?: string | null;
}
