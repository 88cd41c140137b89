import type { FleetControls } from '../fleet/controls.ts';
import { log } from '../proxy/log.ts';
import type { ThrottleController } from './controller.ts';
import { setKnob } from './knobs.ts';

/** The fleet's PAUSE / RESUME / SET, applied to this proxy's throttle (it matters where the runner is). */
export function applyFleetControls(throttle: ThrottleController, controls: FleetControls): void {
  if (controls.paused !== throttle.isPaused) {
    if (controls.paused) throttle.pause();
    else throttle.resume();
  }
  // Bounds in both orders: min_batch may only fit under the max_batch set after it.
  let pending = Object.entries(controls.knobs);
  for (let pass = 0; pass < 2 && pending.length > 0; pass++) {
    const failed: [string, string][] = [];
    for (const [knob, value] of pending) {
      try {
        throttle.knobs = setKnob(throttle.knobs, knob, value);
      } catch {
        failed.push([knob, value]);
      }
    }
    pending = failed;
  }
  for (const [knob, value] of pending) log.warn('fleet throttle knob not applied', { knob, value });
}
