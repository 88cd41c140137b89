import { PHASES, type Phase } from '../migrations/state.ts';

/** One step of a migration's phase timeline as the dashboard draws it. */
export interface TimelineStep {
  phase: Phase;
  state: 'done' | 'current' | 'todo';
  /** When this proxy first saw the migration in this phase (or the record says), ISO; null when unknown. */
  at: string | null;
}

// PHASES lists the forward path up to `completed`, then the way back.
const FORWARD: Phase[] = PHASES.slice(0, PHASES.indexOf('completed') + 1);
const BACK: Phase[] = PHASES.slice(PHASES.indexOf('completed') + 1);

/**
 * When each phase of each migration was first seen. The state store keeps
 * only the current phase and a few dates, so the timeline's other dates come
 * from this proxy watching; a phase it never saw keeps a null date.
 */
export class PhaseLog {
  private readonly seen = new Map<string, Map<Phase, number>>();

  observe(migration: string, phase: Phase, at = Date.now()): void {
    let phases = this.seen.get(migration);
    if (!phases) {
      // Bounded: a proxy that runs for years does not keep every migration it ever saw.
      if (this.seen.size >= 50) this.seen.delete(this.seen.keys().next().value!);
      phases = new Map();
      this.seen.set(migration, phases);
    }
    if (!phases.has(phase)) phases.set(phase, at);
  }

  /**
   * The path to `phase`: the forward phases, or, for a rollback, the forward
   * phases it is known to have reached followed by the two rollback phases.
   */
  timeline(
    migration: string,
    phase: Phase,
    known: { createdAt: Date; activeAt: Date | null; completedAt: Date | null },
  ): TimelineStep[] {
    const seen = this.seen.get(migration) ?? new Map<Phase, number>();
    const dates = new Map<Phase, number>(seen);
    dates.set('pending', known.createdAt.getTime());
    if (known.activeAt) dates.set('active', known.activeAt.getTime());
    if (known.completedAt && phase === 'completed') dates.set('completed', known.completedAt.getTime());
    let path = FORWARD;
    if (BACK.includes(phase)) {
      const reached = Math.max(0, ...FORWARD.map((p, i) => (dates.has(p) ? i : 0)));
      path = [...FORWARD.slice(0, reached + 1), ...BACK];
    }
    const at = path.indexOf(phase);
    return path.map((p, i) => ({
      phase: p,
      state:
        i < at
          ? 'done'
          : i === at
            ? phase === 'completed' || phase === 'rolled_back'
              ? 'done'
              : 'current'
            : 'todo',
      at: dates.has(p) ? new Date(dates.get(p)!).toISOString() : null,
    }));
  }
}

export function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}
