/**
 * A table of blocks, one row each in time order: when, how long, which
 * process and task, the culprit and how it was found. Used twice, for the
 * running blocks and for the start-up ones, which the page keeps apart: a
 * start-up block is module loading, not the service under load.
 */
import type { Attribution, ReportBlock } from '../types.js';
import { escapeHtml } from './escape-html.js';
import { displayName, formatAt, formatCount, formatMs, frameLocation, isLibraryFrame } from './format-values.js';

const ATTRIBUTIONS: Record<Attribution, string> = {
  profile: 'CPU profile',
  pause: 'debugger pause',
  'pause-after-native': 'pause after native call',
  none: 'not sampled',
};

function attributionText(a: unknown): string {
  return typeof a === 'string' && Object.hasOwn(ATTRIBUTIONS, a) ? ATTRIBUTIONS[a as Attribution] : String(a);
}

function rowHtml(b: ReportBlock, n: number, overMs: number | undefined): string {
  const culprit = b.culprit
    ? `<td${isLibraryFrame(b.culprit) ? ' class="lib"' : ''}><code class="fn">${escapeHtml(displayName(b.culprit.functionName))}</code><br><span class="loc">${escapeHtml(frameLocation(b.culprit))}</span></td>`
    : b.stack?.[0]
      // No culprit: every frame is Node's own (module loading, say). Show the innermost, dimmed.
      ? `<td class="lib"><code class="fn">${escapeHtml(displayName(b.stack[0].functionName))}</code><br><span class="loc">${escapeHtml(frameLocation(b.stack[0]))}</span></td>`
      : '<td class="muted">—</td>';
  const caller = b.caller
    ? `<td><code class="fn">${escapeHtml(displayName(b.caller.functionName))}</code><br><span class="loc">${escapeHtml(frameLocation(b.caller))}</span></td>`
    : '<td class="muted">—</td>';
  const task = typeof b.task === 'string' ? `<td><code class="task">${escapeHtml(b.task)}</code></td>` : '<td class="muted">—</td>';
  const over = overMs !== undefined && b.durationMs > overMs ? ' class="over"' : '';
  return `<tr${over}><td class="num">${n}</td><td class="num">${escapeHtml(formatAt(b.startedAt))}</td><td class="num">${escapeHtml(formatMs(b.durationMs))}</td><td class="num">${escapeHtml(formatCount(b.pid))}</td>${task}${culprit}${caller}<td>${escapeHtml(attributionText(b.attribution))}</td><td class="num">${escapeHtml(formatCount(b.samples))}</td></tr>`;
}

/**
 * A `<table>` of the given blocks; `overMs` (the `--max-block` bound, if any)
 * marks the rows that exceeded it.
 */
export function blocksTableHtml(blocks: ReportBlock[], options: { id: string; overMs?: number }): string {
  const rows = blocks.map((b, i) => rowHtml(b, i + 1, options.overMs)).join('\n');
  return `<div class="table-wrap"><table class="blocks" id="${escapeHtml(options.id)}">
<thead><tr><th>#</th><th>at</th><th>duration</th><th>pid</th><th>task</th><th>culprit</th><th>caller</th><th>found by</th><th>pauses</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>`;
}
