import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/load.ts';
import { connectAdminClient, dialectForUrl } from '../dialects/index.ts';
import { parseArgs } from './args.ts';
import { embeddedUpstreamUrl } from './embedded-postgres.ts';
import { maskPassword } from './mask-url.ts';
import { renderProgress, renderTable } from './render.ts';

/**
 * `shiftgate start|status|pause|resume|complete|rollback`: the admin SQL
 * commands, sent to a running proxy over an ordinary connection, so the
 * console and the CLI share one implementation.
 */

const DEFAULT_CONFIG = 'config/shiftgate.yaml';

/** `--proxy URL`, else SHIFTGATE_PROXY, else the configured listen address with the first admin user. */
function proxyUrl(args: ReturnType<typeof parseArgs>): string {
  const explicit = args.options.proxy ?? process.env.SHIFTGATE_PROXY;
  if (typeof explicit === 'string') return explicit;
  const file = args.configFile ?? process.env.SHIFTGATE_CONFIG ?? DEFAULT_CONFIG;
  const config = loadConfig({
    file,
    explicitFile: file !== DEFAULT_CONFIG || existsSync(file),
    flags: args.configFlags,
  });
  // No upstream: `serve` runs the embedded PostgreSQL, whose user and password the CLI must then bring.
  const upstream = new URL(config.upstream ?? embeddedUpstreamUrl(config.embedded.port));
  const listen = config.listen ?? `127.0.0.1:${dialectForUrl(upstream).defaultListenPort}`;
  const url = new URL(`${upstream.protocol}//${listen}${upstream.pathname}`);
  url.username = config.admin.users[0] ?? upstream.username;
  url.password = upstream.username === url.username ? upstream.password : '';
  return url.toString();
}

async function send(argv: string[], sql: (args: ReturnType<typeof parseArgs>) => string): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  let url: string;
  try {
    args = parseArgs(argv);
    url = proxyUrl(args);
  } catch (err) {
    process.stderr.write(`shiftgate: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return 2;
  }
  let statement: string;
  try {
    statement = sql(args);
  } catch (err) {
    process.stderr.write(`shiftgate: ${(err as Error).message}\n`);
    return 2;
  }
  const client = await connectAdminClient(url).catch((err: Error) => {
    process.stderr.write(`shiftgate: cannot reach the proxy at ${maskPassword(url)}: ${err.message}\n`);
    return null;
  });
  if (!client) return 1;
  try {
    const watch = args.options.watch === true;
    do {
      const result = await client.query(statement);
      if (watch) process.stdout.write(`\x1b[2J\x1b[H${renderProgress(result)}\n`);
      else process.stdout.write(`${renderTable(result)}\n`);
      if (watch) await new Promise((r) => setTimeout(r, 1000));
    } while (watch);
    return 0;
  } catch (err) {
    const e = err as Error & { hint?: string };
    process.stderr.write(`shiftgate: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
    return 1;
  } finally {
    await client.close().catch(() => {});
  }
}

function quoted(name: string | undefined, what: string): string {
  if (!name) throw new Error(`${what} needs a migration name`);
  return `'${name.replaceAll("'", "''")}'`;
}

type Runner = { run(args: string[]): Promise<number> };

export const start: Runner = {
  run: (a) => send(a, (args) => `SHIFTGATE START ${quoted(args.positional[0], 'start')}`),
};
export const status: Runner = { run: (a) => send(a, () => 'SHOW SHIFTGATE STATUS') };
export const pause: Runner = { run: (a) => send(a, () => 'SHIFTGATE PAUSE') };
export const resume: Runner = { run: (a) => send(a, () => 'SHIFTGATE RESUME') };
export const complete: Runner = {
  run: (a) =>
    send(a, (args) => (args.options.force === true ? 'SHIFTGATE COMPLETE FORCE' : 'SHIFTGATE COMPLETE')),
};
export const rollback: Runner = { run: (a) => send(a, () => 'SHIFTGATE ROLLBACK') };
export const sessions: Runner = { run: (a) => send(a, () => 'SHOW SHIFTGATE SESSIONS') };
export const migrations: Runner = { run: (a) => send(a, () => 'SHOW SHIFTGATE MIGRATIONS') };
