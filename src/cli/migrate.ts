/**
 * `shiftgate migrate start|complete|rollback|resume|status|history|versions
 *  --upstream URL [FILE] [--dry-run] [--schema NAME] [--format text|json]`:
 * runs the migration engine directly against a database, without a proxy.
 *
 * `start FILE` runs expand, backfill and validate, leaving the migration
 * active (both versions live); running it again after an interruption
 * resumes it. Ctrl-C stops the backfill between batches.
 */
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { connectMigrationEngine } from '../dialects/index.ts';
import type { DryRun, EngineEvent, MigrationStatus } from '../migrations/engine.ts';
import { MigrationError, MigrationValidationError } from '../migrations/errors.ts';
import { loadMigrationFile } from '../migrations/parse.ts';
import { redactSecrets } from '../migrations/redact.ts';
import { log } from '../proxy/log.ts';
import { parseArgs } from './args.ts';
import { embeddedUpstreamUrl } from './embedded-postgres.ts';
import { maskPassword } from './mask-url.ts';

const DEFAULT_CONFIG = 'config/shiftgate.yaml';
const USAGE = `usage: shiftgate migrate <command> [--upstream URL] [options]

commands:
  start FILE     expand, backfill, validate: the migration becomes active (resumes when interrupted)
  complete       contract the active migration
  rollback       undo the migration in flight
  resume         continue the migration in flight from its stored phase
  status         the migration in flight (or the latest)
  history        every migration of the schema
  versions       schema versions and their logical changes (JSON)

options:
  --upstream URL the database (default: the embedded PostgreSQL that \`shiftgate serve\` starts)
  --dry-run      with start: print the SQL of every phase, change nothing
  --schema NAME  database schema to migrate (default public)
  --format json  machine-readable output
`;

function formatStatus(s: MigrationStatus | null): string {
  if (!s) return 'no migrations\n';
  let out = `${s.name}  phase=${s.phase}${s.phaseDone ? '' : ' (running or interrupted)'}  parent=${s.parent ?? '-'}\n`;
  if (s.error) out += `  last error: ${s.error}\n`;
  for (const b of s.backfill)
    out += `  backfill ${b.table}: ${b.rowsDone}/${b.rowsTotal} rows, ${Math.round(b.rowsPerSecond)} rows/s, batch ${b.batchSize}${
      b.etaSeconds !== null && !b.done ? `, eta ${Math.ceil(b.etaSeconds)}s` : ''
    }${b.done ? ', done' : ''}${b.throttleReason ? `, throttled: ${b.throttleReason}` : ''}\n`;
  return out;
}

function formatDryRun(d: DryRun): string {
  const section = (title: string, list: { op: number; kind: string; sql: string[] }[]) =>
    `-- ${title}\n${list.length === 0 ? '-- (nothing)\n' : list.map((a) => `-- operation ${a.op} (${a.kind})\n${a.sql.map((s) => `${s};`).join('\n')}\n`).join('')}`;
  return [
    `-- dry run of ${d.migration}`,
    section('expanding', d.start),
    `-- backfilling\n${d.backfill.length === 0 ? '-- (nothing)\n' : d.backfill.map((b) => `-- ${b.table}: keyset batches over (${b.key.join(', ')}), one statement each\n${b.sql};\n`).join('')}`,
    section('validating', d.verify),
    section('contracting (complete)', d.complete),
    section('rolling back (rollback)', d.rollback),
  ].join('\n');
}

function onEvent(event: EngineEvent): void {
  if (event.type === 'phase') log.info(`${event.migration}: ${event.phase} ${event.state}`);
  else if (event.type === 'retry')
    log.warn(`${event.migration}: lock not available, retrying`, {
      attempt: event.notice.attempt,
      delay_ms: event.notice.delayMs,
      sql: redactSecrets(event.notice.sql).slice(0, 120),
    });
  else if (event.type === 'batch' && (event.progress.done || Math.random() < 0.05))
    log.info(`${event.migration}: backfill ${event.progress.table}`, {
      rows: `${event.progress.rowsDone}/${event.progress.rowsTotal}`,
      rows_per_s: Math.round(event.progress.rowsPerSecond),
      batch: event.progress.batchSize,
    });
  else if (event.type === 'action')
    log.debug(`${event.migration}: ${event.phase} op ${event.op} ${event.kind}`);
}

export async function run(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  let config: Config;
  try {
    args = parseArgs(argv);
    const file = args.configFile ?? process.env.SHIFTGATE_CONFIG ?? DEFAULT_CONFIG;
    config = loadConfig({
      file,
      explicitFile: file !== DEFAULT_CONFIG || existsSync(file),
      flags: args.configFlags,
    });
  } catch (err) {
    process.stderr.write(`shiftgate migrate: ${(err as Error).message}\n`);
    return 2;
  }
  const [command, file] = args.positional;
  if (!command || args.options.help) {
    process.stderr.write(USAGE);
    return args.options.help ? 0 : 2;
  }
  // No upstream: the embedded PostgreSQL that `shiftgate serve` starts with no configuration.
  const upstream = config.upstream ?? embeddedUpstreamUrl(config.embedded.port);
  const json = args.options.format === 'json';
  const print = (value: unknown, text: string) =>
    process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text);
  const engine = await connectMigrationEngine({
    url: upstream,
    ...(typeof args.options.schema === 'string' ? { schema: args.options.schema } : {}),
    sizing: {
      targetBatchMs: config.throttle.target_batch_ms,
      minBatch: config.throttle.min_batch,
      maxBatch: config.throttle.max_batch,
    },
    onEvent,
  }).catch((err: Error) => {
    process.stderr.write(
      `shiftgate migrate: cannot reach ${maskPassword(upstream)}: ${err.message.split('\n')[0]}\n`,
    );
    return null;
  });
  if (!engine) return 1;
  const abort = new AbortController();
  const stop = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  try {
    switch (command) {
      case 'start': {
        if (!file) {
          process.stderr.write('shiftgate migrate start: FILE is required\n');
          return 2;
        }
        const migration = loadMigrationFile(file);
        if (args.options['dry-run']) {
          const d = await engine.dryRun(migration);
          print({ ...d, plan: undefined }, formatDryRun(d));
          return 0;
        }
        const s = await engine.start(migration, { signal: abort.signal });
        print(s, formatStatus(s));
        return 0;
      }
      case 'complete': {
        const s = await engine.complete();
        print(s, formatStatus(s));
        return 0;
      }
      case 'rollback': {
        const s = await engine.rollback();
        print(s, formatStatus(s));
        return 0;
      }
      case 'resume': {
        const s = await engine.resume({ signal: abort.signal });
        print(s, formatStatus(s));
        return 0;
      }
      case 'status': {
        const s = await engine.status();
        print(s, formatStatus(s));
        return 0;
      }
      case 'history': {
        const all = await engine.history();
        print(all, all.map(formatStatus).join('') || 'no migrations\n');
        return 0;
      }
      case 'versions':
        process.stdout.write(`${JSON.stringify(await engine.versions(), null, 2)}\n`);
        return 0;
      default:
        process.stderr.write(`shiftgate migrate: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (abort.signal.aborted) {
      process.stderr.write('shiftgate migrate: interrupted; run the same command again to resume\n');
      return 130;
    }
    if (err instanceof MigrationValidationError) {
      for (const issue of err.issues)
        process.stderr.write(`${issue.message.replace(/ \(and \d+ more\)$/, '')}\n`);
      return 1;
    }
    if (err instanceof MigrationError || err instanceof ConfigError) {
      process.stderr.write(`shiftgate migrate: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGINT', stop);
    await engine.close();
  }
}
