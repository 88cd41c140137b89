/**
 * Running sysbench against MariaDB / MySQL and reading its summary: the
 * connection flags for a URL, and transactions per second, mean and p99
 * latency from the output of `sysbench ... run`.
 */
import { run } from './harness.ts';

export interface SysbenchSummary {
  tps: number;
  transactions: number;
  /** Mean transaction latency, from sysbench's latency sum (the printed average has 10 us steps). */
  meanUs: number;
  p99Ms: number;
}

/** sysbench's --db-ps-mode per mode: server-side prepared statements, or the statements sent as text. */
export const SYSBENCH_PS_MODE: Record<string, string> = { prepared: 'auto', text: 'disable' };

export function sysbenchConnectionArgs(url: URL, database: string): string[] {
  return [
    '--db-driver=mysql',
    `--mysql-host=${url.hostname}`,
    `--mysql-port=${url.port || 3306}`,
    `--mysql-user=${decodeURIComponent(url.username) || 'root'}`,
    ...(url.password ? [`--mysql-password=${decodeURIComponent(url.password)}`] : []),
    `--mysql-db=${database}`,
  ];
}

/** Runs `sysbench ARGS` (ending in `run`) and reads its summary; an ignored error fails the run. */
export async function sysbenchRun(args: string[]): Promise<SysbenchSummary> {
  const { stdout } = await run('sysbench', [...args, '--percentile=99', 'run'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const number = (re: RegExp) => Number(re.exec(stdout)?.[1]);
  const errors = number(/ignored errors:\s+(\d+)/);
  if (errors > 0) throw new Error(`sysbench reported ${errors} errors`);
  const transactions = number(/transactions:\s+(\d+)/);
  return {
    tps: number(/transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    transactions,
    meanUs: (number(/sum:\s+([\d.]+)/) * 1000) / transactions,
    p99Ms: number(/99th percentile:\s+([\d.]+)/),
  };
}
