import type { Phase } from './state.ts';

/** One attempt of a migration's switch: the contract or rollback transaction. */
export interface SwitchInfo {
  schema: string;
  migration: string;
  phase: Extract<Phase, 'contracting' | 'rolling_back'>;
  /** Names of the tables the migration changes, logical (both versions) and physical. */
  tables: string[];
  attempt: number;
  /**
   * Server ids of the sessions holding a lock on the tables now (the
   * transactions the switch waits for); absent when the engine cannot say.
   */
  lockHolders?: () => Promise<number[]>;
}

export interface SwitchLease {
  /**
   * performance.now() after which the proxies stop holding statements on
   * their own: the switch must not commit after it, since statements then
   * flow translated for the schema before the switch.
   */
  readonly deadline: number;
}

/**
 * How the engine lets the proxies around it get out of the way of a
 * switch: `hold` before each attempt (they stop sending statements on the
 * migration's tables, outside transactions, and resolve once what they
 * already sent is answered), `end` after it, committed or not (they go on
 * once they know which schema is in force). Without a gate the switch runs
 * as it is.
 */
export interface SwitchGate {
  hold(info: SwitchInfo): Promise<SwitchLease>;
  /**
   * The switch has begun changing the schema and cannot go back (an engine
   * without transactional DDL committed its first switching action): the
   * hold must last until `end`, past its deadline, so that no statement
   * meets the half-switched schema. Each held statement is still bounded.
   */
  pin?(info: SwitchInfo, lease: SwitchLease): void;
  end(info: SwitchInfo, lease: SwitchLease): void;
}
