/** A whole Shiftgate (proxy, router, admin console, migration control) in this process, for tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Shiftgate, startShiftgate } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';

export interface TestShiftgate {
  sg: Shiftgate;
  /** `url` (a database URL on the real server) rewritten to go through the proxy. */
  via(url: string, params?: Record<string, string>): string;
  migrationsDir: string;
  /** Base URL of the admin HTTP endpoint (dashboard, /api/, /metrics) when started with `{ http: true }`. */
  httpUrl: string | null;
  /** Writes `<name>.yaml` into the migrations directory. */
  writeMigration(name: string, yaml: string): void;
  /** Runs one statement through the proxy as `url`'s user and returns the rows. */
  admin(url: string, sql: string): Promise<Record<string, string | null>[]>;
  /** Polls SHOW SHIFTGATE STATUS until the migration reaches `phase` (or none is in flight for 'none'). */
  waitForPhase(url: string, phase: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestShiftgate(
  upstream: string,
  flags: Record<string, string> = {},
  options: { http?: boolean } = {},
): Promise<TestShiftgate> {
  const migrationsDir = mkdtempSync(join(tmpdir(), 'shiftgate-migrations-'));
  const config = loadConfig({
    env: {},
    flags: {
      upstream,
      listen: '127.0.0.1:0',
      migrations: migrationsDir,
      ...(options.http ? { http: '127.0.0.1:0' } : {}),
      ...flags,
    },
  });
  const sg = await startShiftgate(config, upstream, { http: options.http === true });
  const httpUrl = sg.http ? `http://127.0.0.1:${sg.http.address.port}` : null;
  const port = sg.proxy.address.port;
  const via = (url: string, params: Record<string, string> = {}) => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  };
  const admin = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: via(url) });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, string | null>[];
    } finally {
      await client.end();
    }
  };
  return {
    sg,
    via,
    migrationsDir,
    httpUrl,
    writeMigration(name, yaml) {
      writeFileSync(join(migrationsDir, `${name}.yaml`), yaml);
    },
    admin,
    async waitForPhase(url, phase, timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        const rows = await admin(url, 'SHOW SHIFTGATE STATUS');
        last = rows[0]?.phase ?? 'none';
        if (last === phase) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`migration did not reach ${phase} (last: ${last})`);
    },
    stop: () => sg.stop(),
  };
}
