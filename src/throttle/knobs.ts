import type { Config } from '../config/schema.ts';
import { clientError } from '../proxy/client-error.ts';

/** The throttle's knobs: the config's `throttle` section, changeable live with `SHIFTGATE SET`. */
export type ThrottleKnobs = Config['throttle'];

type KnobName = keyof ThrottleKnobs;
type NumericKnob = Exclude<KnobName, 'controller'>;

/** The controllers `throttle.controller` chooses from. */
export const CONTROLLERS = ['pace', 'aimd', 'fixed'] as const;

const RULES: Record<NumericKnob, { min: number; integer: boolean; nullable: boolean }> = {
  start_rate: { min: 1, integer: false, nullable: false },
  min_rate: { min: 1, integer: false, nullable: false },
  max_rate: { min: 1, integer: false, nullable: true },
  pace_interval_ms: { min: 10, integer: false, nullable: false },
  nice_ratio: { min: 0, integer: false, nullable: false },
  target_batch_ms: { min: 1, integer: false, nullable: false },
  min_batch: { min: 1, integer: true, nullable: false },
  max_batch: { min: 1, integer: true, nullable: false },
  latency_headroom: { min: 1, integer: false, nullable: false },
  max_client_p99_ms: { min: 0.001, integer: false, nullable: true },
  max_replica_lag_ms: { min: 1, integer: false, nullable: false },
};

export const KNOB_NAMES: KnobName[] = ['controller', ...(Object.keys(RULES) as NumericKnob[])];

/**
 * Validates and applies one `SHIFTGATE SET <knob> = <value>`, returning the
 * new knobs. `null` (or `none`) clears a nullable ceiling; `controller`
 * takes one of `pace`, `aimd`, `fixed`.
 */
export function setKnob(knobs: ThrottleKnobs, name: string, raw: string): ThrottleKnobs {
  if (name === 'controller') {
    const value = raw.toLowerCase();
    if (!(CONTROLLERS as readonly string[]).includes(value)) {
      throw clientError(
        'invalidParameter',
        `invalid value "${raw}" for throttle knob "controller"`,
        `expected one of ${CONTROLLERS.join(', ')}`,
      );
    }
    return { ...knobs, controller: value as ThrottleKnobs['controller'] };
  }
  const rule = RULES[name as NumericKnob];
  if (!rule) {
    throw clientError(
      'invalidParameter',
      `unknown throttle knob "${name}"`,
      `knobs: ${KNOB_NAMES.join(', ')}`,
    );
  }
  let value: number | null;
  if (/^(null|none|off)$/i.test(raw)) {
    if (!rule.nullable) throw clientError('invalidParameter', `throttle knob "${name}" cannot be unset`);
    value = null;
  } else {
    value = Number(raw);
    if (!Number.isFinite(value) || value < rule.min || (rule.integer && !Number.isInteger(value))) {
      throw clientError(
        'invalidParameter',
        `invalid value "${raw}" for throttle knob "${name}": expected ${rule.integer ? 'an integer' : 'a number'} >= ${rule.min}`,
      );
    }
  }
  const next = { ...knobs, [name]: value } as ThrottleKnobs;
  if (next.min_batch > next.max_batch) {
    throw clientError(
      'invalidParameter',
      `min_batch (${next.min_batch}) cannot exceed max_batch (${next.max_batch})`,
    );
  }
  if (next.min_rate > (next.max_rate ?? Number.POSITIVE_INFINITY)) {
    throw clientError(
      'invalidParameter',
      `min_rate (${next.min_rate}) cannot exceed max_rate (${next.max_rate})`,
    );
  }
  return next;
}
