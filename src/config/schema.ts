import { z } from 'zod';

/** More relay processes than this on one host is a typo, not a plan. */
const MAX_WORKERS = 256;

/**
 * `proxy.workers`: a count or `auto`. From the file it is a YAML number; from
 * the environment or a flag it arrives as text, so digits are read as one.
 */
const workerCount = z.union([z.number(), z.string()]).transform((raw, ctx): number | 'auto' => {
  if (raw === 'auto') return 'auto';
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS) return n;
  ctx.addIssue({
    code: 'custom',
    message: `expected a number of worker processes from 1 to ${MAX_WORKERS}, or 'auto' (one per core), got '${raw}'`,
  });
  return z.NEVER;
});

const hostPort = z
  .string()
  .regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:6432');

/**
 * The one schema of `config/shiftgate.yaml`. Every key has a default; the
 * environment variable and the CLI flag of a key are derived from its path
 * (see `load.ts`), so adding a key here is all it takes to expose it.
 */
export const configSchema = z
  .object({
    /** `postgres://...` or `mysql://...`; null starts an embedded PostgreSQL. */
    upstream: z
      .string()
      .regex(/^(postgres|postgresql|mysql|mariadb):\/\//, 'expected a postgres:// or mysql:// URL')
      .nullable()
      .default(null),
    /** Where clients connect; null picks the dialect's usual port on 127.0.0.1 (6432 or 6033). */
    listen: hostPort.nullable().default(null),
    http: hostPort.default('127.0.0.1:9187'),
    migrations: z.string().default('./migrations'),
    admin: z
      .object({ users: z.array(z.string()).default(['postgres']) })
      .strict()
      .prefault({}),
    tls: z
      .object({ cert: z.string().nullable().default(null), key: z.string().nullable().default(null) })
      .strict()
      .prefault({}),
    throttle: z
      .object({
        /**
         * How the backfill is paced: `pace` (a steady rate in rows/s in small
         * batches, raised and lowered on sustained client latency change),
         * `aimd` (batch ceiling halved and delay doubled on every congested
         * reading) or `fixed` (no latency feedback: batches sized by
         * `target_batch_ms`, each followed by a sleep of `nice_ratio` x its time).
         */
        controller: z.enum(['pace', 'aimd', 'fixed']).default('pace'),
        /** `pace`: rows/s of the first batches, doubled on every healthy reading until latency first rises. */
        start_rate: z.number().positive().default(2000),
        /** `pace`: the rate never drops below this, so a backfill under pressure still ends. */
        min_rate: z.number().positive().default(100),
        /** `pace`: the rate never exceeds this (null: only `max_batch` per interval bounds it). */
        max_rate: z.number().positive().nullable().default(null),
        /** `pace`: time between the starts of two batches at a steady rate. */
        pace_interval_ms: z.number().positive().default(10),
        /** `fixed`: sleep after each batch, as a multiple of the batch's duration (gh-ost's nice-ratio). */
        nice_ratio: z.number().min(0).default(0),
        target_batch_ms: z.number().positive().default(100),
        min_batch: z.number().int().positive().default(100),
        max_batch: z.number().int().positive().default(10000),
        latency_headroom: z.number().min(1).default(1.2),
        max_client_p99_ms: z.number().positive().nullable().default(null),
        max_replica_lag_ms: z.number().positive().default(1000),
      })
      .strict()
      .prefault({}),
    proxy: z
      .object({
        /**
         * Relay processes on the listen address (`auto`: one per core), each a
         * member of the fleet; 1 runs the proxy in the `serve` process itself.
         */
        workers: workerCount.default(1),
        /** SIGTERM waits this long for in-flight statements and transactions before closing sessions. */
        shutdown_timeout_ms: z.number().int().nonnegative().default(10000),
        /** A client message larger than this is refused (08P01 / malformed packet) and the session closed. */
        max_message_bytes: z
          .number()
          .int()
          .positive()
          .default(256 * 1024 * 1024),
        connect_timeout_ms: z.number().int().positive().default(5000),
        /** Sliding window of the client latency recorder the throttle reads. */
        latency_window_s: z.number().int().positive().default(60),
        /**
         * Around a migration's switch (COMPLETE, ROLLBACK) new statements on its
         * tables wait for the new schema version map at most this long; past it
         * they fail with a retryable error (55P03) instead of waiting on.
         */
        switch_hold_ms: z.number().int().positive().default(2000),
        /**
         * Schema version for sessions that do not choose one, by user and/or
         * application_name; the first matching rule wins. Environment and flag
         * take the list as JSON.
         */
        version_rules: z
          .array(
            z
              .object({
                user: z.string().optional(),
                application_name: z.string().optional(),
                version: z.string(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    fleet: z
      .object({
        /** This proxy's name in the fleet (SHOW SHIFTGATE PROXIES, errors); null: this host's name and listen port. */
        proxy_id: z.string().min(1).max(191).nullable().default(null),
        /** How often the proxy writes its heartbeat (sessions, latency) into the state store. */
        heartbeat_ms: z.number().int().positive().default(1000),
        /** A proxy whose heartbeat is older than this is gone: its sessions and latency no longer count. */
        heartbeat_timeout_ms: z.number().int().positive().default(5000),
        /**
         * Where this proxy takes the cancel requests other proxies of the fleet
         * forward to it (a port of its own: workers share the client port);
         * null: the listen host on a port the system picks. With
         * `proxy.workers`, worker N takes the Nth port from this one.
         */
        peer_listen: hostPort.nullable().default(null),
        /**
         * The host other proxies reach this one's peer port at; null: the
         * peer listen host, or this machine's first external address when
         * that is a wildcard (0.0.0.0, ::).
         */
        advertise_host: z.string().min(1).nullable().default(null),
      })
      .strict()
      .prefault({}),
    embedded: z
      .object({
        /** Data folder of the embedded PostgreSQL that runs when no upstream is configured. */
        data_dir: z.string().default('./.shiftgate/embedded-pg'),
        port: z.number().int().positive().default(54329),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
