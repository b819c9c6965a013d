/**
 * The top of the report page: the verdict in big type, coloured by kind, its
 * one-sentence detail and the advice, then a one-line summary of the run
 * (command, duration, processes, blocks, worst block). This is the part a
 * reader must get at a glance, so it is plain server-rendered HTML that needs
 * no script.
 */
import type { DoctorReport, ReportBlock, Verdict } from '../types.js';
import { escapeHtml } from './escape-html.js';
import { displayName, formatMs, frameLocation, plural } from './format-values.js';

const TITLES: Record<Verdict, string> = {
  healthy: 'Healthy',
  'event-loop-blocked': 'Event loop blocked',
  'gc-pressure': 'GC pressure',
  'io-bound': 'I/O bound',
};

/**
 * The verdict as a CSS class suffix. Only the four known verdicts pass: the
 * value goes into a class attribute and must not carry report text there.
 */
export function verdictClass(verdict: unknown): string {
  return typeof verdict === 'string' && Object.hasOwn(TITLES, verdict) ? verdict : 'unknown';
}

function longest(blocks: ReportBlock[]): ReportBlock | undefined {
  let worst: ReportBlock | undefined;
  for (const b of blocks) if (worst === undefined || b.durationMs > worst.durationMs) worst = b;
  return worst;
}

function worstBlockText(report: DoctorReport): string {
  const running = report.blocks.filter((b) => b.phase !== 'startup');
  const worst = longest(running) ?? longest(report.blocks);
  if (worst === undefined) return 'no block';
  const where = worst.culprit
    ? ` in <code>${escapeHtml(displayName(worst.culprit.functionName))}</code> <span class="loc">${escapeHtml(frameLocation(worst.culprit))}</span>`
    : '';
  const phase = worst.phase === 'startup' ? ' (start-up)' : '';
  return `worst <strong>${escapeHtml(formatMs(worst.durationMs))}</strong>${where}${phase}`;
}

/** The verdict banner and the summary line. */
export function verdictHtml(report: DoctorReport): string {
  const d = report.diagnosis;
  const cls = verdictClass(d.verdict);
  const title = cls === 'unknown' ? String(d.verdict) : TITLES[cls as Verdict];
  const advice = Array.isArray(d.advice) && d.advice.length > 0
    ? `<ol class="advice">${d.advice.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ol>`
    : '';
  const gate = report.maxBlockExceeded
    ? `<p class="gate">A block exceeded <code>--max-block ${escapeHtml(formatMs(report.maxBlockMs))}</code>: the doctor exits 1.</p>`
    : '';

  const running = report.blocks.filter((b) => b.phase !== 'startup').length;
  const startup = report.blocks.length - running;
  const blocks = startup > 0
    ? `${plural(report.blocks.length, 'block')} (${running} running, ${startup} start-up)`
    : plural(report.blocks.length, 'block');
  const exit = report.target.signal ? `killed by ${report.target.signal}` : `exit ${report.target.code ?? '—'}`;
  const crashed = report.processes
    .filter((p) => typeof p.error === 'string' && p.error !== '')
    .map((p) => `<p class="crash">pid ${escapeHtml(p.pid)} crashed: <code>${escapeHtml(p.error)}</code></p>`)
    .join('');

  return `<header class="verdict verdict-${cls}" id="verdict">
<p class="verdict-kind">loopwise doctor</p>
<h1>${escapeHtml(title)}</h1>
<p class="detail">${escapeHtml(d.detail)}</p>
${advice}${gate}
</header>
<p class="summary" id="summary"><code class="command">${escapeHtml(report.command.join(' '))}</code>
<span>${escapeHtml(formatMs(report.durationMs))}</span>
<span>${escapeHtml(plural(report.processes.length, 'process', 'processes'))}</span>
<span>${escapeHtml(blocks)}</span>
<span>${worstBlockText(report)}</span>
<span>${escapeHtml(exit)}</span></p>
${crashed}`;
}
