/**
 * Reports for the report tests: the realistic sample (from
 * test/fixtures/report/sample-report.json), a hostile one with attack text
 * in every string field, a healthy one and a large one, all built from the
 * sample so they stay valid reports as the format grows.
 */
import { readFileSync } from 'node:fs';
import type { DoctorReport, ReportFrame } from '../../dist/report/types.js';

export type { DoctorReport };

/** The render function under test, from the built package (what the doctor runs). */
export const { renderReportHtml } = (await import(new URL('../../../dist/report/render-html.js', import.meta.url).href)) as typeof import('../../dist/report/render-html.js');

const samplePath = new URL('../../../test/fixtures/report/sample-report.json', import.meta.url);

export function sampleReport(): DoctorReport {
  return JSON.parse(readFileSync(samplePath, 'utf8')) as DoctorReport;
}

/** A task name that would end a script element and start another. */
export const HOSTILE_TASK = '</script><script>alert(1)</script>';
/** A function name that would run as an image's error handler. */
export const HOSTILE_FUNCTION = '<img src=x onerror=alert(1)>';
/** Quotes that would leave an attribute, a comment opener that changes script parsing, line separators, an entity that must stay literal. */
export const HOSTILE_URL = "file:///srv/a\"b'c/<!--<script>/x&amp;y\u2028z\u2029.js";
export const HOSTILE_ARGV = ['node', '" onmouseover="alert(1)', "' autofocus onfocus='alert(1)", '</style><script>alert(1)</script>'];
export const HOSTILE_TEXT = '<svg onload=alert(1)></svg> & </textarea></title><!-- ]]>';

/** Every hostile string (each has markup characters) that should come back as text. */
export const HOSTILE_STRINGS = [HOSTILE_TASK, HOSTILE_FUNCTION, HOSTILE_URL, ...HOSTILE_ARGV.slice(1), HOSTILE_TEXT];

/** The running block the Chromium test hovers: long, in the middle of the main process's run. */
export const HOSTILE_BLOCK = { startedAt: 14_000, durationMs: 2_500 };

function hostileFrame(f: ReportFrame, i: number): ReportFrame {
  return { ...f, functionName: i % 2 === 0 ? HOSTILE_FUNCTION : HOSTILE_TASK, url: HOSTILE_URL };
}

/**
 * The sample with attack text in every string a target controls: command,
 * argv, errors, tasks, every frame's name and url, culprits, advice, the
 * diagnosis, even the tool fields. Numbers are kept, so it still charts.
 */
export function hostileReport(): DoctorReport {
  const r = sampleReport();
  const main = r.processes[0]!;
  r.command = [...HOSTILE_ARGV];
  r.tool = { name: 'loopwise', version: HOSTILE_TEXT, node: HOSTILE_TASK };
  r.startedAt = HOSTILE_TEXT;
  r.target = { code: null, signal: HOSTILE_TASK };
  for (const p of r.processes) {
    p.argv = [...HOSTILE_ARGV];
    p.error = HOSTILE_TEXT;
    p.exit = { code: null, signal: HOSTILE_FUNCTION };
  }
  r.blocks.push({
    pid: main.pid, ...HOSTILE_BLOCK, phase: 'running', task: HOSTILE_TASK, attribution: 'pause', samples: 25,
    stack: [{ functionName: HOSTILE_FUNCTION, url: HOSTILE_URL, line: 1, column: 1 }],
    culprit: { functionName: HOSTILE_FUNCTION, url: HOSTILE_URL, line: 1, column: 1 },
  });
  r.blocks.sort((a, b) => a.startedAt - b.startedAt);
  for (const b of r.blocks) {
    b.task = HOSTILE_TASK;
    b.stack = b.stack.map(hostileFrame);
    if (b.culprit) b.culprit = { ...b.culprit, functionName: HOSTILE_FUNCTION, url: HOSTILE_URL };
    if (b.caller) b.caller = { ...b.caller, functionName: HOSTILE_TASK, url: HOSTILE_URL };
  }
  for (const c of r.culprits) {
    c.functionName = HOSTILE_FUNCTION;
    c.url = HOSTILE_URL;
    c.tasks = [HOSTILE_TASK, HOSTILE_TEXT];
    c.advice = HOSTILE_TEXT;
    c.stack = c.stack.map(hostileFrame);
    if (c.caller) c.caller = { ...c.caller, functionName: HOSTILE_TASK, url: HOSTILE_URL };
  }
  r.diagnosis = { verdict: 'event-loop-blocked', detail: HOSTILE_TEXT, advice: [HOSTILE_TASK, HOSTILE_FUNCTION] };
  return r;
}

/** One process, no block, nothing to blame. */
export function healthyReport(): DoctorReport {
  const r = sampleReport();
  const main = r.processes[0]!;
  r.processes = [{ ...main, blocks: 0, blockedMs: 0 }];
  r.blocks = [];
  r.culprits = [];
  r.timeline = r.timeline.filter((s) => s.pid === main.pid).map((s) => ({ ...s, delay: { ...s.delay, p99: 12, max: 14 } }));
  r.diagnosis = { verdict: 'healthy', detail: 'The event loop was never blocked over 50 ms.', advice: [] };
  return r;
}

/** `n` running blocks over `culprits` distinct functions. */
export function largeReport(n: number, culprits: number): DoctorReport {
  const r = sampleReport();
  const pid = r.processes[0]!.pid;
  const frame = (i: number): ReportFrame => ({ functionName: `work${i % culprits}`, url: `file:///srv/shop/src/jobs/job${i % culprits}.js`, line: 10 + (i % culprits), column: 3 });
  r.blocks = Array.from({ length: n }, (_, i) => ({
    pid, startedAt: 500 + i * 55, durationMs: 51 + (i % 40), phase: 'running' as const, task: `job ${i}`,
    stack: [frame(i)], attribution: 'profile' as const, culprit: frame(i), samples: 1,
  }));
  r.culprits = Array.from({ length: culprits }, (_, k) => ({
    ...frame(k), count: Math.ceil(n / culprits), totalMs: 10_000 - k, maxMs: 90, stack: [frame(k)], tasks: [`job ${k}`], pids: [pid], advice: `Split work${k}.`,
  }));
  return r;
}
