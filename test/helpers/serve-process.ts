/**
 * `shiftgate serve` as a separate process, as a fleet runs it: each proxy
 * with its own listen port, admin HTTP port and fleet id.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from './cli.ts';

export interface ServedProxy {
  child: ChildProcess;
  /** The proxy's `connect:` URL as printed at start-up (the upstream URL with the proxy's host and port). */
  proxyUrl: string;
  port: number;
  /** The admin HTTP endpoint's /metrics URL. */
  metricsUrl: string;
  /** Resolves when the process exits, with what it wrote to stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<void>;
}

/** Starts `shiftgate serve` with `flags` (`--key value` pairs); resolves once it prints where it listens. */
export function serveProxy(
  flags: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ServedProxy> {
  const args = Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
  const child = spawn(process.execPath, [...CLI, 'serve', ...args], {
    env: { ...process.env, SHIFTGATE_LOG_LEVEL: 'warn', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const connect = /connect:\s+(\S+)/.exec(stdout);
      const metrics = /metrics:\s+(\S+)/.exec(stdout);
      if (!connect || !metrics) return;
      const proxyUrl = connect[1]!;
      resolve({
        child,
        proxyUrl,
        port: Number(new URL(proxyUrl).port),
        metricsUrl: metrics[1]!,
        exited,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    exited.then(({ code, signal }) => reject(new Error(`serve exited with ${code ?? signal}: ${stderr}`)));
  });
}

/** Polls `check` every 100 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
  );
}

/**
 * One `shiftgate serve` per id in front of `upstream`, each listening on a
 * loopback port of its own with its admin HTTP endpoint, named by its id
 * (`fleet.proxy_id`) and started with `flags`.
 */
export async function serveFleet(
  ids: string[],
  flags: Record<string, string> & { upstream: string },
): Promise<Map<string, ServedProxy>> {
  const started = await Promise.all(
    ids.map((id) =>
      serveProxy({ listen: '127.0.0.1:0', http: '127.0.0.1:0', ...flags, 'fleet-proxy-id': id }).then(
        (p) => [id, p] as const,
      ),
    ),
  );
  return new Map(started);
}
