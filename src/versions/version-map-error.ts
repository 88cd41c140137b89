/**
 * The migration history does not fit the physical schema (a change names a
 * table or column that is not there, a second migration in flight, ...).
 * The proxy keeps its previous map and logs this; it is a bug or a race in
 * the state store, never a client's fault.
 */
export class VersionMapError extends Error {
  constructor(
    message: string,
    /** The migration (version) whose changes could not be applied. */
    readonly migration: string,
    /** Index of the offending change in that migration's list, or -1 for the history as a whole. */
    readonly change: number,
  ) {
    super(message);
    this.name = 'VersionMapError';
  }
}
