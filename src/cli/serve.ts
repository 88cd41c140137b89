import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/load.ts';
import { dialectForUrl } from '../dialects/index.ts';
import { log } from '../proxy/log.ts';
import { parseArgs } from './args.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { maskPassword } from './mask-url.ts';
import { startShiftgate } from './runtime.ts';

const DEFAULT_CONFIG = 'config/shiftgate.yaml';

/** `shiftgate serve`: runs the proxy and the admin HTTP endpoint until SIGTERM / SIGINT. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (Object.keys(args.options).length > 0) {
    process.stderr.write(`serve: unknown option --${Object.keys(args.options)[0]}\n`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    const file = args.configFile ?? process.env.SHIFTGATE_CONFIG ?? DEFAULT_CONFIG;
    config = loadConfig({
      file,
      explicitFile: file !== DEFAULT_CONFIG || existsSync(file),
      flags: args.configFlags,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`shiftgate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let stopEmbedded: (() => Promise<void>) | undefined;
  let upstreamUrl = config.upstream;
  if (!upstreamUrl) {
    const server = await startEmbeddedPostgres({
      dataDir: config.embedded.data_dir,
      port: config.embedded.port,
    });
    stopEmbedded = server.stop;
    upstreamUrl = server.url;
    log.info('no upstream configured: started the embedded PostgreSQL', {
      url: maskPassword(server.url),
    });
  }

  const upstream = new URL(upstreamUrl);
  const dialect = dialectForUrl(upstream);
  const shiftgate = await startShiftgate(config, upstreamUrl);
  const { proxy } = shiftgate;
  const http = shiftgate.http!;

  const where = `${proxy.address.address}:${proxy.address.port}`;
  const example = new URL(upstreamUrl);
  example.host = where;
  // Authentication is relayed, so clients bring their own password; only the embedded server's
  // generated one (which nothing else would tell the newcomer) stays on screen.
  if (!stopEmbedded) example.password = '';
  process.stdout.write(
    `Shiftgate is proxying ${dialect.name} ${upstream.host} on ${where}\n` +
      `  connect:  ${example}\n` +
      `  metrics:  http://${http.address.address}:${http.address.port}/metrics\n` +
      `  dashboard: http://${http.address.address}:${http.address.port}/\n`,
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('draining sessions', { signal, sessions: proxy.ctx.registry.size });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await shiftgate.stop();
  await stopEmbedded?.();
  log.info('stopped');
  return 0;
}
