/**
 * Names of the objects Shiftgate creates next to the user's: shadow columns,
 * temporary constraint / index names, sync triggers. All start with
 * `_shiftgate_` so that an operator can tell them apart at a glance, and all
 * fit the dialect's identifier limit (a long name is cut and ends in a hash,
 * so two long names never collide).
 */
import { createHash } from 'node:crypto';
import type { MigrationCapabilities } from './dialect.ts';

export function boundedName(max: number, ...parts: string[]): string {
  const full = parts.join('');
  if (Buffer.byteLength(full) <= max) return full;
  const hash = createHash('sha1').update(full).digest('hex').slice(0, 8);
  let cut = full;
  while (Buffer.byteLength(cut) > max - 9) cut = cut.slice(0, -1);
  return `${cut}_${hash}`;
}

/** The column a changed column's new version lives in until complete. */
export const shadowColumnName = (caps: MigrationCapabilities, column: string) =>
  boundedName(caps.maxIdentifierLength, '_shiftgate_new_', column);

/** A constraint or index built for the new version, renamed to `name` at complete. */
export const temporaryName = (caps: MigrationCapabilities, name: string) =>
  boundedName(caps.maxIdentifierLength, '_shiftgate_tmp_', name);

/** The NOT VALID check that stands in for NOT NULL until complete. */
export const notNullCheckName = (caps: MigrationCapabilities, column: string) =>
  boundedName(caps.maxIdentifierLength, '_shiftgate_nn_', column);

export const syncTriggerName = (caps: MigrationCapabilities, key: string) =>
  boundedName(caps.maxIdentifierLength, '_shiftgate_sync_', key);
