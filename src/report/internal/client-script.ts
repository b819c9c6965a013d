/**
 * The report page's one script of its own, inlined after uPlot's. It reads
 * the data block (`#lw-data`, JSON), draws the charts of one process at a
 * time (a select switches process when there are several), shades each block
 * on every chart at `startedAt..startedAt+durationMs` (running blocks red,
 * start-up blocks grey), draws the block threshold on the delay chart, and
 * names the block under the cursor.
 *
 * Report text reaches the DOM only through `textContent` (the block line, the
 * process select) and uPlot, which also writes labels as text; series labels
 * are this file's constants. Kept as a string of plain ES2017 rather than a
 * compiled module because it runs in the browser, not in Node: the repo's
 * TypeScript config has no DOM types, and a second build for one file would
 * cost more than it checks. The Chromium test runs it.
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  'use strict';
  var dataNode = document.getElementById('lw-data');
  var root = document.getElementById('lw-charts');
  if (!dataNode || !root) return;
  var data = JSON.parse(dataNode.textContent);
  var grid = root.querySelector('.chart-grid');
  var head = root.querySelector('.charts-head');
  var detail = document.getElementById('lw-block-detail');
  if (typeof uPlot !== 'function') { grid.textContent = 'The chart library did not load.'; return; }

  var RUNNING = 'rgba(180,35,24,0.28)';
  var STARTUP = 'rgba(102,112,133,0.28)';
  var HEIGHT = 180;
  var fromZero = function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; };
  var DEFS = [
    { title: 'Event-loop delay (ms)', unit: ' ms', threshold: true, series: [
      { label: 'p50', color: '#175cd3', get: function (s) { return s.delay.p50; } },
      { label: 'p99', color: '#b54708', get: function (s) { return s.delay.p99; } },
      { label: 'max', color: '#b42318', get: function (s) { return s.delay.max; } }] },
    { title: 'Event-loop utilisation (%)', unit: ' %', range: [0, 100], series: [
      { label: 'utilisation', color: '#1f7a3f', fill: 'rgba(31,122,63,0.12)', get: function (s) { return s.utilization * 100; } }] },
    { title: 'Memory (MB)', unit: ' MB', series: [
      { label: 'heapUsed', color: '#6941c6', get: function (s) { return s.heapUsedMB; } },
      { label: 'rss', color: '#98a2b3', get: function (s) { return s.rssMB; } }] },
    { title: 'GC time per interval (ms)', unit: ' ms', bars: true, series: [
      { label: 'GC', color: '#b54708', fill: 'rgba(181,71,8,0.45)', get: function (s) { return s.gcMs; } }] },
    { title: 'Running tasks', unit: '', stepped: true, series: [
      { label: 'tasks', color: '#1a202c', get: function (s) { return s.tasks; } }] }
  ];

  var charts = [];
  var current = [];

  function num(v) {
    if (v == null || !isFinite(v)) return '--';
    var a = Math.abs(v);
    return a < 10 ? v.toFixed(2) : a < 100 ? v.toFixed(1) : String(Math.round(v));
  }
  function ms(v) { return v < 1000 ? Math.round(v) + ' ms' : (v / 1000).toFixed(2) + ' s'; }
  function describe(b) {
    var text = 'Block of ' + ms(b.durationMs) + ' at ' + (b.startedAt / 1000).toFixed(2) + ' s';
    if (b.phase === 'startup') text += ' (start-up)';
    if (b.functionName != null) text += ' in ' + (b.functionName || '(anonymous)') + ' ' + b.where;
    if (b.task != null) text += ', task ' + b.task;
    return text;
  }

  function bands(u) {
    var ctx = u.ctx, box = u.bbox, right = box.left + box.width;
    var minWidth = Math.max(2, 2 * (window.devicePixelRatio || 1));
    ctx.save();
    for (var i = 0; i < current.length; i++) {
      var b = current[i];
      var x0 = u.valToPos(b.startedAt / 1000, 'x', true);
      var x1 = u.valToPos((b.startedAt + b.durationMs) / 1000, 'x', true);
      if (x1 < box.left || x0 > right) continue;
      x0 = Math.max(x0, box.left);
      var w = Math.min(Math.max(x1 - x0, minWidth), right - x0);
      ctx.fillStyle = b.phase === 'startup' ? STARTUP : RUNNING;
      ctx.fillRect(x0, box.top, w, box.height);
    }
    ctx.restore();
  }

  function thresholdLine(u) {
    var y = u.valToPos(data.thresholdMs, 'y', true), box = u.bbox;
    if (!(y >= box.top && y <= box.top + box.height)) return;
    var ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = '#b42318';
    ctx.lineWidth = window.devicePixelRatio || 1;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(box.left, y);
    ctx.lineTo(box.left + box.width, y);
    ctx.stroke();
    ctx.restore();
  }

  function blockUnderCursor(u) {
    var left = u.cursor.left;
    if (left == null || left < 0) { detail.textContent = ''; return; }
    var t = u.posToVal(left, 'x');
    var slack = u.posToVal(left + 4, 'x') - t;
    var hit = null;
    for (var i = 0; i < current.length; i++) {
      var b = current[i], s = b.startedAt / 1000, e = (b.startedAt + b.durationMs) / 1000;
      if (t >= s - slack && t <= e + slack && (hit === null || b.durationMs > hit.durationMs)) hit = b;
    }
    detail.textContent = hit ? describe(hit) : '';
  }

  function widthOf(box) { return Math.max(240, box.clientWidth); }

  function build(pid) {
    for (var c = 0; c < charts.length; c++) charts[c].destroy();
    charts = [];
    grid.textContent = '';
    detail.textContent = '';
    var rows = data.timeline.filter(function (s) { return s.pid === pid; }).sort(function (a, b) { return a.t - b.t; });
    current = data.blocks.filter(function (b) { return b.pid === pid; });
    if (rows.length === 0) {
      var none = document.createElement('p');
      none.className = 'muted';
      none.textContent = 'No timeline samples for this process.';
      grid.appendChild(none);
      root.setAttribute('data-ready', '0');
      return;
    }
    var x = rows.map(function (s) { return s.t / 1000; });
    var xmin = x[0], xmax = x[x.length - 1];
    current.forEach(function (b) {
      xmin = Math.min(xmin, b.startedAt / 1000);
      xmax = Math.max(xmax, (b.startedAt + b.durationMs) / 1000);
    });
    if (!(xmax > xmin)) xmax = xmin + 1;

    // All boxes first, then the charts: each chart's width is its box's, and
    // the grid only settles its columns once every box is in it.
    var boxes = DEFS.map(function (def, n) {
      var box = document.createElement('div');
      box.className = 'chart';
      box.id = 'lw-chart-' + n;
      var title = document.createElement('h3');
      title.textContent = def.title;
      box.appendChild(title);
      grid.appendChild(box);
      return box;
    });
    DEFS.forEach(function (def, n) {
      var box = boxes[n];
      var series = [{ label: 'time', value: function (u, v) { return v == null ? '--' : v.toFixed(2) + ' s'; } }];
      var columns = [x];
      def.series.forEach(function (s) {
        var one = { label: s.label, stroke: s.color, width: 1.5, value: function (u, v) { return num(v) + def.unit; } };
        if (s.fill) one.fill = s.fill;
        if (def.bars) one.paths = uPlot.paths.bars({ size: [0.8, 14] });
        if (def.stepped) one.paths = uPlot.paths.stepped({ align: 1 });
        series.push(one);
        columns.push(rows.map(function (r) { var v = s.get(r); return typeof v === 'number' && isFinite(v) ? v : null; }));
      });
      var yRange = def.range ? def.range : def.threshold
        ? function (u, min, max) { return [0, Math.max(max, data.thresholdMs) * 1.1 || 1]; }
        : fromZero;
      var hooks = { drawClear: [bands], setCursor: [blockUnderCursor] };
      if (def.threshold) hooks.draw = [thresholdLine];
      charts.push(new uPlot({
        width: widthOf(box),
        height: HEIGHT,
        series: series,
        scales: { x: { time: false, range: [xmin, xmax] }, y: { range: yRange } },
        axes: [{ values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } }, { size: 56 }],
        cursor: { sync: { key: 'lw' } },
        hooks: hooks
      }, columns, box));
    });
    // For tests and scripts: which process is drawn, and how many charts.
    root.setAttribute('data-pid', String(pid));
    root.setAttribute('data-ready', String(charts.length));
  }

  if (data.processes.length > 1) {
    var label = document.createElement('label');
    label.textContent = 'Process ';
    var select = document.createElement('select');
    select.id = 'lw-pid';
    data.processes.forEach(function (p) {
      var option = document.createElement('option');
      option.value = String(p.pid);
      option.textContent = 'pid ' + p.pid + ': ' + p.argv.join(' ');
      if (p.pid === data.defaultPid) option.selected = true;
      select.appendChild(option);
    });
    select.addEventListener('change', function () { build(Number(select.value)); });
    label.appendChild(select);
    head.appendChild(label);
  }

  window.addEventListener('resize', function () {
    charts.forEach(function (u) { u.setSize({ width: widthOf(u.root.parentNode), height: HEIGHT }); });
  });
  build(data.defaultPid);
})();
`;
