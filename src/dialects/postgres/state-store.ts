/**
 * The migration state store in the `shiftgate` schema of the upstream
 * PostgreSQL database. A partial unique index enforces one in-flight
 * migration per schema, whoever writes the row.
 */
import type pg from 'pg';
import type { SchemaModel } from '../../migrations/model.ts';
import { redactSecrets } from '../../migrations/redact.ts';
import type {
  CheckpointRecord,
  MigrationRecord,
  Phase,
  PhaseUpdate,
  StateStore,
} from '../../migrations/state.ts';
import { STATE_SCHEMA } from './triggers.ts';

function redactedOrNull(text: string | null | undefined): string | null {
  return text == null ? null : redactSecrets(text);
}

function redactStrings(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redactSecrets(value) : value;
}

type Queryable = Pick<pg.Client, 'query'>;

const S = STATE_SCHEMA;

/** First key of Shiftgate's two-key advisory locks ('shif'), as in the migration driver. */
export const INIT_LOCK_CLASS = 0x73686966 | 0;
/** Second key of the lock that serialises creating the state schema's tables. */
export const INIT_LOCK_NAME = `${S} state store`;

const DDL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.migrations (
  schema_name   text NOT NULL,
  name          text NOT NULL,
  parent        text,
  phase         text NOT NULL,
  phase_done    boolean NOT NULL DEFAULT false,
  step          integer NOT NULL DEFAULT 0,
  migration     jsonb NOT NULL,
  schema_before jsonb NOT NULL,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  active_at     timestamptz,
  completed_at  timestamptz,
  latency_report jsonb,
  PRIMARY KEY (schema_name, name)
);

CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_in_flight ON ${S}.migrations (schema_name)
  WHERE phase NOT IN ('completed', 'rolled_back');
CREATE TABLE IF NOT EXISTS ${S}.backfill_checkpoints (
  schema_name     text NOT NULL,
  migration       text NOT NULL,
  table_name      text NOT NULL,
  key_columns     text[] NOT NULL,
  last_key        text[],
  up_to           text[],
  rows_done       bigint NOT NULL DEFAULT 0,
  rows_total      bigint NOT NULL DEFAULT 0,
  done            boolean NOT NULL DEFAULT false,
  batch_size      integer NOT NULL DEFAULT 0,
  rows_per_second double precision NOT NULL DEFAULT 0,
  throttle_reason text,
  started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (schema_name, migration, table_name),
  FOREIGN KEY (schema_name, migration) REFERENCES ${S}.migrations ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS ${S}.events (
  id          bigserial PRIMARY KEY,
  schema_name text NOT NULL,
  migration   text NOT NULL,
  phase       text NOT NULL,
  event       text NOT NULL,
  detail      jsonb,
  at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
`;

/** Channel on which every change to a migration record is announced (proxies LISTEN on it). */
export const STATE_CHANNEL = 'shiftgate_state';

/** The announcing function; replaced on every init (no table lock) so its body follows this version. */
const ANNOUNCE_FUNCTION = `
CREATE OR REPLACE FUNCTION ${S}.announce_state_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('${STATE_CHANNEL}', OLD.schema_name);
  ELSE
    PERFORM pg_notify('${STATE_CHANNEL}', NEW.schema_name);
  END IF;
  RETURN NULL;
END $fn$;
`;

/**
 * Brings an older state schema up to date. ALTER TABLE and CREATE TRIGGER lock the migrations table
 * against every reader and writer, queued behind any open transaction that touched it (another schema's
 * runner mid-action): so this runs only when something is missing, never on every connect.
 */
const UPGRADE = `
ALTER TABLE ${S}.migrations ADD COLUMN IF NOT EXISTS latency_report jsonb;
CREATE OR REPLACE TRIGGER migrations_announce AFTER INSERT OR UPDATE OR DELETE ON ${S}.migrations
  FOR EACH ROW EXECUTE FUNCTION ${S}.announce_state_change();
`;

const UP_TO_DATE = `
SELECT EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = '${S}.migrations'::regclass AND attname = 'latency_report' AND NOT attisdropped)
   AND EXISTS (SELECT 1 FROM pg_trigger
                WHERE tgrelid = '${S}.migrations'::regclass AND tgname = 'migrations_announce') AS ok`;

interface MigrationRow {
  schema_name: string;
  name: string;
  parent: string | null;
  phase: Phase;
  phase_done: boolean;
  step: number;
  migration: unknown;
  schema_before: SchemaModel;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  active_at: Date | null;
  completed_at: Date | null;
  latency_report: unknown;
}

function toRecord(r: MigrationRow): MigrationRecord {
  return {
    schema: r.schema_name,
    name: r.name,
    parent: r.parent,
    phase: r.phase,
    phaseDone: r.phase_done,
    step: r.step,
    migration: r.migration,
    schemaBefore: r.schema_before,
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    activeAt: r.active_at,
    completedAt: r.completed_at,
    latencyReport: r.latency_report ?? null,
  };
}

interface CheckpointRow {
  table_name: string;
  key_columns: string[];
  last_key: string[] | null;
  up_to: string[] | null;
  rows_done: string;
  rows_total: string;
  done: boolean;
  batch_size: number;
  rows_per_second: number;
  throttle_reason: string | null;
  started_at: Date;
  updated_at: Date;
}

export function toCheckpoint(r: CheckpointRow): CheckpointRecord {
  return {
    table: r.table_name,
    keyColumns: r.key_columns,
    lastKey: r.last_key,
    upTo: r.up_to,
    rowsDone: Number(r.rows_done),
    rowsTotal: Number(r.rows_total),
    done: r.done,
    batchSize: r.batch_size,
    rowsPerSecond: r.rows_per_second,
    throttleReason: r.throttle_reason,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
  };
}

export const CHECKPOINT_TABLE = `${S}.backfill_checkpoints`;

export class PostgresStateStore implements StateStore {
  constructor(private readonly client: Queryable) {}

  /** True once the state tables exist; readers that must not create them check this first. */
  private async exists(): Promise<boolean> {
    const r = await this.client.query<{ ok: boolean }>(
      `SELECT to_regclass('${S}.migrations') IS NOT NULL AS ok`,
    );
    return r.rows[0]!.ok;
  }

  async init(): Promise<void> {
    // Runners of different schemas hold different migration locks and may init at once: CREATE ... IF NOT
    // EXISTS and CREATE OR REPLACE race each other (duplicate key on the catalog) unless serialised here.
    await this.client.query('BEGIN');
    try {
      await this.client.query(
        `SELECT pg_advisory_xact_lock(${INIT_LOCK_CLASS}, hashtext('${INIT_LOCK_NAME}'))`,
      );
      if (!(await this.exists())) await this.client.query(DDL);
      await this.client.query(ANNOUNCE_FUNCTION);
      const current = await this.client.query<{ ok: boolean }>(UP_TO_DATE);
      if (!current.rows[0]!.ok) await this.client.query(UPGRADE);
      await this.client.query('COMMIT');
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  async get(schema: string, name: string): Promise<MigrationRecord | null> {
    if (!(await this.exists())) return null;
    const r = await this.client.query<MigrationRow>(
      `SELECT * FROM ${S}.migrations WHERE schema_name = $1 AND name = $2`,
      [schema, name],
    );
    return r.rows[0] ? toRecord(r.rows[0]) : null;
  }

  async inFlight(schema: string): Promise<MigrationRecord | null> {
    if (!(await this.exists())) return null;
    const r = await this.client.query<MigrationRow>(
      `SELECT * FROM ${S}.migrations WHERE schema_name = $1 AND phase NOT IN ('completed', 'rolled_back')`,
      [schema],
    );
    return r.rows[0] ? toRecord(r.rows[0]) : null;
  }

  async latestCompleted(schema: string): Promise<string | null> {
    if (!(await this.exists())) return null;
    const r = await this.client.query<{ name: string }>(
      `SELECT name FROM ${S}.migrations WHERE schema_name = $1 AND phase = 'completed'
        ORDER BY completed_at DESC, created_at DESC LIMIT 1`,
      [schema],
    );
    return r.rows[0]?.name ?? null;
  }

  async list(schema: string): Promise<MigrationRecord[]> {
    if (!(await this.exists())) return [];
    const r = await this.client.query<MigrationRow>(
      `SELECT * FROM ${S}.migrations WHERE schema_name = $1 ORDER BY created_at, name`,
      [schema],
    );
    return r.rows.map(toRecord);
  }

  async create(
    record: Pick<MigrationRecord, 'schema' | 'name' | 'parent' | 'migration' | 'schemaBefore'>,
  ): Promise<void> {
    await this.client.query(
      `INSERT INTO ${S}.migrations (schema_name, name, parent, phase, phase_done, migration, schema_before)
       VALUES ($1, $2, $3, 'pending', true, $4, $5)`,
      [
        record.schema,
        record.name,
        record.parent,
        JSON.stringify(record.migration),
        JSON.stringify(record.schemaBefore),
      ],
    );
  }

  async remove(schema: string, name: string): Promise<void> {
    await this.client.query(`DELETE FROM ${S}.migrations WHERE schema_name = $1 AND name = $2`, [
      schema,
      name,
    ]);
  }

  async setPhase(schema: string, name: string, phase: Phase, update: PhaseUpdate = {}): Promise<void> {
    await this.client.query(
      `UPDATE ${S}.migrations
          SET phase = $3, phase_done = $4, step = $5, error = $6, updated_at = clock_timestamp(),
              active_at = CASE WHEN $3 = 'active' AND active_at IS NULL THEN clock_timestamp() ELSE active_at END,
              completed_at = CASE WHEN $3 IN ('completed', 'rolled_back') THEN clock_timestamp() ELSE completed_at END
        WHERE schema_name = $1 AND name = $2`,
      [schema, name, phase, update.phaseDone ?? false, update.step ?? 0, redactedOrNull(update.error)],
    );
  }

  async update(schema: string, name: string, update: PhaseUpdate): Promise<void> {
    await this.client.query(
      `UPDATE ${S}.migrations
          SET phase_done = COALESCE($3, phase_done), step = COALESCE($4, step),
              error = CASE WHEN $5 THEN $6 ELSE error END, updated_at = clock_timestamp()
        WHERE schema_name = $1 AND name = $2`,
      [
        schema,
        name,
        update.phaseDone ?? null,
        update.step ?? null,
        update.error !== undefined,
        redactedOrNull(update.error),
      ],
    );
  }

  async setLatencyReport(schema: string, name: string, report: unknown): Promise<void> {
    await this.client.query(
      `UPDATE ${S}.migrations SET latency_report = $3 WHERE schema_name = $1 AND name = $2`,
      [schema, name, JSON.stringify(report)],
    );
  }

  async event(schema: string, name: string, phase: Phase, event: string, detail?: unknown): Promise<void> {
    await this.client.query(
      `INSERT INTO ${S}.events (schema_name, migration, phase, event, detail) VALUES ($1, $2, $3, $4, $5)`,
      // Details carry statements (retry notices, errors): their password literals stay out of the table.
      [schema, name, phase, event, detail === undefined ? null : JSON.stringify(detail, redactStrings)],
    );
  }

  async checkpoints(schema: string, name: string): Promise<CheckpointRecord[]> {
    if (!(await this.exists())) return [];
    const r = await this.client.query<CheckpointRow>(
      `SELECT * FROM ${CHECKPOINT_TABLE} WHERE schema_name = $1 AND migration = $2 ORDER BY started_at, table_name`,
      [schema, name],
    );
    return r.rows.map(toCheckpoint);
  }

  async initCheckpoint(
    schema: string,
    name: string,
    table: string,
    init: { keyColumns: string[]; upTo: string[] | null; rowsTotal: number; batchSize: number },
  ): Promise<CheckpointRecord> {
    await this.client.query(
      `INSERT INTO ${CHECKPOINT_TABLE} (schema_name, migration, table_name, key_columns, up_to, rows_total, done, batch_size)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (schema_name, migration, table_name) DO NOTHING`,
      [schema, name, table, init.keyColumns, init.upTo, init.rowsTotal, init.upTo === null, init.batchSize],
    );
    const r = await this.client.query<CheckpointRow>(
      `SELECT * FROM ${CHECKPOINT_TABLE} WHERE schema_name = $1 AND migration = $2 AND table_name = $3`,
      [schema, name, table],
    );
    return toCheckpoint(r.rows[0]!);
  }
}
