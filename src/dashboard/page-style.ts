/** The dashboard's style sheet, embedded like the page. */
export const PAGE_STYLE = `
:root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #6b7380; --line: #e3e6eb;
  --p99: #d1495b; --p50: #edae49; --base: #555; --rows: #3b82c4; --thr: rgba(209, 73, 91, 0.12); --ok: #2e8b57; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; gap: 12px; padding: 12px 20px; background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 18px; }
header .muted { color: #aab; }
.live { margin-left: auto; font-size: 12px; }
.live[data-state="ok"]::before { content: "● "; color: #5c5; }
.live[data-state="down"] { color: #f88; }
main { padding: 16px 20px; display: grid; gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.row { display: flex; align-items: center; justify-content: space-between; gap: 12px; flex-wrap: wrap; }
h2 { font-size: 15px; margin: 0 0 8px; }
.name { font-family: ui-monospace, monospace; }
.phase { padding: 2px 10px; border-radius: 12px; background: #e8ecf3; font-weight: 600; }
.phase[data-phase="backfilling"], .phase[data-phase="expanding"], .phase[data-phase="validating"] { background: #dbeafe; }
.phase[data-phase="active"] { background: #fef3c7; }
.phase[data-phase="completed"] { background: #d1fae5; }
.phase[data-phase="rolling_back"], .phase[data-phase="rolled_back"] { background: #fde2e4; }
.muted { color: var(--muted); }
.warn { color: #9a3412; background: #fff7ed; padding: 6px 10px; border-radius: 6px; }
.timeline { display: flex; list-style: none; padding: 0; margin: 8px 0 12px; gap: 4px; flex-wrap: wrap; }
.timeline li { flex: 1; min-width: 90px; padding: 6px 8px; border-top: 4px solid var(--line); font-size: 12px; }
.timeline li[data-state="done"] { border-color: var(--ok); }
.timeline li[data-state="current"] { border-color: var(--rows); font-weight: 600; }
.timeline li small { display: block; color: var(--muted); font-weight: normal; }
.bar { height: 14px; background: #eef0f3; border-radius: 7px; overflow: hidden; }
.fill { height: 100%; width: 0; background: var(--rows); transition: width 0.5s; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 8px; margin: 12px 0 0; }
.stats dt { font-size: 12px; color: var(--muted); }
.stats dd { margin: 0; font-size: 18px; font-variant-numeric: tabular-nums; }
#throttle-state[data-state="throttled"] { color: var(--p99); font-weight: 600; }
#throttle-state[data-state="free"] { color: var(--ok); }
.reason { margin: 8px 0 0; color: var(--p99); font-family: ui-monospace, monospace; }
canvas { width: 100%; height: 260px; display: block; }
.legend { font-size: 12px; color: var(--muted); }
.sw { display: inline-block; width: 14px; height: 3px; margin: 0 4px 3px 10px; vertical-align: middle; }
.sw.p99 { background: var(--p99); } .sw.p50 { background: var(--p50); }
.sw.base { border-top: 2px dashed var(--base); height: 0; }
.sw.rows { background: rgba(59, 130, 196, 0.35); height: 8px; } .sw.thr { background: var(--thr); height: 8px; }
.cols { display: grid; grid-template-columns: minmax(220px, 1fr) 3fr; gap: 16px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
.num { text-align: right; }
tfoot td { color: var(--muted); }
footer { padding: 8px 20px 20px; font-size: 12px; }
footer a { margin-right: 6px; }
`;
