/** Text rendering of admin result sets for the terminal. */

type Result = { columns: string[]; rows: (string | null)[][] };

/** An aligned table, psql-style, with a row count. */
export function renderTable(result: Result): string {
  if (result.columns.length === 0) return 'OK';
  const cells = [result.columns, ...result.rows.map((r) => r.map((v) => v ?? ''))];
  const widths = result.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((v, i) => v.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  const count = `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`;
  return [line(cells[0]!), sep, ...cells.slice(1).map(line), count].join('\n');
}

function num(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function bar(fraction: number, width = 30): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** One progress line per migration of a SHOW SHIFTGATE STATUS result (for `status --watch`). */
export function renderProgress(result: Result): string {
  if (result.rows.length === 0) return `${new Date().toISOString()}  no active migration`;
  const col = (row: (string | null)[], name: string) => row[result.columns.indexOf(name)] ?? null;
  const lines = result.rows.map((row) => {
    const done = num(col(row, 'rows_done')) ?? 0;
    const total = num(col(row, 'rows_total'));
    const pct = total ? done / total : 0;
    const rate = num(col(row, 'rows_per_s'));
    const eta = num(col(row, 'eta_s'));
    const p99 = col(row, 'client_p99_ms');
    const base = col(row, 'baseline_p99_ms');
    const reason = col(row, 'throttle_reason');
    const target = num(col(row, 'target_rate'));
    const cost = num(col(row, 'latency_cost'));
    const floor = num(col(row, 'floor_p99_ms'));
    const change = col(row, 'last_change');
    // The pacing controller explains itself: its target, what the backfill costs, its last move.
    const pace =
      target === null
        ? []
        : [
            `  target ${target.toFixed(0)} rows/s${cost !== null ? `  latency cost ${cost.toFixed(2)}x baseline` : ''}${floor !== null ? `  floor ${floor.toFixed(2)} ms` : ''}${change ? `  last change: ${change}` : ''}`,
          ];
    return [
      `${col(row, 'name')}  ${col(row, 'phase')}  ${col(row, 'table') ?? ''}`,
      `  ${bar(pct)} ${(pct * 100).toFixed(1)}%  ${done}${total !== null ? `/${total}` : ''} rows`,
      `  ${rate !== null ? `${rate.toFixed(0)} rows/s` : '-'}  ETA ${eta !== null ? `${eta.toFixed(0)}s` : '-'}  batch ${col(row, 'batch_size') ?? '-'}`,
      `  client p99 ${p99 ?? '-'} ms (baseline ${base ?? '-'} ms)  ${col(row, 'throttled') === 'true' ? `throttled: ${reason}` : 'not throttled'}`,
      ...pace,
    ].join('\n');
  });
  return [`${new Date().toISOString()}`, ...lines].join('\n');
}
