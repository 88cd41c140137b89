/**
 * The dashboard page. Embedded as text so the compiled package carries it
 * with no copy step; values are filled in by `/dashboard.js` (no inline
 * script, so the content security policy can forbid it).
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shiftgate</title>
<link rel="stylesheet" href="/dashboard.css">
<link rel="icon" href="data:,">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>Shiftgate</h1>
  <span id="dialect" class="muted"></span>
  <span id="live" class="live" data-state="connecting">connecting…</span>
</header>
<main>
  <section id="migration" class="card">
    <div class="row">
      <h2>Migration <span id="mig-name" class="name">none</span></h2>
      <span id="mig-phase" class="phase" data-phase="none">none</span>
    </div>
    <p id="unavailable" class="warn" hidden></p>
    <p id="mig-error" class="warn" hidden></p>
    <ol id="timeline" class="timeline"></ol>
    <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" id="progress-bar">
      <div id="progress-fill" class="fill"></div>
    </div>
    <p id="progress-text" class="muted">no backfill</p>
    <dl class="stats">
      <div><dt>rows/s</dt><dd id="rows-per-s">–</dd></div>
      <div><dt>ETA</dt><dd id="eta">–</dd></div>
      <div><dt>batch size</dt><dd id="batch-size">–</dd></div>
      <div><dt>client p99 (5 s)</dt><dd id="client-p99">–</dd></div>
      <div><dt>baseline p99</dt><dd id="baseline-p99">–</dd></div>
      <div><dt>throttle</dt><dd id="throttle-state" data-state="idle">idle</dd></div>
      <div><dt>target rows/s</dt><dd id="target-rate">–</dd></div>
      <div><dt>latency cost</dt><dd id="latency-cost">–</dd></div>
      <div><dt>p99 floor</dt><dd id="floor-p99">–</dd></div>
    </dl>
    <p id="throttle-reason" class="reason" hidden></p>
    <p id="last-change" class="muted" hidden></p>
  </section>
  <section class="card">
    <div class="row">
      <h2>Client latency and backfill rate</h2>
      <span class="legend">
        <i class="sw p99"></i>p99 <i class="sw p50"></i>p50 <i class="sw base"></i>baseline p99
        <i class="sw rows"></i>backfill rows/s <i class="sw thr"></i>throttled
      </span>
    </div>
    <canvas id="chart" height="260" data-points="0"></canvas>
  </section>
  <div class="cols">
    <section class="card">
      <h2>Sessions by version</h2>
      <table id="sessions">
        <thead><tr><th>version</th><th class="num">sessions</th></tr></thead>
        <tbody></tbody>
        <tfoot><tr><td>admin-only</td><td class="num" id="admin-only">0</td></tr></tfoot>
      </table>
    </section>
    <section class="card wide">
      <h2>History</h2>
      <table id="history">
        <thead>
          <tr><th>name</th><th>phase</th><th>started</th><th>active</th><th>completed</th>
          <th class="num">p50/p99 before</th><th class="num">during</th><th class="num">after</th></tr>
        </thead>
        <tbody></tbody>
      </table>
    </section>
  </div>
</main>
<footer class="muted">read-only · JSON: <a href="/api/status">/api/status</a> <a href="/api/sessions">/api/sessions</a>
<a href="/api/migrations">/api/migrations</a> <a href="/api/series">/api/series</a> · <a href="/metrics">/metrics</a></footer>
</body>
</html>
`;
