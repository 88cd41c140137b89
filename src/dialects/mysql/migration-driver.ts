/**
 * The MySQL / MariaDB migration dialect: one connection per runner that
 * takes the migration lock (GET_LOCK), runs DDL under a short
 * `lock_wait_timeout` with retry, validates constraints by key-range reads,
 * and runs backfill batches as short InnoDB transactions that also write
 * their checkpoint.
 *
 * MySQL DDL is not transactional: an action's statements and its record
 * commit one by one, and each statement is idempotent on its own (see
 * ddl.ts), so an action interrupted anywhere is simply run again.
 */
import mysql, { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { BackfillTask } from '../../migrations/actions.ts';
import {
  type BackfillScope,
  type BatchOutcome,
  type BatchRequestSpec,
  backoffDelay,
  EXACT_ROW_COUNT_BELOW,
  type LockPolicy,
  type MigrationConnection,
  type MigrationDialect,
  type RetryNotice,
  type Statement,
} from '../../migrations/dialect.ts';
import { LockTimeoutError, MigrationError } from '../../migrations/errors.ts';
import type { SchemaModel } from '../../migrations/model.ts';
import { boundedName } from '../../migrations/names.ts';
import { refuseMysqlAction, renderMysqlAction } from './ddl.ts';
import { introspectMysql } from './introspect.ts';
import { ident, MYSQL_MAX_IDENTIFIER, qualified } from './quote.ts';
import {
  CHECKPOINT_SELECT,
  CHECKPOINT_TABLE,
  checkpointOf,
  MIGRATIONS_TABLE,
  MysqlStateStore,
} from './state-store.ts';
import { BACKFILL_VARIABLE, checkEnforcers, notNullColumnOf } from './triggers.ts';

type Row = RowDataPacket & Record<string, unknown>;

/** Server errors after which the same work can simply be tried again. */
const RETRYABLE = new Set([
  1205, // ER_LOCK_WAIT_TIMEOUT: lock_wait_timeout (metadata locks) or innodb_lock_wait_timeout expired
  1213, // ER_LOCK_DEADLOCK
]);

/** The server cannot do the change with the algorithm / lock the statement names. */
const ALGORITHM_REFUSED = new Set([
  1845, // ER_ALTER_OPERATION_NOT_SUPPORTED
  1846, // ER_ALTER_OPERATION_NOT_SUPPORTED_REASON
]);

/** Rows a validation read covers at a time: a short read that keeps its metadata lock briefly. */
const VALIDATION_BATCH = 10000;

/** How often a follower looks at the state tables: MySQL has no NOTIFY. */
export const STATE_POLL_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errno(err: unknown): number | undefined {
  return (err as { errno?: number } | null)?.errno;
}

/** MySQL lock timeouts are whole seconds: the policy's milliseconds rounded up, at least one. */
export function lockTimeoutSeconds(policy: LockPolicy): number {
  return Math.max(1, Math.ceil(policy.lockTimeoutMs / 1000));
}

export function lockName(schema: string): string {
  return boundedName(MYSQL_MAX_IDENTIFIER, 'shiftgate:', schema);
}

/**
 * `columns > values` in key order, spelled out (`a > ? OR (a = ? AND b > ?)`)
 * so that the optimiser walks the key's index on MySQL and MariaDB alike;
 * `inclusive` makes it `>=` (and `<` / `<=` with `below`).
 */
export function keyCompare(
  columns: string[],
  values: string[],
  below: boolean,
  inclusive: boolean,
  params: unknown[],
  binary: readonly boolean[] = [],
): string {
  const slot = (i: number) => (binary[i] ? 'UNHEX(?)' : '?');
  const op = below ? '<' : '>';
  const terms: string[] = [];
  for (let i = 0; i < columns.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${columns[j]} = ${slot(j)}`);
      params.push(values[j]);
    }
    const last = i === columns.length - 1;
    parts.push(`${columns[i]} ${op}${last && inclusive ? '=' : ''} ${slot(i)}`);
    params.push(values[i]);
    terms.push(parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`);
  }
  return `(${terms.join(' OR ')})`;
}

function keyRange(
  keys: string[],
  lastKey: string[] | null,
  upper: string[] | null,
  params: unknown[],
  binary: readonly boolean[] = [],
): string[] {
  const where: string[] = [];
  if (lastKey) where.push(keyCompare(keys, lastKey, false, false, params, binary));
  if (upper) where.push(keyCompare(keys, upper, true, true, params, binary));
  return where;
}

/*
 * Key values travel as text (checkpoints store them as JSON strings). A
 * binary-string key (BINARY, VARBINARY, BLOB: a UUID in binary(16)) would
 * not survive CAST AS CHAR (bytes that are no valid UTF-8 come back as
 * U+FFFD, and the walk stops or skips rows): those travel as hex and are
 * compared through UNHEX. The aliases carry a prefix of their own: a bare
 * `k0`, `k1` would shadow key columns of those names in ORDER BY, which
 * resolves aliases first.
 */
const KEY_ALIAS = '_shiftgate_k';
const keyText = (keys: string[], binary: readonly boolean[] = []) =>
  keys.map((k, i) => `${binary[i] ? `HEX(${k})` : `CAST(${k} AS CHAR)`} AS ${KEY_ALIAS}${i}`).join(', ');
const keyOfRow = (row: Row, n: number) =>
  Array.from({ length: n }, (_, i) => String(row[`${KEY_ALIAS}${i}`]));

/** Which of a table's key columns are binary strings (no character set), in key order. */
export async function binaryKeyColumns(
  conn: Connection,
  schema: string,
  table: string,
  key: string[],
): Promise<boolean[]> {
  const [r] = await conn.query<Row[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CHARACTER_SET_NAME IS NULL
        AND DATA_TYPE IN ('binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob')`,
    [schema, table],
  );
  const names = new Set(r.map((x) => String(x.name)));
  return key.map((k) => names.has(k));
}

/** The upper key of the next batch: the `limit`-th key after the checkpoint, or none when fewer are left. */
export function batchBoundStatement(
  schema: string,
  task: BackfillTask,
  request: Pick<BatchRequestSpec, 'limit' | 'lastKey' | 'upTo'>,
  binary: readonly boolean[] = [],
): { sql: string; params: unknown[] } {
  const keys = task.key.map(ident);
  const params: unknown[] = [];
  const where = keyRange(keys, request.lastKey, request.upTo, params, binary);
  params.push(Math.max(0, request.limit - 1));
  const sql = `SELECT ${keyText(keys, binary)} FROM ${qualified(schema, task.table)}${
    where.length ? ` WHERE ${where.join(' AND ')}` : ''
  } ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ?`;
  return { sql, params };
}

/** The rows of one batch, a key range, updated in one statement; rows inserted into the range meanwhile are included. */
export function batchUpdateStatement(
  schema: string,
  task: BackfillTask,
  range: { lastKey: string[] | null; upper: string[] | null },
  binary: readonly boolean[] = [],
): { sql: string; params: unknown[] } {
  const keys = task.key.map(ident);
  const params: unknown[] = [];
  const where = keyRange(keys, range.lastKey, range.upper, params, binary);
  const set = task.assignments
    .map((a) => `${ident(a.target)} = ${'expression' in a ? `(${a.expression})` : ident(a.copyFrom)}`)
    .join(', ');
  return {
    sql: `UPDATE ${qualified(schema, task.table)} SET ${set}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    params,
  };
}

/*
 * The checkpoint write of a batch, right after its UPDATE in the same
 * query: ROW_COUNT() is that UPDATE's count of rows, as the client would
 * have been told it. The total (an estimate for a large table) never falls
 * below the rows done and is the rows done once done; it is assigned
 * first, so it reads rows_done before this statement changes it whether
 * the server assigns left to right or simultaneously.
 */
const CHECKPOINT_UPDATE_ROWS = `UPDATE ${CHECKPOINT_TABLE}
   SET rows_total = IF(?, rows_done + ROW_COUNT(), GREATEST(rows_total, rows_done + ROW_COUNT())),
       last_key = COALESCE(?, last_key), rows_done = rows_done + ROW_COUNT(), done = ?, batch_size = ?,
       rows_per_second = ?, throttle_reason = ?, updated_at = UTC_TIMESTAMP(6)
 WHERE schema_name = ? AND migration = ? AND table_name = ?`;

/** The session as it is outside batches (see `openConnection`): triggers on, default waits, UTC. */
const BATCH_RESET = `SET ${BACKFILL_VARIABLE} = NULL, SESSION innodb_lock_wait_timeout = DEFAULT, SESSION lock_wait_timeout = DEFAULT, SESSION time_zone = '+00:00'`;

/**
 * A change the server would only make by copying the table or blocking
 * writes: refused, never run. A plain error on purpose: the engine wraps it
 * with the migration, the phase and the statements (passwords masked).
 */
export class BlockingDdlError extends Error {
  override name = 'BlockingDdlError';
  constructor(
    readonly statement: string,
    readonly serverMessage: string,
  ) {
    super(
      `refused: the server can only make this change by copying the table or blocking writes (${serverMessage}); nothing of it was applied`,
    );
  }
}

export class MysqlMigrationConnection implements MigrationConnection {
  readonly state: MysqlStateStore;
  lost = false;
  private poller: { conn: Connection; timer: NodeJS.Timeout } | null = null;
  private readonly stateListeners: (() => void)[] = [];

  constructor(
    private readonly conn: Connection,
    private readonly url: string,
  ) {
    this.state = new MysqlStateStore(conn);
    const lost = () => {
      this.lost = true;
    };
    conn.on('error', lost);
    conn.on('end', lost);
  }

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    const [result] = await this.conn.query<Row[]>(sql, params);
    return result;
  }

  private async exec(sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    const [result] = await this.conn.query<ResultSetHeader>(sql, params);
    return result;
  }

  introspect(schema: string): Promise<SchemaModel> {
    return introspectMysql(this.conn, schema);
  }

  /**
   * Runs one DDL statement; when the server cannot do it INSTANT, once more
   * INPLACE with LOCK=NONE. The server checks the algorithm before it
   * changes anything, so a refusal leaves the table untouched.
   */
  private async ddl(sql: string): Promise<void> {
    try {
      await this.exec(sql);
      return;
    } catch (err) {
      if (!ALGORITHM_REFUSED.has(errno(err) ?? 0)) throw err;
      if (!sql.includes('ALGORITHM=INSTANT')) throw new BlockingDdlError(sql, (err as Error).message);
    }
    const online = sql.replace('ALGORITHM=INSTANT', 'ALGORITHM=INPLACE, LOCK=NONE');
    try {
      await this.exec(online);
    } catch (err) {
      if (ALGORITHM_REFUSED.has(errno(err) ?? 0)) throw new BlockingDdlError(online, (err as Error).message);
      throw err;
    }
  }

  private async runStatement(statement: Statement, policy: LockPolicy): Promise<void> {
    if (statement.scan) {
      await this.validate(statement.scan.schema, statement.scan.table, statement.scan.constraint, policy);
      return;
    }
    if (statement.resolve) {
      const resolved = await this.rows(statement.resolve.sql, statement.resolve.params);
      for (const r of resolved) if (r.statement != null) await this.ddl(String(r.statement));
      return;
    }
    if (statement.skipIf) {
      const r = await this.rows(statement.skipIf.sql, statement.skipIf.params);
      if (Number(r[0]?.skip ?? 0) === 1) return;
    }
    await this.ddl(statement.sql);
  }

  async runAction(
    statements: Statement[],
    policy: LockPolicy,
    onRetry?: (n: RetryNotice) => void,
    record?: () => Promise<void>,
  ): Promise<void> {
    const seconds = lockTimeoutSeconds(policy);
    for (let attempt = 1; ; attempt++) {
      let current = statements[0]?.sql ?? '';
      try {
        // Only the action's own statements give up early; the state writes after them wait as usual.
        await this.exec(`SET SESSION lock_wait_timeout = ${seconds}`);
        for (const statement of statements) {
          current = statement.sql;
          await this.runStatement(statement, policy);
        }
        await this.exec('SET SESSION lock_wait_timeout = DEFAULT');
        await record?.();
        return;
      } catch (err) {
        await this.exec('SET SESSION lock_wait_timeout = DEFAULT').catch(() => {});
        const code = errno(err);
        if (code === undefined || !RETRYABLE.has(code)) throw err;
        if (attempt >= policy.maxAttempts) throw new LockTimeoutError(current, attempt, policy.lockTimeoutMs);
        const delayMs = backoffDelay(attempt, policy);
        onRetry?.({ sql: current, attempt, delayMs, code: String(code) });
        await sleep(delayMs);
      }
    }
  }

  async tryLock(schema: string): Promise<boolean> {
    const r = await this.rows('SELECT GET_LOCK(?, 0) AS ok', [lockName(schema)]);
    return Number(r[0]?.ok) === 1;
  }

  async unlock(schema: string): Promise<void> {
    await this.rows('SELECT RELEASE_LOCK(?) AS ok', [lockName(schema)]);
  }

  /** The key a table's rows are walked by: the primary key, else a unique key over NOT NULL columns. */
  private async walkKey(schema: string, table: string): Promise<string[] | null> {
    const model = await introspectMysql(this.conn, schema);
    const t = model.tables.find((x) => x.physical === table);
    if (!t) return null;
    const pk = t.indexes.find((i) => i.primary);
    if (pk) return pk.columns;
    for (const i of t.indexes) {
      if (!i.unique || i.columns.some((c) => c === '')) continue;
      if (i.columns.every((c) => t.columns.find((x) => x.physical === c && !x.nullable))) return i.columns;
    }
    return null;
  }

  /** The condition a row violating `constraint` meets, over the table aliased `t`; null when there is nothing to check. */
  private async violation(schema: string, table: string, constraint: string): Promise<string | null> {
    const fk = await this.rows(
      `SELECT COLUMN_NAME AS col, REFERENCED_TABLE_SCHEMA AS ref_schema, REFERENCED_TABLE_NAME AS ref_table,
              REFERENCED_COLUMN_NAME AS ref_col
         FROM information_schema.KEY_COLUMN_USAGE
        WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
        ORDER BY ORDINAL_POSITION`,
      [schema, table, constraint],
    );
    if (fk.length > 0) {
      // MATCH SIMPLE: a row with any NULL in the key references nothing.
      const present = fk.map((k) => `t.${ident(String(k.col))} IS NOT NULL`).join(' AND ');
      const join = fk.map((k) => `r.${ident(String(k.ref_col))} = t.${ident(String(k.col))}`).join(' AND ');
      const ref = qualified(String(fk[0]!.ref_schema), String(fk[0]!.ref_table));
      return `${present} AND NOT EXISTS (SELECT 1 FROM ${ref} r WHERE ${join})`;
    }
    const check = await this.rows(
      `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?`,
      [schema, table, constraint],
    );
    if (check[0]) return `NOT (${String(check[0].clause)})`;
    // A NOT NULL check: in a trigger of its own or carried by the sync trigger of its operation.
    const enforcers = checkEnforcers(schema, table, constraint, 'insert');
    for (const trigger of await this.rows(enforcers.sql, enforcers.params)) {
      const column = notNullColumnOf(String(trigger.body), constraint);
      if (column !== null) return `t.${ident(column)} IS NULL`;
    }
    return null;
  }

  /**
   * Checks the existing rows against a constraint that new writes already
   * obey, in key ranges of plain (non-locking) reads: writers never wait.
   */
  private async validate(
    schema: string,
    table: string,
    constraint: string,
    policy: LockPolicy,
  ): Promise<void> {
    const violation = await this.violation(schema, table, constraint);
    if (violation === null) return;
    const from = `${qualified(schema, table)} t`;
    const key = await this.walkKey(schema, table);
    const fail = (row: Row | undefined) => {
      if (!row) return;
      throw new MigrationError(
        `constraint "${constraint}" of table "${table}" is violated by existing rows${key ? ` (first: key ${keyOfRow(row, key.length).join(', ')})` : ''}; fix the data or the migration, then roll back and start again`,
      );
    };
    await this.exec(`SET SESSION innodb_lock_wait_timeout = ${lockTimeoutSeconds(policy)}`);
    try {
      if (!key) {
        fail((await this.rows(`SELECT 1 AS found FROM ${from} WHERE ${violation} LIMIT 1`))[0]);
        return;
      }
      const keys = key.map((k) => `t.${ident(k)}`);
      const binary = await binaryKeyColumns(this.conn, schema, table, key);
      let last: string[] | null = null;
      for (;;) {
        const params: unknown[] = [];
        const after: string = last ? keyCompare(keys, last, false, false, params, binary) : '1 = 1';
        params.push(VALIDATION_BATCH - 1);
        const bound: Row | undefined = (
          await this.rows(
            `SELECT ${keyText(keys, binary)} FROM ${from} WHERE ${after} ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ?`,
            params,
          )
        )[0];
        const upper: string[] | null = bound ? keyOfRow(bound, keys.length) : null;
        const scan: unknown[] = [];
        const range = keyRange(keys, last, upper, scan, binary);
        fail(
          (
            await this.rows(
              `SELECT ${keyText(keys, binary)} FROM ${from} WHERE ${[...range, `(${violation})`].join(' AND ')} ORDER BY ${keys.join(', ')} LIMIT 1`,
              scan,
            )
          )[0],
        );
        if (!upper) return;
        last = upper;
      }
    } finally {
      await this.exec('SET SESSION innodb_lock_wait_timeout = DEFAULT').catch(() => {});
    }
  }

  /**
   * The time zone `up` is computed in by the backfill: the server's default,
   * the zone of a writer that never set one, so that a backfilled row and a
   * row the sync trigger filled for such a writer agree (a DATETIME turned
   * TIMESTAMP, an `up` calling UNIX_TIMESTAMP()). This connection otherwise
   * works in UTC. Key text of TIMESTAMP keys is produced and read back in
   * this same zone (measure and every batch).
   */
  private async backfillZone(): Promise<string> {
    if (this.zone === null) {
      const r = await this.rows('SELECT @@GLOBAL.time_zone AS tz');
      this.zone = String(r[0]?.tz ?? 'SYSTEM');
    }
    return this.zone;
  }
  private zone: string | null = null;

  /** A table's binary key columns, looked up once per backfill table rather than per batch. */
  private binaryKeys(schema: string, table: string, key: string[]): Promise<boolean[]> {
    const id = JSON.stringify([schema, table, key]);
    let found = this.binaryKeyCache.get(id);
    if (!found) {
      found = binaryKeyColumns(this.conn, schema, table, key);
      found.catch(() => this.binaryKeyCache.delete(id));
      this.binaryKeyCache.set(id, found);
    }
    return found;
  }
  private readonly binaryKeyCache = new Map<string, Promise<boolean[]>>();

  async measure(scope: BackfillScope): Promise<{ rows: number; maxKey: string[] | null }> {
    await this.exec('SET SESSION time_zone = ?', [await this.backfillZone()]);
    try {
      return await this.measureKeys(scope);
    } finally {
      await this.exec("SET SESSION time_zone = '+00:00'").catch(() => {});
    }
  }

  private async measureKeys(scope: BackfillScope): Promise<{ rows: number; maxKey: string[] | null }> {
    const { schema, task } = scope;
    const table = qualified(schema, task.table);
    const keys = task.key.map(ident);
    // Each backfill starts with a measure: a key type changed by an earlier migration is seen afresh.
    this.binaryKeyCache.clear();
    const binary = await this.binaryKeys(schema, task.table, task.key);
    const max = await this.rows(
      `SELECT ${keyText(keys, binary)} FROM ${table} ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')} LIMIT 1`,
    );
    return {
      rows: await this.rowCount(schema, task.table),
      maxKey: max[0] ? keyOfRow(max[0], keys.length) : null,
    };
  }

  /**
   * The table's rows for progress reports: InnoDB's estimate, counted
   * exactly only below EXACT_ROW_COUNT_BELOW: a COUNT(*) of a large table is a
   * full index scan at START for a figure only progress shows (gh-ost and
   * pt-osc estimate too). Each batch raises the total to the rows done, and
   * the last sets it to them (CHECKPOINT_UPDATE_ROWS).
   */
  private async rowCount(schema: string, table: string): Promise<number> {
    const stats = await this.rows(
      'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [schema, table],
    );
    const estimate = Number(stats[0]?.n ?? 0);
    if (estimate >= EXACT_ROW_COUNT_BELOW) return estimate;
    const count = await this.rows(`SELECT COUNT(*) AS n FROM ${qualified(schema, table)}`);
    return Number(count[0]!.n);
  }

  /**
   * One batch in two round trips, each a multi-statement query: the
   * session settings, START TRANSACTION and the bound of the batch; then
   * the UPDATE, the checkpoint write and its read-back, COMMIT and the
   * settings reset (seven round trips before). The server runs a query's
   * statements in order and stops at the first error, so COMMIT only ever
   * follows the whole batch and its checkpoint: whether the client fails,
   * or is killed and the server finishes the query without it, the rows
   * and the checkpoint commit together or not at all.
   */
  async batch(
    scope: BackfillScope,
    request: BatchRequestSpec,
    policy: LockPolicy,
    onRetry?: (n: RetryNotice) => void,
  ): Promise<BatchOutcome> {
    const { schema, task, migration } = scope;
    const binary = await this.binaryKeys(schema, task.table, task.key);
    const zone = await this.backfillZone();
    const bound = batchBoundStatement(schema, task, request, binary);
    const seconds = lockTimeoutSeconds(policy);
    // Sync triggers step aside for this session's batches only: the batch writes what they would.
    const settings = `SET SESSION innodb_lock_wait_timeout = ${seconds}, SESSION lock_wait_timeout = ${seconds}, SESSION time_zone = ?, ${BACKFILL_VARIABLE} = CONNECTION_ID()`;
    let sql = bound.sql;
    for (let attempt = 1; ; attempt++) {
      try {
        const [begun] = await this.conn.query<Row[][]>(`${settings}; START TRANSACTION; ${bound.sql}`, [
          zone,
          ...bound.params,
        ]);
        const found = begun[2]![0];
        const foundKey = found ? keyOfRow(found, task.key.length) : null;
        const upper = foundKey ?? request.upTo;
        const done =
          foundKey === null ||
          (request.upTo !== null && foundKey.join('\u0000') === request.upTo.join('\u0000'));
        const update = batchUpdateStatement(schema, task, { lastKey: request.lastKey, upper }, binary);
        sql = update.sql;
        const [results] = (await this.conn.query(
          `${update.sql}; ${CHECKPOINT_UPDATE_ROWS}; ${CHECKPOINT_SELECT}; COMMIT; ${BATCH_RESET}`,
          [
            ...update.params,
            done ? 1 : 0,
            upper === null ? null : JSON.stringify(upper),
            done ? 1 : 0,
            request.limit,
            request.rowsPerSecond,
            request.throttleReason,
            schema,
            migration,
            task.table,
            schema,
            migration,
            task.table,
          ],
        )) as unknown as [[ResultSetHeader, ResultSetHeader, Row[]]];
        return {
          rows: results[0].affectedRows,
          checkpoint: checkpointOf(results[2], migration, task.table),
        };
      } catch (err) {
        await this.exec(`ROLLBACK; ${BATCH_RESET}`).catch(() => {});
        const code = errno(err);
        if (code === undefined || !RETRYABLE.has(code)) throw err;
        if (attempt >= policy.maxAttempts) throw new LockTimeoutError(sql, attempt, policy.lockTimeoutMs);
        const delayMs = backoffDelay(attempt, policy);
        onRetry?.({ sql: `backfill ${task.table}`, attempt, delayMs, code: String(code) });
        await sleep(delayMs);
      }
    }
  }

  async onStateChange(listener: () => void): Promise<void> {
    // No NOTIFY in MySQL: a connection of its own polls the state table (this one may be mid-transaction).
    this.stateListeners.push(listener);
    if (this.poller) return;
    const conn = await openConnection(this.url);
    conn.on('error', () => {});
    let last: string | null = null;
    const poll = async () => {
      try {
        const exists = await conn.query<Row[]>(
          `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shiftgate' AND TABLE_NAME = 'migrations'`,
        );
        let signature = 'none';
        if (Number(exists[0][0]!.n) > 0) {
          const [r] = await conn.query<Row[]>(
            `SELECT COUNT(*) AS n, MAX(updated_at) AS at, SUM(step) AS steps FROM ${MIGRATIONS_TABLE}`,
          );
          signature = `${String(r[0]!.n)}/${String(r[0]!.at)}/${String(r[0]!.steps)}`;
        }
        if (last !== null && signature !== last) for (const l of this.stateListeners) l();
        last = signature;
      } catch {
        // A lost poll connection is noticed by the owner's next query; the proxy reconnects.
      }
      if (this.poller) this.poller.timer = setTimeout(() => void poll(), STATE_POLL_MS).unref();
    };
    this.poller = { conn, timer: setTimeout(() => void poll(), 0).unref() };
  }

  async replicaLagMs(): Promise<number | null> {
    // This server as a replica: MySQL has no primary-side view of replica lag like pg_stat_replication.
    let rows: Row[];
    try {
      rows = await this.rows('SHOW REPLICA STATUS');
    } catch {
      rows = await this.rows('SHOW SLAVE STATUS');
    }
    if (rows.length === 0) return null;
    let worst: number | null = null;
    for (const r of rows) {
      const seconds = r.Seconds_Behind_Source ?? r.Seconds_Behind_Master;
      if (seconds === null || seconds === undefined) continue;
      worst = Math.max(worst ?? 0, Number(seconds) * 1000);
    }
    return worst;
  }

  async close(): Promise<void> {
    if (this.poller) {
      clearTimeout(this.poller.timer);
      const { conn } = this.poller;
      this.poller = null;
      await conn.end().catch(() => conn.destroy());
    }
    await this.conn.end().catch(() => this.conn.destroy());
  }
}

async function openConnection(url: string): Promise<Connection> {
  const conn = await mysql.createConnection({
    uri: url,
    timezone: 'Z',
    // A backfill batch is two multi-statement round trips (see `batch`); every value is a bound parameter.
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectAttributes: { program_name: 'shiftgate-migrate' },
  });
  // Literals in ddl.ts assume backslash escapes; timestamps are UTC on both sides.
  await conn.query(
    "SET SESSION time_zone = '+00:00', sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
  );
  return conn;
}

/**
 * The driver relies on MariaDB 10.5+: `SET STATEMENT ... FOR` (foreign keys
 * added without a scan), COLUMN_DEFAULT printed as an expression (column
 * definitions restated from information_schema), RENAME COLUMN. MySQL 8
 * differs on the first two, so it is refused rather than half-served.
 */
export function unsupportedServer(version: string): string | null {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!/mariadb/i.test(version))
    return `migrations on MySQL ${version} are not supported yet (MariaDB 10.5 or later is): the driver uses MariaDB's SET STATEMENT and information_schema forms`;
  if (!m || Number(m[1]) * 100 + Number(m[2]) < 1005)
    return `migrations need MariaDB 10.5 or later (RENAME COLUMN, instant DROP COLUMN); this server is ${version}`;
  return null;
}

function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

export const mysqlMigrationDialect: MigrationDialect = {
  name: 'mysql',
  capabilities: {
    maxIdentifierLength: MYSQL_MAX_IDENTIFIER,
    notValidConstraints: false,
    concurrentIndex: true,
    attachIndexConstraint: true,
    transactionalDdl: false,
    refuse: refuseMysqlAction,
  },
  render: renderMysqlAction,
  describeBackfill(task, schema) {
    const sample = task.key.map(() => '<key>');
    const bound = batchBoundStatement(schema, task, { limit: 1000, lastKey: sample, upTo: sample });
    const update = batchUpdateStatement(schema, task, { lastKey: sample, upper: sample });
    return `${bound.sql};\n${update.sql};\n${CHECKPOINT_UPDATE_ROWS}`;
  },
  defaultSchema: databaseOf,
  async connect(url: string): Promise<MigrationConnection> {
    if (!databaseOf(url))
      throw new MigrationError(
        'the MySQL URL names no database: migrations run in the database the URL names',
      );
    const conn = await openConnection(url);
    conn.on('error', () => {});
    const [version] = await conn.query<Row[]>('SELECT VERSION() AS v');
    const refusal = unsupportedServer(String(version[0]?.v ?? ''));
    if (refusal) {
      await conn.end().catch(() => conn.destroy());
      throw new MigrationError(refusal);
    }
    return new MysqlMigrationConnection(conn, url);
  },
};
