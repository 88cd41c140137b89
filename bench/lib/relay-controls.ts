/**
 * What the relay benchmarks compare Shiftgate with, and how they weigh a
 * relay's own work: the bare Node pipe (the floor for any Node relay),
 * PgBouncer (installed with apt-get when missing), and a process's CPU time
 * read from /proc, so CPU per transaction is measured the same way for
 * every proxy in the run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { freePort, waitForTcp } from './harness.ts';

/** Kernel clock ticks per second, the unit of utime and stime in /proc/PID/stat. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU time of process `pid` so far, in microseconds. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLOCK_TICKS;
}

/** The processes `pid` started (through any of its threads), from /proc; none once it is gone. */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * CPU time of `pid` and of every process below it, in microseconds: a
 * `shiftgate serve` with `proxy.workers` is its primary and the workers it
 * forked, and the relay's cost is all of theirs.
 */
export function processTreeCpuMicros(pid: number): number {
  const below = (child: number) => {
    try {
      return processTreeCpuMicros(child);
    } catch {
      return 0; // exited between the listing and the read
    }
  };
  return childPids(pid).reduce((sum, child) => sum + below(child), processCpuMicros(pid));
}

export interface RelayProcess {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bench/lib/bare-pipe.mjs in front of `host:port`. */
export async function startBarePipe(host: string, port: number): Promise<RelayProcess> {
  const listen = await freePort();
  const script = new URL('./bare-pipe.mjs', import.meta.url).pathname;
  const proc: ChildProcess = spawn(process.execPath, [script, String(listen), host, String(port)], {
    stdio: 'ignore',
  });
  await waitForTcp(listen);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    port: listen,
    pid: proc.pid!,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Whether `pgbouncer` runs here, installing Debian's package first when it is missing and apt-get can. */
export function ensurePgBouncer(): boolean {
  const present = () => {
    try {
      execFileSync('pgbouncer', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (present()) return true;
  try {
    console.log('installing pgbouncer (apt-get)');
    execFileSync('apt-get', ['install', '-y', '-qq', 'pgbouncer'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    return false;
  }
  return present();
}
