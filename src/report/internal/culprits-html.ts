/**
 * The "Top culprits" section: one card per culprit function (running-phase
 * blocks only, as the doctor sorted them, by total blocked time) with its
 * numbers, the doctor's advice, the caller in the program's own code when the
 * culprit sits in a package, the tasks it ran in, and a representative stack.
 *
 * Stacks are innermost first, as V8 gives them; frames of Node's internals,
 * packages and native code are dimmed so the program's own frames stand out.
 * The first cards show their stack open; the rest, and culprits past the
 * first 20, are folded so a run with hundreds of distinct culprits stays
 * readable (rejected: a cut-off list, which would hide data the JSON has).
 */
import type { Culprit, ReportFrame } from '../types.js';
import { escapeHtml } from './escape-html.js';
import { displayName, formatCount, formatMs, frameLocation, isLibraryFrame, packageOf, plural } from './format-values.js';

const SHOWN = 20;
const OPEN_STACKS = 3;

/** A stack as an ordered list, innermost first, library frames dimmed. */
export function stackHtml(stack: ReportFrame[]): string {
  if (!Array.isArray(stack) || stack.length === 0) return '<p class="muted">No stack was captured.</p>';
  const items = stack.map((f) => {
    const cls = isLibraryFrame(f) ? ' class="lib"' : '';
    return `<li${cls}><code class="fn">${escapeHtml(displayName(f.functionName))}</code> <span class="loc">${escapeHtml(frameLocation(f))}</span></li>`;
  });
  return `<ol class="stack">${items.join('')}</ol>`;
}

function culpritHtml(c: Culprit, rank: number): string {
  const pkg = packageOf(c.url);
  const pkgTag = pkg ? ` <span class="pkg">${escapeHtml(pkg)}</span>` : '';
  const caller = c.caller
    ? `<p class="caller">Called from <code class="fn">${escapeHtml(displayName(c.caller.functionName))}</code> <span class="loc">${escapeHtml(frameLocation(c.caller))}</span></p>`
    : '';
  const tasks = Array.isArray(c.tasks) && c.tasks.length > 0
    ? `<p class="tasks">In ${c.tasks.length === 1 ? 'task' : 'tasks'} ${c.tasks.map((t) => `<code class="task">${escapeHtml(t)}</code>`).join(', ')}</p>`
    : '';
  const pids = Array.isArray(c.pids) && c.pids.length > 0 ? ` · pid ${c.pids.map((p) => escapeHtml(formatCount(p))).join(', ')}` : '';
  const open = rank <= OPEN_STACKS ? ' open' : '';
  return `<article class="culprit" id="culprit-${rank}">
<h3><span class="rank">${rank}</span> <code class="fn">${escapeHtml(displayName(c.functionName))}</code>${pkgTag}</h3>
<p class="loc">${escapeHtml(frameLocation(c))}</p>
<p class="nums"><strong>${escapeHtml(formatMs(c.totalMs))}</strong> blocked in ${escapeHtml(plural(c.count, 'block'))}, longest ${escapeHtml(formatMs(c.maxMs))}${pids}</p>
<p class="culprit-advice">${escapeHtml(c.advice)}</p>
${caller}${tasks}
<details class="stack-box"${open}><summary>Stack of the longest block (innermost first)</summary>${stackHtml(c.stack)}</details>
</article>`;
}

/** The culprits section. */
export function culpritsHtml(culprits: Culprit[]): string {
  const head = '<section id="culprits"><h2>Top culprits</h2>';
  if (culprits.length === 0) {
    return `${head}<p class="muted">No running-phase block: nothing to blame.</p></section>`;
  }
  const cards = culprits.map((c, i) => culpritHtml(c, i + 1));
  const shown = cards.slice(0, SHOWN).join('\n');
  const rest = cards.length > SHOWN
    ? `\n<details class="more"><summary>${cards.length - SHOWN} more culprits</summary>${cards.slice(SHOWN).join('\n')}</details>`
    : '';
  return `${head}<p class="muted">Functions running when the loop was blocked, by total blocked time (start-up blocks excluded).</p>
${shown}${rest}</section>`;
}
