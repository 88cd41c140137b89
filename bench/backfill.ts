/**
 * `npm run bench:backfill [-- [--dialect postgres|mysql] [N]]`: a Shiftgate
 * backfill against the physical limit (one UPDATE) and a writer's
 * throughput around it, on PostgreSQL (backfill-postgres.ts, the default)
 * or MariaDB (backfill-mysql.ts, which also times pt-online-schema-change).
 * N (rows, default 1,000,000) may also come from BENCH_ROWS.
 */
const args = process.argv.slice(2);
let dialect = 'postgres';
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--dialect') dialect = args[++i] ?? '';
  else if (arg.startsWith('--dialect=')) dialect = arg.slice('--dialect='.length);
  else if (/^\d+$/.test(arg)) process.env.BENCH_ROWS = arg;
  else throw new Error(`unknown argument ${arg}`);
}
if (dialect === 'postgres' || dialect === 'pg') await import('./backfill-postgres.ts');
else if (dialect === 'mysql' || dialect === 'mariadb') await import('./backfill-mysql.ts');
else throw new Error(`unknown dialect ${dialect} (postgres or mysql)`);
