/**
 * The two SVG charts of `npm run bench:throttle`: client p99 and backfill
 * rate over time per throttle setting (at one load), and the frontier (p99
 * ratio during / before against backfill rate as a fraction of the
 * unthrottled one) per setting across the load levels.
 */
import { escapeXml } from './harness.ts';

export interface TimelineSeries {
  setting: string;
  /** [seconds since START, client p99 of that second in ms] */
  p99: [number, number][];
  /** [seconds since START, backfill rows/s] */
  rowsPerS: [number, number][];
  backfillStart: number | null;
  backfillEnd: number | null;
}

export interface FrontierPoint {
  setting: string;
  load: number;
  /** Backfill rows/s over the unthrottled rows/s at the same load. */
  fraction: number;
  /** Client p99 during the backfill over the p99 before it. */
  p99Ratio: number;
}

export const SETTING_COLORS: Record<string, string> = {
  none: '#d62728',
  pace: '#1f77b4',
  aimd: '#9467bd',
  ptosc: '#ff7f0e',
  ghost: '#2ca02c',
};

const color = (setting: string) => SETTING_COLORS[setting] ?? '#555';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function header(W: number, H: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
}

function legend(out: string[], settings: string[], x0: number, y: number): void {
  let lx = x0;
  for (const s of settings) {
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${y}" y2="${y}" stroke="${color(s)}" stroke-width="2.5"/>`,
      `<text x="${lx + 30}" y="${y + 4}">${escapeXml(s)}</text>`,
    );
    lx += 110;
  }
}

/**
 * Two panels sharing the time axis: client p99 per second (capped at the
 * 99.5th percentile of the values, with clipped points marked) and backfill
 * rows/s, one line per setting.
 */
export function timelineChart(
  series: TimelineSeries[],
  title: string,
  fromSeconds: number,
  goalMs: number | null,
): string {
  const W = 1000;
  const panelH = 260;
  const left = 70;
  const right = 20;
  const top = 60;
  const gap = 60;
  const H = top + 2 * panelH + gap + 60;
  const xMax = Math.max(10, ...series.flatMap((s) => s.p99.map(([t]) => t)));
  const x = (t: number) => left + ((t - fromSeconds) / (xMax - fromSeconds)) * (W - left - right);
  const allP99 = series.flatMap((s) => s.p99.map(([, v]) => v)).sort((a, b) => a - b);
  const capAt = allP99[Math.min(allP99.length - 1, Math.floor(allP99.length * 0.995))] ?? 1;
  const yMax1 = niceMax(Math.max(capAt, goalMs ?? 0) * 1.1);
  const yMax2 = niceMax(Math.max(1, ...series.flatMap((s) => s.rowsPerS.map(([, v]) => v))) * 1.05);
  const out = header(W, H, title);
  const panel = (
    y0: number,
    yMax: number,
    label: string,
    pick: (s: TimelineSeries) => [number, number][],
  ) => {
    const y = (v: number) => y0 + panelH - (Math.min(v, yMax) / yMax) * panelH;
    out.push(
      `<rect x="${left}" y="${y0}" width="${W - left - right}" height="${panelH}" fill="none" stroke="#999"/>`,
    );
    for (let i = 0; i <= 5; i++) {
      const v = (yMax * i) / 5;
      out.push(
        `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
        `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 100 ? fmt(v) : +v.toFixed(2)}</text>`,
        `<text x="16" y="${y0 + panelH / 2}" transform="rotate(-90 16 ${y0 + panelH / 2})" text-anchor="middle">${label}</text>`,
      );
    }
    out.push(
      `<line x1="${x(0)}" x2="${x(0)}" y1="${y0}" y2="${y0 + panelH}" stroke="#555" stroke-dasharray="2 2"/>`,
    );
    for (const s of series) {
      if (s.backfillEnd !== null)
        out.push(
          `<line x1="${x(s.backfillEnd)}" x2="${x(s.backfillEnd)}" y1="${y0}" y2="${y0 + panelH}" stroke="${color(s.setting)}" stroke-dasharray="4 3" opacity="0.6"/>`,
        );
      const pts = pick(s).filter(([t]) => t >= fromSeconds);
      if (pts.length === 0) continue;
      const d = pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color(s.setting)}" stroke-width="1.5"/>`);
      for (const [t, v] of pts)
        if (v > yMax)
          out.push(
            `<text x="${x(t)}" y="${y0 + 10}" text-anchor="middle" fill="${color(s.setting)}" font-size="10">^${v.toFixed(0)}</text>`,
          );
    }
    return y;
  };
  const y1 = panel(top, yMax1, 'client p99 per second (ms)', (s) => s.p99);
  if (goalMs !== null)
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y1(goalMs)}" y2="${y1(goalMs)}" stroke="#333" stroke-dasharray="8 4" opacity="0.6"/>`,
      `<text x="${W - right - 4}" y="${y1(goalMs) - 4}" text-anchor="end">1.2 x p99 before (goal)</text>`,
    );
  const top2 = top + panelH + gap;
  panel(top2, yMax2, 'backfill rows/s', (s) => s.rowsPerS);
  for (let i = 0; i <= 10; i++) {
    const t = fromSeconds + ((xMax - fromSeconds) * i) / 10;
    out.push(
      `<text x="${x(t)}" y="${top + panelH + 16}" text-anchor="middle">${t.toFixed(0)}</text>`,
      `<text x="${x(t)}" y="${top2 + panelH + 16}" text-anchor="middle">${t.toFixed(0)}</text>`,
    );
  }
  out.push(
    `<text x="${W / 2}" y="${top2 + panelH + 36}" text-anchor="middle">seconds since SHIFTGATE START (dashed grey: START; coloured dashes: backfill end)</text>`,
  );
  legend(
    out,
    series.map((s) => s.setting),
    left + 10,
    top - 14,
  );
  out.push('</svg>');
  return out.join('\n');
}

/**
 * The frontier: x = backfill rows/s as a fraction of the unthrottled rate
 * at the same load, y = client p99 during / before (log scale), one line
 * per setting through its load levels, each point labelled with its tps.
 * Better is down and to the right.
 */
export function frontierChart(points: FrontierPoint[], title: string): string {
  const W = 900;
  const H = 620;
  const left = 80;
  const right = 30;
  const top = 60;
  const bottom = 70;
  const yMin = 0.8;
  const yMax = niceMax(Math.max(2, ...points.map((p) => p.p99Ratio)) * 1.1);
  const x = (f: number) => left + (Math.min(Math.max(f, 0), 1.1) / 1.1) * (W - left - right);
  const ly = (v: number) => Math.log(Math.max(v, yMin));
  const y = (v: number) => top + (H - top - bottom) * (1 - (ly(v) - ly(yMin)) / (ly(yMax) - ly(yMin)));
  const out = header(W, H, title);
  out.push(
    `<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#999"/>`,
  );
  for (const v of [0.8, 1, 1.2, 1.5, 2, 3, 5, 10, 20, 50, 100].filter((v) => v <= yMax)) {
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="${v === 1.2 ? '#333' : '#eee'}" ${v === 1.2 ? 'stroke-dasharray="8 4"' : ''}/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}x</text>`,
    );
  }
  for (let i = 0; i <= 11; i++) {
    const f = i / 10;
    if (f > 1.1) break;
    out.push(
      `<line x1="${x(f)}" x2="${x(f)}" y1="${top}" y2="${H - bottom}" stroke="${f === 0.25 ? '#333' : '#eee'}" ${f === 0.25 ? 'stroke-dasharray="8 4"' : ''}/>`,
      `<text x="${x(f)}" y="${H - bottom + 16}" text-anchor="middle">${(f * 100).toFixed(0)}%</text>`,
    );
  }
  if (!Array.from({ length: 12 }, (_, i) => i / 10).includes(0.25))
    out.push(
      `<line x1="${x(0.25)}" x2="${x(0.25)}" y1="${top}" y2="${H - bottom}" stroke="#333" stroke-dasharray="8 4"/>`,
    );
  out.push(
    `<text x="${(left + W - right) / 2}" y="${H - bottom + 38}" text-anchor="middle">backfill rows/s as a fraction of the unthrottled rate at the same load (dashed: 25% goal)</text>`,
    `<text x="18" y="${(top + H - bottom) / 2}" transform="rotate(-90 18 ${(top + H - bottom) / 2})" text-anchor="middle">client p99 during / before (log; dashed: 1.2x goal)</text>`,
    `<text x="${W - right - 6}" y="${top + 16}" text-anchor="end" fill="#555">better: right and down</text>`,
  );
  const settings = [...new Set(points.map((p) => p.setting))];
  for (const s of settings) {
    const pts = points.filter((p) => p.setting === s).sort((a, b) => a.load - b.load);
    if (pts.length > 1) {
      const d = pts
        .map((p, i) => `${i ? 'L' : 'M'}${x(p.fraction).toFixed(1)},${y(p.p99Ratio).toFixed(1)}`)
        .join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color(s)}" stroke-width="1.2" opacity="0.6"/>`);
    }
    for (const p of pts) {
      out.push(
        `<circle cx="${x(p.fraction).toFixed(1)}" cy="${y(p.p99Ratio).toFixed(1)}" r="4.5" fill="${color(s)}"/>`,
        `<text x="${(x(p.fraction) + 6).toFixed(1)}" y="${(y(p.p99Ratio) - 6).toFixed(1)}" font-size="10" fill="${color(s)}">${p.load}</text>`,
      );
    }
  }
  legend(out, settings, left + 10, top - 14);
  out.push('</svg>');
  return out.join('\n');
}
