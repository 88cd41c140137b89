import type { Config } from '../config/schema.ts';
import { answerWorkerMetrics } from '../metrics/worker-aggregation.ts';
import { formatHostPort, parseHostPort } from '../proxy/listen-address.ts';
import { log } from '../proxy/log.ts';
import { startShiftgate } from './runtime.ts';
import { stopSignal } from './stop-signal.ts';
import { type HttpReply, type HttpRequest, isMessage, type WorkerReady } from './worker-messages.ts';

/**
 * One worker of `proxy.workers`: a whole Shiftgate (relay, fleet member
 * `<proxy_id>/w<slot>`, migration runner contending for the lease) on the
 * listen address the cluster primary shares out, without an HTTP endpoint
 * of its own: it answers the primary's metrics, health and dashboard
 * requests over IPC. Drains on SIGTERM as `serve` does.
 */
export async function runWorker(config: Config, slot: number, upstreamUrl: string): Promise<number> {
  const stopped = stopSignal();
  const shiftgate = await startShiftgate(workerConfig(config, slot), upstreamUrl, { worker: slot });
  const { proxy, adminHttp } = shiftgate;
  answerWorkerMetrics(proxy.ctx.metrics.registry);
  const send = (message: WorkerReady | HttpReply) => process.send?.(message);
  process.on('message', (message: unknown) => {
    if (!isMessage<HttpRequest>(message, 'shiftgate:http-request')) return;
    const { id, request } = message;
    const answered =
      request.kind === 'probe'
        ? adminHttp.probe().then(() => undefined)
        : (adminHttp.routes(request.path, new URLSearchParams(request.query), request.host) ??
          Promise.resolve(null));
    answered.then(
      (answer) => send({ type: 'shiftgate:http-reply', id, ...(answer === undefined ? {} : { answer }) }),
      (err: Error) => send({ type: 'shiftgate:http-reply', id, error: err.message }),
    );
  });
  send({
    type: 'shiftgate:worker-ready',
    listen: `${proxy.address.address}:${proxy.address.port}`,
    proxyId: shiftgate.fleet.id,
  });

  const signal = await stopped;
  log.info('draining sessions', { signal, worker: shiftgate.fleet.id, sessions: proxy.ctx.registry.size });
  await shiftgate.stop();
  return 0;
}

/**
 * Worker `slot`'s config: its own fleet peer port (where other proxies
 * forward the cancels for its sessions), which no other worker may share.
 * A `fleet.peer_listen` port names worker 1's, and worker N takes the Nth
 * port from it; port 0 (and the default) lets each worker's system pick one.
 */
export function workerConfig(config: Config, slot: number): Config {
  if (!config.fleet.peer_listen) return config;
  const { host, port } = parseHostPort(config.fleet.peer_listen);
  if (port === 0) return config;
  return { ...config, fleet: { ...config.fleet, peer_listen: formatHostPort(host, port + slot - 1) } };
}
