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
  const { user, system } = processCpuTimes(pid);
  return user + system;
}

/**
 * User and system CPU time of process `pid` so far, in microseconds. User
 * time is the relay's own code; system time also carries loopback TCP work
 * the kernel charges to whichever process is running, so it moves more with
 * machine load.
 */
export function processCpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    user: (Number(fields[11]) * 1e6) / CLOCK_TICKS,
    system: (Number(fields[12]) * 1e6) / CLOCK_TICKS,
  };
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
  const { user, system } = processTreeCpuTimes(pid);
  return user + system;
}

/** `processCpuTimes` summed over `pid` and every process below it. */
export function processTreeCpuTimes(pid: number): { user: number; system: number } {
  const total = processCpuTimes(pid);
  for (const child of childPids(pid)) {
    try {
      const below = processTreeCpuTimes(child);
      total.user += below.user;
      total.system += below.system;
    } catch {
      // exited between the listing and the read
    }
  }
  return total;
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
