/**
 * One card per process of the run, shown when the target started Node
 * children (a cluster, a test runner, `npm run`): each with its argv, pid and
 * parent, how it ended, and its own blocks, utilisation and delay, so a block
 * in a worker process is not read as the parent's.
 */
import type { ReportProcess } from '../types.js';
import { escapeHtml } from './escape-html.js';
import { formatAt, formatCount, formatMs, formatPercent } from './format-values.js';

function exitText(p: ReportProcess): string {
  if (!p.exit) return 'unknown';
  if (p.exit.signal) return `killed by ${p.exit.signal}`;
  return p.exit.code === null ? 'unknown' : `exit ${p.exit.code}`;
}

function processHtml(p: ReportProcess): string {
  const argv = Array.isArray(p.argv) ? p.argv.join(' ') : '';
  const error = typeof p.error === 'string' && p.error !== ''
    ? `<dt>error</dt><dd><code class="error">${escapeHtml(p.error)}</code></dd>`
    : '';
  return `<article class="process" id="process-${escapeHtml(formatCount(p.pid))}">
<h3>pid ${escapeHtml(formatCount(p.pid))} <code class="argv">${escapeHtml(argv)}</code></h3>
<dl>
<dt>parent</dt><dd>${escapeHtml(formatCount(p.ppid))}</dd>
<dt>ran</dt><dd>${escapeHtml(formatAt(p.startedAt))} to ${escapeHtml(formatAt(p.endedAt))}</dd>
<dt>ended</dt><dd>${escapeHtml(exitText(p))}</dd>${error}
<dt>blocks</dt><dd>${escapeHtml(formatCount(p.blocks))}, ${escapeHtml(formatMs(p.blockedMs))} blocked</dd>${starvedText(p)}
<dt>utilisation</dt><dd>${escapeHtml(formatPercent(p.utilization))}</dd>
<dt>delay</dt><dd>p50 ${escapeHtml(formatMs(p.delay?.p50))} · p99 ${escapeHtml(formatMs(p.delay?.p99))} · max ${escapeHtml(formatMs(p.delay?.max))}</dd>
</dl>
</article>`;
}

/** Stalls the machine caused (older reports have no `starved`). */
function starvedText(p: ReportProcess): string {
  const s = p.starved;
  if (s === undefined || s.count === 0) return '';
  return `\n<dt>starved of CPU</dt><dd>${escapeHtml(formatCount(s.count))} stalls, ${escapeHtml(formatMs(s.totalMs))} (not blocks)</dd>`;
}

/** The processes section, or nothing when the run had a single process. */
export function processesHtml(processes: ReportProcess[]): string {
  if (processes.length < 2) return '';
  return `<section id="processes"><h2>Processes</h2>
<div class="process-grid">
${processes.map(processHtml).join('\n')}
</div></section>`;
}
