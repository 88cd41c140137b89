/**
 * The `shiftgate` command line. Each subcommand lives in its own file and
 * exports `run(args)`, resolving to the process exit code.
 */
type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  serve: { summary: 'run the proxy', load: () => import('./serve.ts') },
  migrate: { summary: 'run a migration directly against a database', load: () => import('./migrate.ts') },
  validate: { summary: 'check migration files', load: () => import('./validate.ts') },
  start: {
    summary: 'start a migration on a running proxy: start NAME [--proxy URL]',
    load: () => import('./proxy-command.ts').then((m) => m.start),
  },
  status: {
    summary: 'active migrations: status [--watch] [--proxy URL]',
    load: () => import('./proxy-command.ts').then((m) => m.status),
  },
  pause: { summary: 'hold the backfill', load: () => import('./proxy-command.ts').then((m) => m.pause) },
  resume: { summary: 'release the backfill', load: () => import('./proxy-command.ts').then((m) => m.resume) },
  complete: {
    summary: 'contract the active migration: complete [--force]',
    load: () => import('./proxy-command.ts').then((m) => m.complete),
  },
  rollback: {
    summary: 'undo the active migration',
    load: () => import('./proxy-command.ts').then((m) => m.rollback),
  },
  sessions: {
    summary: 'client sessions and their schema versions',
    load: () => import('./proxy-command.ts').then((m) => m.sessions),
  },
  migrations: {
    summary: 'migration history',
    load: () => import('./proxy-command.ts').then((m) => m.migrations),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: shiftgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

const [name, ...args] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  process.stderr.write(name && name !== '--help' ? `unknown command '${name}'\n\n${usage()}` : usage());
  process.exit(name && name !== '--help' ? 2 : 0);
}
// `status --watch | head`: the reader went away, which is how a pipe ends, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
let code: number;
try {
  code = await (await command.load()).run(args);
} catch (err) {
  // Expected failures (unreachable database, bad input) are one line; a stack helps nobody here.
  process.stderr.write(`shiftgate: ${(err as Error).message.split('\n')[0]}\n`);
  code = 1;
}
// A driver that failed mid-handshake may keep its socket open: exit once the output is flushed,
// so an error never leaves the command hanging.
process.stdout.write('', () => process.exit(code));
