/**
 * The dashboard's script, embedded like the page (plain browser JavaScript,
 * no build step, no library). It polls the JSON API once a second, asks the
 * series only for points it does not have yet, and draws the chart on a
 * canvas. Values are written with textContent, never as HTML.
 * (Written without template literals: it lives inside one.)
 */
export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var WINDOW_MS = 10 * 60 * 1000;
  var points = [];
  var lastT = 0;
  var lastHistoryAt = 0;
  var lastPhase = null;
  var $ = function (id) { return document.getElementById(id); };

  function getJson(path) {
    return fetch(path, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function int(n) { return n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'); }
  function ms(n) { return n === null || n === undefined ? '–' : (n < 10 ? n.toFixed(2) : n.toFixed(1)) + ' ms'; }
  function duration(s) {
    if (s === null || s === undefined) return '–';
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + r + 's';
  }
  function clock(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return d.toLocaleTimeString('en-GB', { hour12: false });
  }
  function dateTime(iso) {
    if (!iso) return '–';
    var d = new Date(iso);
    return d.toLocaleDateString('en-CA') + ' ' + d.toLocaleTimeString('en-GB', { hour12: false });
  }
  function setText(id, value) { $(id).textContent = value; }
  function cell(tr, value, cls) {
    var td = document.createElement('td');
    td.textContent = value;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function renderStatus(s) {
    setText('dialect', s.dialect);
    var un = $('unavailable');
    un.hidden = !s.unavailable;
    un.textContent = s.unavailable
      ? 'migrations unavailable: ' + s.unavailable
      : s.stateError
        ? 'migration state not readable just now (' + s.stateError + '); showing the last state read'
        : '';
    un.hidden = !un.textContent;
    var m = s.migration;
    var phase = m ? m.phase : 'none';
    setText('mig-name', m ? m.name : 'none');
    var badge = $('mig-phase');
    badge.textContent = m && !m.inFlight ? phase + ' (latest)' : phase;
    badge.setAttribute('data-phase', phase);
    var err = $('mig-error');
    err.hidden = !(m && m.error);
    err.textContent = m && m.error ? m.error : '';
    var tl = $('timeline');
    tl.textContent = '';
    (m ? m.timeline : []).forEach(function (step) {
      var li = document.createElement('li');
      li.setAttribute('data-state', step.state);
      li.setAttribute('data-phase', step.phase);
      li.textContent = step.phase.replace('_', ' ');
      var small = document.createElement('small');
      small.textContent = step.at ? clock(step.at) : '\u00a0';
      li.appendChild(small);
      tl.appendChild(li);
    });
    var pct = m && m.progress !== null ? m.progress * 100 : 0;
    $('progress-fill').style.width = pct.toFixed(2) + '%';
    $('progress-bar').setAttribute('aria-valuenow', pct.toFixed(1));
    setText(
      'progress-text',
      m && m.rowsTotal !== null
        ? int(m.rowsDone) + ' / ' + int(m.rowsTotal) + ' rows (' + pct.toFixed(1) + '%)' +
          (m.tables.length > 1 ? ' in ' + m.tables.length + ' tables' : m.tables.length ? ' · ' + m.tables[0].table : '')
        : 'no backfill'
    );
    var running = m && m.phase === 'backfilling';
    setText('rows-per-s', running ? int(m.rowsPerSecond) : '–');
    setText('eta', running ? duration(m.etaSeconds) : '–');
    setText('batch-size', m && m.batchSize !== null ? int(m.batchSize) : '–');
    setText('client-p99', ms(s.latency.p99Ms));
    setText('baseline-p99', ms(s.latency.baselineP99Ms));
    var t = s.throttle;
    var state = !t.backfilling ? 'idle' : t.throttled ? 'throttled' : 'free';
    var ts = $('throttle-state');
    ts.textContent = state === 'throttled' ? (t.paused ? 'paused' : 'throttled') : state === 'free' ? 'running freely' : 'idle';
    ts.setAttribute('data-state', state);
    var reason = $('throttle-reason');
    reason.hidden = !t.reason;
    reason.textContent = t.reason ? t.reason + (t.controller === 'aimd' && t.delayMs ? ' · waiting ' + t.delayMs + ' ms between batches' : '') : '';
    setText('target-rate', t.targetRate !== null ? int(t.targetRate) : '–');
    // The cost is the p99 the controller acts on over the baseline: +5% reads better than 1.05x.
    setText('latency-cost', t.latencyCost !== null ? (t.latencyCost >= 1 ? '+' : '') + Math.round((t.latencyCost - 1) * 100) + '% p99' : '–');
    setText('floor-p99', ms(t.floorP99Ms));
    var change = $('last-change');
    change.hidden = !t.lastChange;
    change.textContent = t.lastChange ? 'last change: ' + t.lastChange : '';
    // A phase change is news for the history too: fetch it now rather than within five seconds.
    if (lastPhase !== null && phase !== lastPhase) getJson('/api/migrations').then(renderHistory, function () {});
    lastPhase = phase;
  }

  function renderSessions(s) {
    var body = $('sessions').tBodies[0];
    body.textContent = '';
    if (s.byVersion.length === 0) {
      var empty = document.createElement('tr');
      cell(empty, 'no client sessions', 'muted');
      cell(empty, '', 'num');
      body.appendChild(empty);
    }
    s.byVersion.forEach(function (v) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-version', v.version);
      cell(tr, v.version);
      cell(tr, String(v.sessions), 'num');
      body.appendChild(tr);
    });
    setText('admin-only', String(s.adminOnly));
  }

  function pair(a, b) { return (a === null ? '–' : a.toFixed(1)) + ' / ' + (b === null ? '–' : b.toFixed(1)); }
  function renderHistory(h) {
    var body = $('history').tBodies[0];
    body.textContent = '';
    h.migrations.slice().reverse().forEach(function (m) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-name', m.name);
      cell(tr, m.name, 'name');
      cell(tr, m.phase);
      cell(tr, dateTime(m.startedAt));
      cell(tr, dateTime(m.activeAt));
      cell(tr, dateTime(m.completedAt));
      cell(tr, pair(m.latency.beforeP50Ms, m.latency.beforeP99Ms), 'num');
      cell(tr, pair(m.latency.duringP50Ms, m.latency.duringP99Ms), 'num');
      cell(tr, pair(m.latency.afterP50Ms, m.latency.afterP99Ms), 'num');
      if (m.error) tr.title = m.error;
      body.appendChild(tr);
    });
    if (h.migrations.length === 0) {
      var tr = document.createElement('tr');
      cell(tr, 'no migrations yet', 'muted');
      body.appendChild(tr);
    }
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var n = v / p;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
  }

  function draw() {
    var canvas = $('chart');
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight || 260;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    var css = getComputedStyle(document.documentElement);
    var color = function (name) { return css.getPropertyValue(name).trim(); };
    var L = 56, R = 64, T = 10, B = 24;
    var pw = Math.max(10, w - L - R), ph = Math.max(10, h - T - B);
    var end = points.length ? points[points.length - 1].t : Date.now();
    // Up to ten minutes, but no wider than the history there is (at least a minute), so a young proxy's points are not squeezed into a corner.
    var first = points.length ? points[0].t : end;
    var span = Math.min(WINDOW_MS, Math.max(60000, end - first));
    var start = end - span;
    var shown = points.filter(function (p) { return p.t > start; });
    canvas.setAttribute('data-points', String(shown.length));
    var maxMs = 0, maxRows = 0;
    shown.forEach(function (p) {
      maxMs = Math.max(maxMs, p.p99Ms || 0, (p.baselineP99Ms || 0) * 1.2);
      maxRows = Math.max(maxRows, p.rowsPerSecond || 0);
    });
    maxMs = niceMax(maxMs * 1.1);
    var hasRows = maxRows > 0;
    maxRows = Math.max(4, niceMax(maxRows * 1.1));
    var x = function (t) { return L + ((t - start) / span) * pw; };
    var yMs = function (v) { return T + ph - (v / maxMs) * ph; };
    var yRows = function (v) { return T + ph - (v / maxRows) * ph; };
    g.font = '11px system-ui, sans-serif';
    g.strokeStyle = color('--line');
    g.fillStyle = color('--muted');
    g.lineWidth = 1;
    for (var i = 0; i <= 4; i++) {
      var yy = T + (ph * i) / 4;
      g.beginPath(); g.moveTo(L, yy); g.lineTo(L + pw, yy); g.stroke();
      g.textAlign = 'right';
      g.fillText(((maxMs * (4 - i)) / 4).toFixed(maxMs < 4 ? 2 : 0) + ' ms', L - 6, yy + 4);
      g.textAlign = 'left';
      if (hasRows) g.fillText(int((maxRows * (4 - i)) / 4) + ' r/s', L + pw + 6, yy + 4);
    }
    g.textAlign = 'center';
    var step = span <= 120000 ? 15000 : 60000;
    for (var m = Math.ceil(start / step) * step; m <= end; m += step) {
      var label = new Date(m).toLocaleTimeString('en-GB', { hour12: false });
      g.fillText(step < 60000 ? label : label.slice(0, 5), x(m), h - 6);
    }
    g.fillStyle = color('--thr');
    shown.forEach(function (p) { if (p.throttled) g.fillRect(x(p.t - 1000), T, Math.max(1, pw / (span / 1000)), ph); });
    var rowsPts = shown.filter(function (p) { return p.rowsPerSecond !== null; });
    if (rowsPts.length) {
      g.fillStyle = 'rgba(59, 130, 196, 0.25)';
      g.strokeStyle = color('--rows');
      g.beginPath();
      g.moveTo(x(rowsPts[0].t), yRows(0));
      rowsPts.forEach(function (p) { g.lineTo(x(p.t), yRows(p.rowsPerSecond)); });
      g.lineTo(x(rowsPts[rowsPts.length - 1].t), yRows(0));
      g.closePath();
      g.fill();
    }
    function line(get, stroke, dash, width) {
      g.strokeStyle = stroke;
      g.setLineDash(dash);
      g.lineWidth = width;
      g.beginPath();
      var open = false;
      shown.forEach(function (p) {
        var v = get(p);
        if (v === null || v === undefined) { open = false; return; }
        if (open) g.lineTo(x(p.t), yMs(Math.min(v, maxMs))); else g.moveTo(x(p.t), yMs(Math.min(v, maxMs)));
        open = true;
      });
      g.stroke();
      g.setLineDash([]);
      g.lineWidth = 1;
    }
    line(function (p) { return p.baselineP99Ms; }, color('--base'), [6, 4], 1.5);
    line(function (p) { return p.p50Ms; }, color('--p50'), [], 1.5);
    line(function (p) { return p.p99Ms; }, color('--p99'), [], 2);
    g.strokeStyle = color('--line');
    g.strokeRect(L, T, pw, ph);
  }

  function tick() {
    var live = $('live');
    var history = Date.now() - lastHistoryAt > 5000;
    Promise.all([
      getJson('/api/status'),
      getJson('/api/series?since=' + lastT),
      getJson('/api/sessions'),
      history ? getJson('/api/migrations') : Promise.resolve(null),
    ]).then(function (r) {
      renderStatus(r[0]);
      r[1].points.forEach(function (p) { if (p.t > lastT) { points.push(p); lastT = p.t; } });
      var cut = lastT - WINDOW_MS - 5000;
      while (points.length && points[0].t < cut) points.shift();
      renderSessions(r[2]);
      if (r[3]) { renderHistory(r[3]); lastHistoryAt = Date.now(); }
      draw();
      live.textContent = 'live · ' + clock(r[0].time);
      live.setAttribute('data-state', 'ok');
    }, function (e) {
      live.textContent = 'disconnected (' + e.message + ')';
      live.setAttribute('data-state', 'down');
    }).then(function () { setTimeout(tick, 1000); });
  }
  window.addEventListener('resize', draw);
  tick();
})();
`;
