import type { Config } from '../config/schema.ts';
import { clientError } from '../proxy/client-error.ts';

/** The throttle's knobs: the config's `throttle` section, changeable live with `SHIFTGATE SET`. */
export type ThrottleKnobs = Config['throttle'];

type KnobName = keyof ThrottleKnobs;

const RULES: Record<KnobName, { min: number; integer: boolean; nullable: boolean }> = {
  target_batch_ms: { min: 1, integer: false, nullable: false },
  min_batch: { min: 1, integer: true, nullable: false },
  max_batch: { min: 1, integer: true, nullable: false },
  latency_headroom: { min: 1, integer: false, nullable: false },
  max_client_p99_ms: { min: 0.001, integer: false, nullable: true },
  max_replica_lag_ms: { min: 1, integer: false, nullable: false },
};

export const KNOB_NAMES = Object.keys(RULES) as KnobName[];

/**
 * Validates and applies one `SHIFTGATE SET <knob> = <value>`, returning the
 * new knobs. `null` (or `none`) clears a nullable ceiling.
 */
export function setKnob(knobs: ThrottleKnobs, name: string, raw: string): ThrottleKnobs {
  const rule = RULES[name as KnobName];
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
  return next;
}
