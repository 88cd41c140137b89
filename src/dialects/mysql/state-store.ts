/**
 * The migration state store in the `shiftgate` database of the upstream
 * MySQL / MariaDB server, the same tables as on PostgreSQL. JSON travels as
 * text; a stored generated column that is NULL once a migration is over
 * carries a unique key, so the server enforces one in-flight migration per
 * schema, whoever writes the row.
 */
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { SchemaModel } from '../../migrations/model.ts';
import { redactSecrets } from '../../migrations/redact.ts';
import type {
  CheckpointRecord,
  MigrationRecord,
  Phase,
  PhaseUpdate,
  StateStore,
} from '../../migrations/state.ts';

export const STATE_DATABASE = 'shiftgate';
const S = `\`${STATE_DATABASE}\``;
export const CHECKPOINT_TABLE = `${S}.backfill_checkpoints`;
export const MIGRATIONS_TABLE = `${S}.migrations`;

const DDL = [
  `CREATE DATABASE IF NOT EXISTS ${S}`,
  `CREATE TABLE IF NOT EXISTS ${S}.migrations (
  schema_name    varchar(64) NOT NULL,
  name           varchar(191) NOT NULL,
  parent         varchar(191),
  phase          varchar(32) NOT NULL,
  phase_done     tinyint(1) NOT NULL DEFAULT 0,
  step           int NOT NULL DEFAULT 0,
  migration      longtext NOT NULL,
  schema_before  longtext NOT NULL,
  error          text,
  created_at     datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at     datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  active_at      datetime(6),
  completed_at   datetime(6),
  latency_report longtext,
  in_flight      varchar(64) AS (IF(phase IN ('completed', 'rolled_back'), NULL, schema_name)) STORED,
  PRIMARY KEY (schema_name, name),
  UNIQUE KEY migrations_one_in_flight (in_flight)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${S}.backfill_checkpoints (
  schema_name     varchar(64) NOT NULL,
  migration       varchar(191) NOT NULL,
  table_name      varchar(64) NOT NULL,
  key_columns     text NOT NULL,
  last_key        text,
  up_to           text,
  rows_done       bigint NOT NULL DEFAULT 0,
  rows_total      bigint NOT NULL DEFAULT 0,
  done            tinyint(1) NOT NULL DEFAULT 0,
  batch_size      int NOT NULL DEFAULT 0,
  rows_per_second double NOT NULL DEFAULT 0,
  throttle_reason text,
  started_at      datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at      datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (schema_name, migration, table_name),
  FOREIGN KEY (schema_name, migration) REFERENCES ${S}.migrations (schema_name, name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${S}.events (
  id          bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  schema_name varchar(64) NOT NULL,
  migration   varchar(191) NOT NULL,
  phase       varchar(32) NOT NULL,
  event       varchar(64) NOT NULL,
  detail      longtext,
  at          datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

type Row = RowDataPacket & Record<string, unknown>;

function redactedOrNull(text: string | null | undefined): string | null {
  return text == null ? null : redactSecrets(text);
}

function redactStrings(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redactSecrets(value) : value;
}

const json = <T>(v: unknown): T =>
  v === null || v === undefined ? (null as T) : (JSON.parse(String(v)) as T);
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as Date));

function toRecord(r: Row): MigrationRecord {
  return {
    schema: String(r.schema_name),
    name: String(r.name),
    parent: r.parent === null ? null : String(r.parent),
    phase: String(r.phase) as Phase,
    phaseDone: Number(r.phase_done) === 1,
    step: Number(r.step),
    migration: json(r.migration),
    schemaBefore: json<SchemaModel>(r.schema_before),
    error: r.error === null ? null : String(r.error),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
    activeAt: date(r.active_at),
    completedAt: date(r.completed_at),
    latencyReport: json(r.latency_report),
  };
}

export function toCheckpoint(r: Row): CheckpointRecord {
  return {
    table: String(r.table_name),
    keyColumns: json<string[]>(r.key_columns),
    lastKey: json<string[] | null>(r.last_key),
    upTo: json<string[] | null>(r.up_to),
    rowsDone: Number(r.rows_done),
    rowsTotal: Number(r.rows_total),
    done: Number(r.done) === 1,
    batchSize: Number(r.batch_size),
    rowsPerSecond: Number(r.rows_per_second),
    throttleReason: r.throttle_reason === null ? null : String(r.throttle_reason),
    startedAt: date(r.started_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

/** One table's checkpoint; parameters schema, migration, table. */
export const CHECKPOINT_SELECT = `SELECT * FROM ${CHECKPOINT_TABLE} WHERE schema_name = ? AND migration = ? AND table_name = ?`;

/** The checkpoint in the rows CHECKPOINT_SELECT answered. */
export function checkpointOf(rows: Row[], name: string, table: string): CheckpointRecord {
  if (!rows[0]) throw new Error(`backfill checkpoint of ${name}/${table} is missing`);
  return toCheckpoint(rows[0]);
}

export class MysqlStateStore implements StateStore {
  constructor(private readonly conn: Connection) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    const [result] = await this.conn.query<Row[]>(sql, params);
    return result;
  }

  private async exec(sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    const [result] = await this.conn.query<ResultSetHeader>(sql, params);
    return result;
  }

  private async exists(): Promise<boolean> {
    const r = await this.rows(
      `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'migrations'`,
      [STATE_DATABASE],
    );
    return Number(r[0]!.n) > 0;
  }

  async init(): Promise<void> {
    if (await this.exists()) return;
    // Runners of different schemas may init at once; CREATE ... IF NOT EXISTS is safe, the lock keeps it quiet.
    await this.rows(`SELECT GET_LOCK('shiftgate state store', 10) AS ok`);
    try {
      for (const sql of DDL) await this.exec(sql);
    } finally {
      await this.rows(`SELECT RELEASE_LOCK('shiftgate state store')`).catch(() => {});
    }
  }

  async get(schema: string, name: string): Promise<MigrationRecord | null> {
    if (!(await this.exists())) return null;
    const r = await this.rows(`SELECT * FROM ${MIGRATIONS_TABLE} WHERE schema_name = ? AND name = ?`, [
      schema,
      name,
    ]);
    return r[0] ? toRecord(r[0]) : null;
  }

  async inFlight(schema: string): Promise<MigrationRecord | null> {
    if (!(await this.exists())) return null;
    const r = await this.rows(`SELECT * FROM ${MIGRATIONS_TABLE} WHERE in_flight = ?`, [schema]);
    return r[0] ? toRecord(r[0]) : null;
  }

  async latestCompleted(schema: string): Promise<string | null> {
    if (!(await this.exists())) return null;
    const r = await this.rows(
      `SELECT name FROM ${MIGRATIONS_TABLE} WHERE schema_name = ? AND phase = 'completed'
        ORDER BY completed_at DESC, created_at DESC LIMIT 1`,
      [schema],
    );
    return r[0] ? String(r[0].name) : null;
  }

  async list(schema: string): Promise<MigrationRecord[]> {
    if (!(await this.exists())) return [];
    const r = await this.rows(
      `SELECT * FROM ${MIGRATIONS_TABLE} WHERE schema_name = ? ORDER BY created_at, name`,
      [schema],
    );
    return r.map(toRecord);
  }

  async create(
    record: Pick<MigrationRecord, 'schema' | 'name' | 'parent' | 'migration' | 'schemaBefore'>,
  ): Promise<void> {
    await this.exec(
      `INSERT INTO ${MIGRATIONS_TABLE} (schema_name, name, parent, phase, phase_done, migration, schema_before)
       VALUES (?, ?, ?, 'pending', 1, ?, ?)`,
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
    await this.exec(`DELETE FROM ${MIGRATIONS_TABLE} WHERE schema_name = ? AND name = ?`, [schema, name]);
  }

  async setPhase(schema: string, name: string, phase: Phase, update: PhaseUpdate = {}): Promise<void> {
    // MySQL evaluates SET left to right: active_at and completed_at read the new phase.
    await this.exec(
      `UPDATE ${MIGRATIONS_TABLE}
          SET phase = ?, phase_done = ?, step = ?, error = ?, updated_at = CURRENT_TIMESTAMP(6),
              active_at = IF(phase = 'active' AND active_at IS NULL, CURRENT_TIMESTAMP(6), active_at),
              completed_at = IF(phase IN ('completed', 'rolled_back'), CURRENT_TIMESTAMP(6), completed_at)
        WHERE schema_name = ? AND name = ?`,
      [phase, update.phaseDone ? 1 : 0, update.step ?? 0, redactedOrNull(update.error), schema, name],
    );
  }

  async update(schema: string, name: string, update: PhaseUpdate): Promise<void> {
    await this.exec(
      `UPDATE ${MIGRATIONS_TABLE}
          SET phase_done = COALESCE(?, phase_done), step = COALESCE(?, step),
              error = IF(?, ?, error), updated_at = CURRENT_TIMESTAMP(6)
        WHERE schema_name = ? AND name = ?`,
      [
        update.phaseDone === undefined ? null : update.phaseDone ? 1 : 0,
        update.step ?? null,
        update.error !== undefined ? 1 : 0,
        redactedOrNull(update.error),
        schema,
        name,
      ],
    );
  }

  async setLatencyReport(schema: string, name: string, report: unknown): Promise<void> {
    await this.exec(
      `UPDATE ${MIGRATIONS_TABLE} SET latency_report = ?, updated_at = CURRENT_TIMESTAMP(6)
        WHERE schema_name = ? AND name = ?`,
      [JSON.stringify(report), schema, name],
    );
  }

  async event(schema: string, name: string, phase: Phase, event: string, detail?: unknown): Promise<void> {
    await this.exec(
      `INSERT INTO ${S}.events (schema_name, migration, phase, event, detail) VALUES (?, ?, ?, ?, ?)`,
      // Details carry statements (retry notices, errors): their password literals stay out of the table.
      [schema, name, phase, event, detail === undefined ? null : JSON.stringify(detail, redactStrings)],
    );
  }

  async checkpoints(schema: string, name: string): Promise<CheckpointRecord[]> {
    if (!(await this.exists())) return [];
    const r = await this.rows(
      `SELECT * FROM ${CHECKPOINT_TABLE} WHERE schema_name = ? AND migration = ? ORDER BY started_at, table_name`,
      [schema, name],
    );
    return r.map(toCheckpoint);
  }

  async checkpoint(schema: string, name: string, table: string): Promise<CheckpointRecord> {
    return checkpointOf(await this.rows(CHECKPOINT_SELECT, [schema, name, table]), name, table);
  }

  async initCheckpoint(
    schema: string,
    name: string,
    table: string,
    init: { keyColumns: string[]; upTo: string[] | null; rowsTotal: number; batchSize: number },
  ): Promise<CheckpointRecord> {
    await this.exec(
      `INSERT IGNORE INTO ${CHECKPOINT_TABLE}
         (schema_name, migration, table_name, key_columns, up_to, rows_total, done, batch_size)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        schema,
        name,
        table,
        JSON.stringify(init.keyColumns),
        init.upTo === null ? null : JSON.stringify(init.upTo),
        init.rowsTotal,
        init.upTo === null ? 1 : 0,
        init.batchSize,
      ],
    );
    return this.checkpoint(schema, name, table);
  }
}
