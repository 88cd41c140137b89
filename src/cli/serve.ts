import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { dialectForUrl } from '../dialects/index.ts';
import { log } from '../proxy/log.ts';
import { parseArgs } from './args.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { maskPassword } from './mask-url.ts';
import { startShiftgate } from './runtime.ts';
import { stopSignal } from './stop-signal.ts';
import { WORKER_SLOT_ENV, WORKER_UPSTREAM_ENV } from './worker-messages.ts';

const DEFAULT_CONFIG = 'config/shiftgate.yaml';

/** `shiftgate serve`: runs the proxy and the admin HTTP endpoint until SIGTERM / SIGINT. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (Object.keys(args.options).length > 0) {
    process.stderr.write(`serve: unknown option --${Object.keys(args.options)[0]}\n`);
    return 2;
  }
  let config: Config;
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

  // A worker of `proxy.workers` reruns this command line; the primary resolved the upstream for it.
  const slot = process.env[WORKER_SLOT_ENV];
  const workerUpstream = process.env[WORKER_UPSTREAM_ENV];
  if (slot && workerUpstream) {
    return (await import('./serve-worker.ts')).runWorker(config, Number(slot), workerUpstream);
  }

  let stopEmbedded: (() => Promise<void>) | undefined;
  let upstreamUrl = config.upstream;
  if (!upstreamUrl) {
    // Started once, here, before any worker: every worker relays to the same server.
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

  const announce = (listen: string, http: { address: string; port: number }) => {
    const upstream = new URL(upstreamUrl);
    const example = new URL(upstreamUrl);
    example.host = listen;
    // Authentication is relayed, so clients bring their own password; only the embedded server's
    // generated one (which nothing else would tell the newcomer) stays on screen.
    if (!stopEmbedded) example.password = '';
    process.stdout.write(
      `Shiftgate is proxying ${dialectForUrl(upstream).name} ${upstream.host} on ${listen}\n` +
        `  connect:  ${example}\n` +
        `  metrics:  http://${http.address}:${http.port}/metrics\n` +
        `  dashboard: http://${http.address}:${http.port}/\n`,
    );
  };

  const workers = config.proxy.workers === 'auto' ? availableParallelism() : config.proxy.workers;
  let code = 0;
  if (workers > 1) {
    // Loaded only here: a single-process serve (and every other command) never loads the cluster code.
    const { serveWorkers } = await import('./serve-workers.ts');
    code = await serveWorkers({ config, count: workers, upstreamUrl, announce });
  } else {
    const shiftgate = await startShiftgate(config, upstreamUrl);
    const { proxy } = shiftgate;
    announce(`${proxy.address.address}:${proxy.address.port}`, shiftgate.http!.address);
    const signal = await stopSignal();
    log.info('draining sessions', { signal, sessions: proxy.ctx.registry.size });
    await shiftgate.stop();
  }
  await stopEmbedded?.();
  log.info('stopped');
  return code;
}
