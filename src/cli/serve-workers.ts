import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.ts';
import { type HttpAnswer, startAdminHttp } from '../metrics/http.ts';
import { workerMetrics } from '../metrics/worker-aggregation.ts';
import { log } from '../proxy/log.ts';
import { RestartBackoff } from './restart-backoff.ts';
import { stopSignal } from './stop-signal.ts';
import {
  type HttpReply,
  type HttpRequest,
  isMessage,
  WORKER_SLOT_ENV,
  WORKER_UPSTREAM_ENV,
  type WorkerReady,
} from './worker-messages.ts';

/** How long the admin endpoint waits for a worker's answer to /healthz or a dashboard route. */
const WORKER_ANSWER_TIMEOUT_MS = 5000;

export interface WorkersOptions {
  config: Config;
  count: number;
  upstreamUrl: string;
  /** Called once every worker listens: the listen address (HOST:PORT) and the admin endpoint's. */
  announce(listen: string, http: AddressInfo): void;
}

/**
 * The primary of `proxy.workers`: forks `count` workers (each reruns this
 * command line and finds its slot in the environment), lets the cluster
 * module accept on the listen address and hand connections round-robin to
 * them, and owns the admin HTTP endpoint, so one scrape of /metrics is the
 * sum over every worker (not one worker's share). A crashed worker is
 * started again after a growing delay; a crash loop stops the whole group
 * (exit 1). SIGTERM / SIGINT is passed on, and the primary exits once every
 * worker has drained: 0 when each exited cleanly.
 */
export async function serveWorkers(options: WorkersOptions): Promise<number> {
  const { config, count, upstreamUrl } = options;
  // Round-robin is Linux's default already; set explicitly so NODE_CLUSTER_SCHED_POLICY cannot turn
  // it into the kernel's accept() race, which piles connections onto whichever worker is awake.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const metrics = workerMetrics();

  const workers = new Map<number, Worker>();
  const readySlots = new Set<number>();
  const exits = new Set<Promise<unknown>>();
  const restarts = new Map<number, NodeJS.Timeout>();
  const backoff = new Map<number, RestartBackoff>();
  /** Every worker has been ready once: from then on an exit is a crash to restart, not a failed start. */
  let started = false;
  let stopping = false;
  /** A worker exited other than cleanly while draining. */
  let failed = false;
  let crashLoop: (reason: string) => void = () => {};
  const crashLooped = new Promise<string>((resolve) => {
    crashLoop = resolve;
  });

  /** Starts worker `slot`; resolves with its listen address once it is ready, rejects if it exits first. */
  function fork(slot: number): Promise<string> {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot), [WORKER_UPSTREAM_ENV]: upstreamUrl });
    workers.set(slot, worker);
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      worker.once('exit', (code, signal) => resolve([code, signal])),
    );
    exits.add(exited);
    let wasReady = false;
    const ready = new Promise<string>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (isMessage<WorkerReady>(message, 'shiftgate:worker-ready')) {
          wasReady = true;
          readySlots.add(slot);
          log.info('worker ready', { worker: message.proxyId, pid: worker.process.pid });
          resolve(message.listen);
        }
      });
      exited.then(([code, signal]) => reject(new Error(`worker ${slot} exited with ${code ?? signal}`)));
    });
    exited.then(([code, signal]) => {
      exits.delete(exited);
      readySlots.delete(slot);
      if (workers.get(slot) === worker) workers.delete(slot);
      if (stopping && code !== 0) failed = true;
      if ((started || wasReady) && !stopping) restartLater(slot, worker.process.pid, code, signal);
    });
    return ready;
  }

  function restartLater(slot: number, pid: number | undefined, code: number | null, signal: string | null) {
    const schedule = backoff.get(slot) ?? new RestartBackoff();
    backoff.set(slot, schedule);
    const delay = schedule.onCrash(Date.now());
    const fields = { worker: slot, pid, exit: code ?? signal };
    if (delay === null) {
      log.error('worker keeps crashing; stopping every worker', fields);
      crashLoop(`worker ${slot} crashed repeatedly (last exit: ${code ?? signal})`);
      return;
    }
    log.warn('worker exited; restarting it', { ...fields, in_ms: delay });
    restarts.set(
      slot,
      setTimeout(() => {
        restarts.delete(slot);
        if (!stopping) fork(slot).catch(() => {}); // its exit is handled (and counted) like any crash
      }, delay),
    );
  }

  async function stopAll(): Promise<void> {
    stopping = true;
    for (const timer of restarts.values()) clearTimeout(timer);
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
    await Promise.all([...exits]);
  }

  let nextRequest = 0;
  const pending = new Map<number, (reply: HttpReply) => void>();
  cluster.on('message', (_worker, message: unknown) => {
    if (isMessage<HttpReply>(message, 'shiftgate:http-reply')) pending.get(message.id)?.(message);
  });
  /** Asks the first ready worker (its dashboard, its view of the upstream); rejects when none answers. */
  function askWorker(request: HttpRequest['request']): Promise<HttpReply> {
    const slot = [...readySlots].sort((a, b) => a - b)[0];
    const worker = slot === undefined ? undefined : workers.get(slot);
    if (!worker?.isConnected()) return Promise.reject(new Error('no worker is running'));
    const id = nextRequest++;
    return new Promise<HttpReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`worker ${slot} did not answer within ${WORKER_ANSWER_TIMEOUT_MS} ms`));
      }, WORKER_ANSWER_TIMEOUT_MS);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(reply);
      });
      worker.send({ type: 'shiftgate:http-request', id, request } satisfies HttpRequest);
    });
  }
  const replied = (reply: HttpReply) => {
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply;
  };

  const stopped = stopSignal();
  const slots = Array.from({ length: count }, (_, i) => i + 1);
  let listen: string;
  try {
    [listen] = (await Promise.all(slots.map(fork))) as [string];
  } catch (err) {
    log.error('a worker failed to start; stopping the others', { error: (err as Error).message });
    await stopAll();
    return 1;
  }
  started = true;
  const http = await startAdminHttp(
    config.http,
    metrics,
    async () => void replied(await askWorker({ kind: 'probe' })),
    (path, query, host) =>
      askWorker({ kind: 'route', path, query: query.toString(), host }).then(
        (reply): HttpAnswer | null => replied(reply).answer ?? null,
      ),
  );
  options.announce(listen, http.address);

  const reason = await Promise.race([
    stopped.then((signal) => {
      log.info('stopping the workers', { signal, workers: workers.size });
      return null;
    }),
    crashLooped,
  ]);
  await stopAll();
  await http.close();
  if (reason !== null) {
    process.stderr.write(`shiftgate: ${reason}; stopped\n`);
    return 1;
  }
  return failed ? 1 : 0;
}
