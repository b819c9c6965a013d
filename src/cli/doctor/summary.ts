/** The doctor's summary: a few lines for people, or one JSON object for scripts (`--json`). */
import type { DoctorReport } from '../../report/types.js';
import { shortUrl } from './analyze.js';

export function formatSummary(r: DoctorReport, htmlPath: string): string {
  const lines = [`loopwise doctor: ${r.diagnosis.verdict} — ${r.diagnosis.detail}`];
  r.culprits.slice(0, 5).forEach((c, i) => {
    const caller = c.caller === undefined ? '' : ` (called from ${c.caller.functionName}, ${shortUrl(c.caller.url)}:${c.caller.line})`;
    const task = c.tasks.length === 0 ? '' : ` [task ${c.tasks.slice(0, 3).join(', ')}]`;
    lines.push(`  ${i + 1}. ${c.functionName}  ${shortUrl(c.url)}:${c.line}${caller}  ${c.count}× ${Math.round(c.totalMs)} ms (max ${Math.round(c.maxMs)} ms)${task}`);
    lines.push(`     → ${c.advice}`);
  });
  const startup = r.blocks.filter((b) => b.phase === 'startup');
  if (startup.length > 0) {
    lines.push(`  start-up: ${startup.length} block${startup.length === 1 ? '' : 's'} while modules loaded (${Math.round(startup.reduce((a, b) => a + b.durationMs, 0))} ms), not counted above`);
  }
  if (r.maxBlockExceeded) lines.push(`  --max-block ${r.maxBlockMs} ms exceeded: exit code 1`);
  const crashed = r.processes.filter((p) => p.error !== undefined);
  for (const p of crashed) lines.push(`  process ${p.pid} crashed: ${p.error}`);
  if (r.target.signal !== null) lines.push(`  the target was killed by ${r.target.signal}`);
  lines.push(`report: ${htmlPath} (and report.json)`);
  return lines.join('\n') + '\n';
}

export function jsonSummary(r: DoctorReport, out: string): object {
  return {
    verdict: r.diagnosis.verdict,
    detail: r.diagnosis.detail,
    exitCode: r.exitCode,
    target: r.target,
    processes: r.processes.length,
    blocks: r.blocks.filter((b) => b.phase === 'running').length,
    startupBlocks: r.blocks.filter((b) => b.phase === 'startup').length,
    worstBlockMs: r.blocks.filter((b) => b.phase === 'running').reduce((a, b) => Math.max(a, b.durationMs), 0),
    culprits: r.culprits.slice(0, 10).map((c) => ({ functionName: c.functionName, url: c.url, line: c.line, count: c.count, totalMs: c.totalMs, advice: c.advice })),
    maxBlockExceeded: r.maxBlockExceeded ?? false,
    report: { html: `${out}/report.html`, json: `${out}/report.json` },
  };
}
