/**
 * `report.html`, the page `loopwise doctor` writes beside `report.json`: one
 * self-contained file a reader opens from disk, with no network at all.
 *
 * Layout, top to bottom: the verdict and its advice (big, coloured by
 * verdict) and a one-line summary; charts over time of one process (delay,
 * utilisation, memory, GC, running tasks) with every block shaded on them;
 * the top culprits with their stacks; the running blocks; the start-up
 * blocks apart (module loading, not the service); one card per process when
 * there were several; the run's facts in the footer.
 *
 * Everything a reader needs in text is rendered here, on the server side, so
 * the page reads with scripts off; only the charts need the script.
 *
 * Security: every string of a report is untrusted (a task may be named
 * `</script><script>alert(1)</script>`). Markup gets text only through
 * `escapeHtml`; the script gets its data only as a JSON data block escaped by
 * `jsonForScript`, and writes it with `textContent`. A Content-Security-Policy
 * allows exactly the page's own inline script and style elements, by SHA-256
 * hash (rejected: 'unsafe-inline', which would also allow an injected one),
 * and nothing from any origin: `default-src 'none'`.
 *
 * Charts: uPlot, a runtime dependency (STYLE §9) because no built-in draws
 * charts and the doctor renders at run time; it is small (~50 kB min, no
 * dependencies), maintained and widely used, and draws on canvas, so its
 * output is pixels, not markup made from data. Its files are read from
 * node_modules on every render (a render is once per run: no cache).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DoctorReport, ReportProcess } from './types.js';
import { blocksTableHtml } from './internal/blocks-html.js';
import { CLIENT_SCRIPT } from './internal/client-script.js';
import { culpritsHtml } from './internal/culprits-html.js';
import { escapeHtml } from './internal/escape-html.js';
import { displayName, formatMs, frameLocation, plural } from './internal/format-values.js';
import { jsonForScript } from './internal/json-for-script.js';
import { PAGE_STYLE } from './internal/page-style.js';
import { processesHtml } from './internal/processes-html.js';
import { verdictClass, verdictHtml } from './internal/verdict-html.js';

interface ChartLibrary {
  js: string;
  css: string;
}

/**
 * uPlot's minified build and stylesheet, checked to be inlinable: the text
 * must not end its element early. Its banner comment (a URL) is replaced by
 * a plain licence line, so the page holds no URL of its own.
 */
function readChartLibrary(): ChartLibrary {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')) as { version: string };
  const banner = `/* uPlot ${pkg.version}, MIT licence, Copyright (c) 2022 Leon Sorokin */\n`;
  const js = banner + readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8').replace(/^\/\*![^]*?\*\/\s*/, '');
  const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  if (/<\/script|<!--/i.test(js) || /<\/style/i.test(css)) {
    throw new Error(`uplot ${pkg.version}: its files contain a closing tag and cannot be inlined`);
  }
  return { js, css };
}

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The process the charts open on: the one with the most blocked time, else the first. */
function defaultPid(report: DoctorReport): number | null {
  let best: ReportProcess | undefined;
  for (const p of report.processes) if (best === undefined || p.blockedMs > best.blockedMs) best = p;
  return best?.pid ?? report.timeline[0]?.pid ?? null;
}

/** What the charts need, and nothing more: numbers, plus the text the block line shows. */
function chartData(report: DoctorReport): unknown {
  return {
    thresholdMs: report.thresholdMs,
    defaultPid: defaultPid(report),
    processes: report.processes.map((p) => ({ pid: p.pid, argv: Array.isArray(p.argv) ? p.argv.map(String) : [] })),
    timeline: report.timeline,
    blocks: report.blocks.map((b) => ({
      pid: b.pid,
      startedAt: b.startedAt,
      durationMs: b.durationMs,
      phase: b.phase,
      ...(b.culprit ? { functionName: displayName(b.culprit.functionName), where: frameLocation(b.culprit) } : {}),
      ...(typeof b.task === 'string' ? { task: b.task } : {}),
    })),
  };
}

function chartsHtml(report: DoctorReport): string {
  return `<section id="lw-charts" class="charts">
<div class="charts-head"><h2>Over time</h2>
<span class="key"><span class="band band-running"></span>running block<span class="band band-startup"></span>start-up block · dashed: the ${escapeHtml(formatMs(report.thresholdMs))} threshold</span></div>
<noscript><p class="muted">The charts need JavaScript; every number is also in the tables below and in report.json.</p></noscript>
<div class="chart-grid"></div>
<p class="block-detail" id="lw-block-detail" aria-live="polite"></p>
</section>`;
}

function blocksSectionsHtml(report: DoctorReport): string {
  const running = report.blocks.filter((b) => b.phase !== 'startup');
  const startup = report.blocks.filter((b) => b.phase === 'startup');
  const sum = (bs: typeof running) => bs.reduce((n, b) => n + b.durationMs, 0);
  const over = report.maxBlockMs !== undefined ? { overMs: report.maxBlockMs } : {};
  const runningHtml = running.length === 0
    ? `<p class="muted">No block over the ${escapeHtml(formatMs(report.thresholdMs))} threshold while the program ran.</p>`
    : `<p class="muted">${escapeHtml(plural(running.length, 'block'))}, ${escapeHtml(formatMs(sum(running)))} in all, over the ${escapeHtml(formatMs(report.thresholdMs))} threshold.</p>
${blocksTableHtml(running, { id: 'running-blocks', ...over })}`;
  const startupHtml = startup.length === 0
    ? '<p class="muted">None.</p>'
    : `<p class="muted">${escapeHtml(plural(startup.length, 'block'))}, ${escapeHtml(formatMs(sum(startup)))} in all, while the program loaded its modules, before it served anything. This is start-up cost, not the service under load; these blocks are not among the culprits.</p>
${blocksTableHtml(startup, { id: 'startup-blocks', ...over })}`;
  return `<section id="blocks"><h2>Running blocks</h2>
${runningHtml}</section>
<section id="startup"><h2>Start-up blocks</h2>
${startupHtml}</section>`;
}

function footerHtml(report: DoctorReport): string {
  const gc = `GC ${formatMs(report.gc.totalMs)}${report.gc.count === undefined ? '' : ` in ${plural(report.gc.count, 'collection')}`}${report.gc.source === 'profile' ? ' (from the CPU profile)' : ''}`;
  return `<footer><p>${escapeHtml(report.tool.name)} ${escapeHtml(report.tool.version)} · Node ${escapeHtml(report.tool.node)} · started ${escapeHtml(report.startedAt)} · threshold ${escapeHtml(formatMs(report.thresholdMs))} · ${escapeHtml(gc)} · report.json format ${escapeHtml(report.version)}</p></footer>`;
}

/**
 * Renders a doctor report as one self-contained HTML page: inline CSS and
 * scripts (uPlot's and the page's), the data as an escaped JSON block, a CSP
 * that allows no network. Safe for any strings in the report.
 *
 * @throws Error when the installed uplot's files cannot be read or inlined.
 * @example
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('report.html', renderReportHtml(report));
 */
export function renderReportHtml(report: DoctorReport): string {
  const lib = readChartLibrary();
  const scripts = [lib.js, CLIENT_SCRIPT];
  const styles = [lib.css, PAGE_STYLE];
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    `style-src ${styles.map(cspHash).join(' ')}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = `loopwise doctor: ${report.diagnosis.verdict} · ${report.command.join(' ')}`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${styles.map((s) => `<style>${s}</style>`).join('\n')}
</head>
<body class="verdict-page-${verdictClass(report.diagnosis.verdict)}">
<main>
${verdictHtml(report)}
${chartsHtml(report)}
${culpritsHtml(report.culprits)}
${blocksSectionsHtml(report)}
${processesHtml(report.processes)}
${footerHtml(report)}
</main>
<script type="application/json" id="lw-data">${jsonForScript(chartData(report))}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`;
}
