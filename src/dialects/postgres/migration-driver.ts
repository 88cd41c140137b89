/**
 * The PostgreSQL migration dialect: one connection per runner that takes the
 * migration lock, runs DDL under `lock_timeout` with retry, introspects, and
 * runs backfill batches that write their checkpoint in the same statement.
 */
import pg from 'pg';
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
import { LockTimeoutError } from '../../migrations/errors.ts';
import type { SchemaModel } from '../../migrations/model.ts';
import type { NameResolution } from '../../versions/name-resolution.ts';
import { renderAction } from './ddl.ts';
import { introspectPostgres } from './introspect.ts';
import { readNameResolution } from './name-resolution.ts';
import { ident, qualified } from './quote.ts';
import { CHECKPOINT_TABLE, PostgresStateStore, STATE_CHANNEL, toCheckpoint } from './state-store.ts';

/** SQLSTATEs after which the same work can simply be tried again. */
const RETRYABLE = new Set([
  '55P03', // lock_not_available: lock_timeout expired
  '40P01', // deadlock_detected
  '40001', // serialization_failure
]);

/** SQLSTATE 25001: the statement cannot run inside a transaction block. */
const ACTIVE_SQL_TRANSACTION = '25001';

/** First key of the two-key advisory lock space ('shif'): keeps Shiftgate apart from the application's own locks. */
const LOCK_CLASS = 0x73686966 | 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sqlState(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

interface KeyInfo {
  columns: string[];
  types: string[];
}

type KeyRange = Pick<BatchRequestSpec, 'lastKey'> & { upper: string[] | null };

function keyPredicates(task: BackfillTask, types: string[], range: KeyRange, params: unknown[]): string[] {
  const keys = task.key.map(ident);
  const tuple = (cols: string[]) => (cols.length === 1 ? cols[0]! : `(${cols.join(', ')})`);
  const paramTuple = (values: string[]) =>
    tuple(
      values.map((v, i) => {
        params.push(v);
        return `$${params.length}::${types[i]}`;
      }),
    );
  const where: string[] = [];
  if (range.lastKey) where.push(`${tuple(keys)} > ${paramTuple(range.lastKey)}`);
  if (range.upper) where.push(`${tuple(keys)} <= ${paramTuple(range.upper)}`);
  return where;
}

/**
 * The upper key of the next batch: the `limit`-th key after the checkpoint
 * (an index-only walk), or null when fewer rows are left before `upTo`.
 */
export function batchBoundStatement(
  schema: string,
  task: BackfillTask,
  types: string[],
  request: Pick<BatchRequestSpec, 'limit' | 'lastKey' | 'upTo'>,
): { sql: string; params: unknown[] } {
  const keys = task.key.map(ident);
  const params: unknown[] = [Math.max(0, request.limit - 1)];
  const where = keyPredicates(task, types, { lastKey: request.lastKey, upper: request.upTo }, params);
  const sql = `SELECT ARRAY[${keys.map((k) => `${k}::text`).join(', ')}] AS key FROM ${qualified(schema, task.table)}${
    where.length ? ` WHERE ${where.join(' AND ')}` : ''
  } ORDER BY ${keys.join(', ')} OFFSET $1 LIMIT 1`;
  return { sql, params };
}

/**
 * The rows of one batch, a key range, updated in one statement that also
 * advances the checkpoint: it commits or fails as a whole, so the checkpoint
 * never disagrees with the rows. A range scan over the key beats joining a
 * list of keys, and rows inserted into the range meanwhile are simply
 * included. `types` cast the text-encoded keys.
 */
export function batchUpdateStatement(
  schema: string,
  migration: string,
  task: BackfillTask,
  types: string[],
  request: Pick<BatchRequestSpec, 'limit' | 'lastKey' | 'rowsPerSecond' | 'throttleReason'> & {
    upper: string[] | null;
    done: boolean;
  },
): { sql: string; params: unknown[] } {
  const params: unknown[] = [
    request.limit,
    schema,
    task.table,
    migration,
    request.rowsPerSecond,
    request.throttleReason,
    request.upper,
    request.done,
  ];
  const where = keyPredicates(task, types, request, params);
  const set = task.assignments
    .map((a) => `${ident(a.target)} = ${'expression' in a ? `(${a.expression})` : ident(a.copyFrom)}`)
    .join(', ');
  const sql = `WITH upd AS (
  UPDATE ${qualified(schema, task.table)} SET ${set}${where.length ? `\n   WHERE ${where.join(' AND ')}` : ''}
  RETURNING 1
), batch AS (SELECT count(*) AS updated FROM upd)
UPDATE ${CHECKPOINT_TABLE} ck
   SET last_key = COALESCE($7::text[], ck.last_key),
       rows_done = ck.rows_done + batch.updated,
       -- The total may be an estimate: never below the rows done, and the rows done once done.
       rows_total = CASE WHEN $8 THEN ck.rows_done + batch.updated
                         ELSE GREATEST(ck.rows_total, ck.rows_done + batch.updated) END,
       done = $8, batch_size = $1, rows_per_second = $5, throttle_reason = $6, updated_at = clock_timestamp()
  FROM batch
 WHERE schema_name = $2 AND migration = $4 AND table_name = $3
RETURNING ck.*, batch.updated`;
  return { sql, params };
}

/** `lock_timeout` for one action or batch, in milliseconds (0 would mean no limit). */
function lockTimeoutSetting(policy: LockPolicy): string {
  return String(Math.max(1, Math.round(policy.lockTimeoutMs)));
}

export class PostgresMigrationConnection implements MigrationConnection {
  readonly state: PostgresStateStore;
  lost = false;
  private readonly keyTypes = new Map<string, KeyInfo>();

  constructor(private readonly client: pg.Client) {
    this.state = new PostgresStateStore(client);
    // pg emits 'error' (outside a query) and then 'end' on every connection failure: a FATAL from the
    // server, a reset, EOF. Whichever comes first, the queries that fail with it see the flag set.
    const lost = () => {
      this.lost = true;
    };
    client.on('error', lost);
    client.on('end', lost);
  }

  introspect(schema: string): Promise<SchemaModel> {
    return introspectPostgres(this.client, schema);
  }

  nameResolution(schema: string, names: readonly string[]): Promise<NameResolution> {
    return readNameResolution(this.client, schema, names);
  }

  async runAction(
    statements: Statement[],
    policy: LockPolicy,
    onRetry?: (n: RetryNotice) => void,
    record?: () => Promise<void>,
  ): Promise<void> {
    const limit = lockTimeoutSetting(policy);
    // The action and its record commit together, so a crash leaves it either done and recorded or not
    // done at all: nothing is redone, which matters for raw SQL that is not idempotent by itself.
    let transaction = !statements.some((s) => s.online);
    for (let attempt = 1; ; attempt++) {
      let current = statements[0]?.sql ?? '';
      try {
        if (transaction) await this.client.query('BEGIN');
        // Only the action's own statements give up after lockTimeoutMs. The state writes and the commit
        // must not: the commit queues for the server-wide NOTIFY lock behind every other runner's commit.
        await this.client.query(`SET ${transaction ? 'LOCAL ' : ''}lock_timeout = ${limit}`);
        for (const statement of statements) {
          current = statement.sql;
          if (statement.skipIf) {
            const r = await this.client.query<{ skip: boolean }>(
              statement.skipIf.sql,
              statement.skipIf.params,
            );
            if (r.rows[0]?.skip) continue;
          }
          await this.client.query(statement.sql);
        }
        await this.client.query(transaction ? 'SET LOCAL lock_timeout = DEFAULT' : 'RESET lock_timeout');
        await record?.();
        if (transaction) await this.client.query('COMMIT');
        return;
      } catch (err) {
        await this.client.query(transaction ? 'ROLLBACK' : 'RESET lock_timeout').catch(() => {});
        const code = sqlState(err);
        if (transaction && code === ACTIVE_SQL_TRANSACTION) {
          // Raw SQL the server refuses in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM): it ran
          // nothing, so run it on its own; from here on it is the statement's own job to be idempotent.
          transaction = false;
          attempt--;
          continue;
        }
        if (!code || !RETRYABLE.has(code)) throw err;
        if (attempt >= policy.maxAttempts) throw new LockTimeoutError(current, attempt, policy.lockTimeoutMs);
        const delayMs = backoffDelay(attempt, policy);
        onRetry?.({ sql: current, attempt, delayMs, code });
        await sleep(delayMs);
      }
    }
  }

  async lockHolders(schema: string, tables: string[]): Promise<number[]> {
    const r = await this.client.query<{ pid: number }>(
      `SELECT DISTINCT l.pid FROM pg_locks l
         JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND l.granted AND l.pid <> pg_backend_pid()`,
      [schema, tables],
    );
    return r.rows.map((row) => row.pid);
  }

  async tryLock(schema: string): Promise<boolean> {
    const r = await this.client.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
      [LOCK_CLASS, schema],
    );
    return r.rows[0]!.ok;
  }

  async unlock(schema: string): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, schema]);
  }

  private async keyInfo(schema: string, task: BackfillTask): Promise<KeyInfo> {
    const cacheKey = `${schema}.${task.table}.${task.key.join(',')}`;
    const known = this.keyTypes.get(cacheKey);
    if (known) return known;
    const r = await this.client.query<{ name: string; type: string }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = ANY($2) AND NOT a.attisdropped`,
      [qualified(schema, task.table), task.key],
    );
    const types = task.key.map((k) => r.rows.find((row) => row.name === k)?.type ?? 'text');
    const info = { columns: task.key, types };
    this.keyTypes.set(cacheKey, info);
    return info;
  }

  async measure(scope: BackfillScope): Promise<{ rows: number; maxKey: string[] | null }> {
    const { schema, task } = scope;
    const table = qualified(schema, task.table);
    const keys = task.key.map(ident);
    const max = await this.client.query<{ key: string[] }>(
      `SELECT ARRAY[${keys.map((k) => `${k}::text`).join(', ')}] AS key FROM ${table}
        ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')} LIMIT 1`,
    );
    return { rows: await this.rowCount(table), maxKey: max.rows[0]?.key ?? null };
  }

  /**
   * The table's rows for progress reports: the planner's estimate once the
   * table has statistics, counted exactly below EXACT_ROW_COUNT_BELOW. A
   * count(*) of a large table is a parallel scan that takes the machine's
   * cores from the clients right at START (80 ms on 300k rows here, the
   * clients' worst statement 95-143 ms meanwhile), for a figure only
   * progress shows; gh-ost and pt-osc estimate too. Each batch raises the
   * total to the rows done, and the last sets it to them (see
   * `batchUpdateStatement`).
   */
  private async rowCount(table: string): Promise<number> {
    // Never analyzed (reltuples -1), the planner guesses from the pages and a default row width: off
    // by half on a freshly loaded table. Such a table is counted.
    const stats = await this.client.query<{ analyzed: boolean }>(
      'SELECT reltuples >= 0 AS analyzed FROM pg_class WHERE oid = $1::regclass',
      [table],
    );
    if (stats.rows[0]?.analyzed) {
      const plan = await this.client.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${table}`,
      );
      const estimate = Math.round(plan.rows[0]!['QUERY PLAN'][0].Plan['Plan Rows']);
      if (estimate >= EXACT_ROW_COUNT_BELOW) return estimate;
    }
    const count = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(count.rows[0]!.n);
  }

  async batch(
    scope: BackfillScope,
    request: BatchRequestSpec,
    policy: LockPolicy,
    onRetry?: (n: RetryNotice) => void,
  ): Promise<BatchOutcome> {
    const { schema, task, migration } = scope;
    const info = await this.keyInfo(schema, task);
    const bound = batchBoundStatement(schema, task, info.types, request);
    const limit = lockTimeoutSetting(policy);
    let sql = bound.sql;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.query('BEGIN');
        // Sync triggers step aside for this transaction only: the batch writes what they would.
        await this.client.query(
          `SELECT set_config('shiftgate.backfill', pg_backend_pid()::text, true), set_config('lock_timeout', '${limit}', true)`,
        );
        const found =
          (await this.client.query<{ key: string[] }>(bound.sql, bound.params)).rows[0]?.key ?? null;
        const upper = found ?? request.upTo;
        const done =
          found === null || (request.upTo !== null && found.join('\u0000') === request.upTo.join('\u0000'));
        const update = batchUpdateStatement(schema, migration, task, info.types, { ...request, upper, done });
        sql = update.sql;
        const r = await this.client.query(update.sql, update.params);
        await this.client.query('COMMIT');
        const row = r.rows[0];
        if (!row) throw new Error(`backfill checkpoint of ${migration}/${task.table} is missing`);
        return { rows: Number(row.updated), checkpoint: toCheckpoint(row) };
      } catch (err) {
        await this.client.query('ROLLBACK').catch(() => {});
        const code = sqlState(err);
        if (!code || !RETRYABLE.has(code)) throw err;
        if (attempt >= policy.maxAttempts) throw new LockTimeoutError(sql, attempt, policy.lockTimeoutMs);
        const delayMs = backoffDelay(attempt, policy);
        onRetry?.({ sql: `backfill ${task.table}`, attempt, delayMs, code });
        await sleep(delayMs);
      }
    }
  }

  async onStateChange(listener: () => void): Promise<void> {
    // Notifications arrive on this connection whenever it is idle between statements.
    this.client.on('notification', (n) => {
      if (n.channel === STATE_CHANNEL) listener();
    });
    await this.client.query(`LISTEN ${STATE_CHANNEL}`);
  }

  async replicaLagMs(): Promise<number | null> {
    // replay_lag is null for a replica that is caught up and idle; no rows means no replicas.
    const { rows } = await this.client.query<{ lag: number | null; replicas: number }>(
      `SELECT max(extract(epoch FROM coalesce(replay_lag, interval '0')) * 1000)::float8 AS lag,
              count(*)::int AS replicas
         FROM pg_stat_replication`,
    );
    return rows[0]!.replicas === 0 ? null : rows[0]!.lag;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

export const postgresMigrationDialect: MigrationDialect = {
  name: 'postgres',
  capabilities: {
    maxIdentifierLength: 63,
    notValidConstraints: true,
    concurrentIndex: true,
    attachIndexConstraint: true,
    transactionalDdl: true,
  },
  render: renderAction,
  describeBackfill(task, schema) {
    const sample = task.key.map(() => '<key>');
    const types = task.key.map(() => 'text');
    const bound = batchBoundStatement(schema, task, types, { limit: 1000, lastKey: sample, upTo: sample });
    const update = batchUpdateStatement(schema, '<migration>', task, types, {
      limit: 1000,
      lastKey: sample,
      upper: sample,
      done: false,
      rowsPerSecond: 0,
      throttleReason: null,
    });
    return `${bound.sql};\n${update.sql}`;
  },
  defaultSchema: () => 'public',
  async connect(url: string): Promise<MigrationConnection> {
    const client = new pg.Client({ connectionString: url, application_name: 'shiftgate-migrate' });
    // A dropped connection surfaces as the failing query's error; without a listener it would crash the process.
    client.on('error', () => {});
    await client.connect();
    return new PostgresMigrationConnection(client);
  },
};
