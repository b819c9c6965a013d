/**
 * From what the agents wrote to the report: blocks attributed (CPU profile
 * first, debugger pauses second), culprits ranked by blocked time (running
 * blocks only: start-up is module loading, reported apart), the whole run's
 * delay and utilisation, the timeline, and a diagnosis with advice.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Culprit, DelayStats, Diagnosis, DoctorReport, ReportBlock, ReportFrame, ReportProcess, TimelineSample } from '../../report/types.js';
import { isModuleLoading } from '../../monitor/watchdog/layout.js';
import { FUNCTION_START, isOwnCode, ProfileIndex, type Attribution } from './attribute.js';
import type { RawProcess, RawSample } from './collect.js';

export interface RunInfo {
  command: string[];
  startedAt: Date;
  /** The doctor's hrtime at the target's start: t = 0 of the report. */
  t0Ns: bigint;
  endNs: bigint;
  thresholdMs: number;
  maxBlockMs?: number;
  target: { code: number | null; signal: string | null };
  toolVersion: string;
  /** The doctor's exit code before the --max-block gate. */
  targetExitCode: number;
}

const inPackage = (url: string): boolean => url.includes('/node_modules/');

function msSince(t0: bigint, ns: bigint): number {
  return Number(ns - t0) / 1e6;
}

/** The first frame outside packages and Node below a culprit in a package: the program's own call into it. */
function callerOf(stack: ReportFrame[], culprit: { functionName: string; url: string; line: number }): ReportFrame | undefined {
  if (!inPackage(culprit.url)) return undefined;
  const i = stack.findIndex((f) => f.functionName === culprit.functionName && f.url === culprit.url && f.line === culprit.line);
  return stack.slice(i + 1).find((f) => isOwnCode(f.url) && !inPackage(f.url));
}

/**
 * A profile frame has its function's start line (or its hottest line); a
 * debugger pause of the same block in the same function has the exact line
 * it was on: prefer it.
 */
function preciseLine(f: ReportFrame, pause: ReportFrame[]): ReportFrame {
  const p = pause.find((x) => x.functionName === f.functionName && x.url === f.url);
  return p === undefined ? f : { ...f, line: p.line, column: p.column };
}

function blocksOf(p: RawProcess, t0: bigint, index: ProfileIndex | null): ReportBlock[] {
  return p.blocks.map((b) => {
    const out: ReportBlock = {
      pid: p.pid,
      durationMs: b.durationMs,
      startedAt: msSince(t0, b.startNs),
      phase: b.startup ? 'startup' : 'running',
      stack: b.stack,
      attribution: b.stack.length === 0 ? 'none' : b.afterNativeCall ? 'pause-after-native' : 'pause',
      samples: b.samples,
    };
    if (b.task !== undefined) out.task = b.task;
    const attributed = index?.attribute(Number(b.startNs / 1000n), Number(b.endNs / 1000n)) ?? null;
    const fromProfile = attributed === null ? null : foldCallSites(attributed);
    if (fromProfile !== null) {
      out.stack = callSites(fromProfile.stack.map((f) => preciseLine(f, b.stack)));
      const c = preciseLine(fromProfile.culprit, b.stack);
      // The stack's frame of the same function has had its call site looked up.
      out.culprit = out.stack.find((f) => sameFunction(f, c)) ?? c;
      out.attribution = 'profile';
      const all = fromProfile.shares.reduce((a, s) => a + s.samples, 0);
      if (fromProfile.shares.length > 1) {
        out.shares = fromProfile.shares.map((s) => {
          const stack = callSites(s.stack);
          return { ...(stack.find((f) => sameFunction(f, s.culprit)) ?? s.culprit), share: s.samples / all, stack };
        });
      }
    } else {
      const c = b.stack.find((f) => isOwnCode(f.url));
      if (c !== undefined) out.culprit = c;
    }
    if (isModuleLoading(out.stack)) out.phase = 'startup';
    if (out.culprit !== undefined) {
      const caller = callerOf(out.stack, out.culprit);
      if (caller !== undefined) out.caller = caller;
    }
    return out;
  });
}

const sameFunction = (a: ReportFrame, b: ReportFrame): boolean => a.functionName === b.functionName && a.url === b.url;

/**
 * A frame the profile only knows by its function's first line (all its
 * samples were in what it called: `pbkdf2Sync` under `deriveKey`) gets the
 * line of its function that calls the frame inside it by name, when the
 * source is at hand: `deriveKey (auth.js:14)`, the call, not `auth.js:12`,
 * the declaration.
 */
function callSites(stack: ReportFrame[]): ReportFrame[] {
  return stack.map((f, i) => {
    const inner = stack[i - 1];
    if (inner === undefined || !FUNCTION_START.has(f) || !f.url.startsWith('file://')) return f;
    const name = inner.functionName.split('.').pop() ?? '';
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) return f;
    const call = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\s*\\(`);
    // Within the function: up to the `}` at its own indentation.
    const indent = /^\s*/.exec(sourceLine(f.url, f.line))![0];
    for (let line = f.line; line < f.line + 300; line++) {
      const code = sourceLine(f.url, line);
      if (call.test(code)) return { ...f, line, column: 1 };
      if (line > f.line && code.startsWith(`${indent}}`)) break;
      if (code === '' && sourceLine(f.url, line + 1) === '' && sourceLine(f.url, line + 2) === '') break;
    }
    return f;
  });
}

/**
 * V8 charges optimised code that it inlined to the function it was inlined
 * into: a handler whose only line is `renderReport(400_000)` shows self
 * samples on that line beside its real child, and would come out as a
 * second culprit. A share whose hottest line calls, by name, another share's
 * function that it is the caller of (in that share's stack) is that
 * function's time: fold it in. Native calls (`JSON.parse` in `decodeBody`)
 * are not folded: no share of the program's own is called on their line.
 */
function foldCallSites(a: Attribution): Attribution {
  if (a.shares.length < 2) return a;
  const shares = a.shares.map((s) => ({ ...s }));
  for (const caller of [...shares]) {
    const code = sourceLine(caller.culprit.url, caller.culprit.line);
    if (code === '') continue;
    const callee = shares.find((s) => {
      if (s === caller || !code.includes(`${s.culprit.functionName}(`)) return false;
      const at = s.stack.findIndex((f) => sameFunction(f, s.culprit));
      const up = at < 0 ? undefined : s.stack[at + 1];
      return up !== undefined && sameFunction(up, caller.culprit);
    });
    if (callee === undefined) continue;
    callee.samples += caller.samples;
    shares.splice(shares.indexOf(caller), 1);
  }
  shares.sort((x, y) => y.samples - x.samples);
  const best = shares[0]!;
  return { ...a, shares, stack: best.stack, culprit: best.culprit, culpritSamples: best.samples };
}

const where = (f: { functionName: string; url: string; line: number }): string => `${f.functionName} (${shortUrl(f.url)}:${f.line})`;

/** A file URL as a path relative to the working directory when it is inside it. */
export function shortUrl(url: string): string {
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = decodeURIComponent(new URL(url).pathname);
    } catch {
      return url;
    }
  }
  const cwd = process.cwd() + '/';
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

const sources = new Map<string, string[] | null>();

/** Line `line` (1-based) of a local file:// script, or '' (not local, too big, unreadable). */
export function sourceLine(url: string, line: number): string {
  if (!url.startsWith('file://')) return '';
  let lines = sources.get(url);
  if (lines === undefined) {
    lines = null;
    try {
      const path = fileURLToPath(url);
      if (statSync(path).size < 8 * 1024 * 1024) lines = readFileSync(path, 'utf8').split('\n');
    } catch {
      // gone, or not ours to read
    }
    sources.set(url, lines);
  }
  return lines?.[line - 1] ?? '';
}

/** A regex literal used with test/exec/match/replace/split/search, or a `new RegExp`, on one line. */
export function usesRegex(code: string): boolean {
  return (
    /\/(?:[^/\\\n]|\\.)+\/[dgimsuvy]*\s*\.\s*(?:test|exec)\s*\(/.test(code) ||
    /\.(?:match|matchAll|replace|replaceAll|split|search)\s*\(\s*\/(?:[^/\\\n]|\\.)+\//.test(code) ||
    /\bnew RegExp\s*\(|\bRegExp\s*\(/.test(code)
  );
}

/** One sentence of what to do about a culprit, from the frames of its stack. */
export function adviceFor(c: { functionName: string; url: string; line: number }, stack: ReportFrame[], caller?: ReportFrame): string {
  const names = new Set(stack.map((f) => f.functionName));
  const at = where(c);
  const own = caller === undefined ? at : `${at}, called from ${where(caller)}`;
  const sync = [...names].find((n) => /^(pbkdf2Sync|scryptSync|generateKeyPairSync|randomFillSync)$/.test(n));
  if (sync !== undefined) return `use crypto.${sync.replace(/Sync$/, '')} (async), or move ${where(c)} to a WorkerPool`;
  const fsSync = [...names].find((n) => /^(readFileSync|writeFileSync|readdirSync|statSync|existsSync|openSync|readSync)$/.test(n));
  if (fsSync !== undefined) return `${fsSync} blocks the loop in ${at}: use fs/promises (${fsSync.replace(/Sync$/, '')}) and stream large files`;
  const zlib = [...names].find((n) => /^(gzipSync|gunzipSync|deflateSync|inflateSync|brotliCompressSync|brotliDecompressSync)$/.test(n));
  if (zlib !== undefined) return `use zlib's async ${zlib.replace(/Sync$/, '')} or streams instead of ${zlib} in ${at}`;
  if (names.has('hashSync') || names.has('compareSync') || /bcrypt/i.test(c.url)) {
    return `bcrypt hashing blocks the loop in ${own}: use the async hash/compare, a native bcrypt, or run it in a WorkerPool (loopwise/workers)`;
  }
  if (usesRegex(sourceLine(c.url, c.line))) {
    return `the regular expression in ${own} backtracks on this input: make it linear (no nested quantifiers such as (a+)+ or (\\w+\\s?)*), bound the input's length before matching, or upgrade the package`;
  }
  // JSON.parse/stringify are V8 builtins (no url); a package's own `parse` (ms, marked, a date library) is not JSON.
  if (stack.some((f) => f.url === '' && (f.functionName === 'parse' || f.functionName === 'stringify'))) return `large JSON in ${own} blocks the loop: parse it in a WorkerPool, stream it, or send less`;
  if (inPackage(c.url)) return `${own} is a package's synchronous work: move the call to a WorkerPool (loopwise/workers), or give it smaller inputs`;
  return `move ${at} to a WorkerPool (loopwise/workers), or split the work and \`await checkpoint()\` between parts`;
}

/** A block's culprits with the ms each is charged: its profile shares, or all of it to its one culprit. */
function charges(b: ReportBlock): { frame: ReportFrame; stack: ReportFrame[]; ms: number }[] {
  if (b.shares !== undefined) {
    return b.shares.filter((s) => s.share >= 0.05).map(({ share, stack, ...frame }) => ({ frame, stack, ms: b.durationMs * share }));
  }
  return b.culprit === undefined ? [] : [{ frame: b.culprit, stack: b.stack, ms: b.durationMs }];
}

/**
 * A culprit is a function (name and file); its line is the one of its
 * longest block (a profile's hottest line and a pause's exact line can
 * differ). Anonymous functions are told apart by their line.
 */
function culpritKey(f: ReportFrame): string {
  return f.functionName === '(anonymous)' ? `${f.functionName}\0${f.url}\0${f.line}` : `${f.functionName}\0${f.url}`;
}

function culpritsOf(blocks: ReportBlock[]): Culprit[] {
  const by = new Map<string, Culprit>();
  // Every frame seen under a culprit, for the advice (one block's stack may miss the sync call).
  const seen = new Map<Culprit, ReportFrame[]>();
  for (const b of blocks) {
    if (b.phase !== 'running') continue;
    for (const { frame: f, stack, ms } of charges(b)) {
      const key = culpritKey(f);
      let c = by.get(key);
      if (c === undefined) {
        c = { ...f, count: 0, totalMs: 0, maxMs: 0, stack, tasks: [], pids: [], advice: '' };
        by.set(key, c);
        seen.set(c, []);
      }
      seen.get(c)!.push(...stack);
      c.count++;
      c.totalMs += ms;
      if (ms >= c.maxMs) {
        c.maxMs = ms;
        c.stack = stack;
        c.line = f.line;
        c.column = f.column;
      }
      if (b.task !== undefined && !c.tasks.includes(b.task)) c.tasks.push(b.task);
      if (!c.pids.includes(b.pid)) c.pids.push(b.pid);
    }
  }
  const out = [...by.values()].map((c) => {
    const caller = callerOf(c.stack, c);
    if (caller !== undefined) c.caller = caller;
    c.advice = adviceFor(c, seen.get(c)!, c.caller);
    return c;
  });
  return out.sort((a, b) => b.totalMs - a.totalMs);
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Whole-run delay from per-interval samples: the mean of means, the median
 * of each percentile, the max of maxes. (Histograms of different processes
 * and intervals cannot be merged exactly from their summaries.)
 */
function delayOf(samples: RawSample[]): DelayStats {
  if (samples.length === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    mean: samples.reduce((a, s) => a + s.delay.mean, 0) / samples.length,
    p50: median(samples.map((s) => s.delay.p50)),
    p90: median(samples.map((s) => s.delay.p90)),
    p99: median(samples.map((s) => s.delay.p99)),
    max: Math.max(...samples.map((s) => s.delay.max)),
  };
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

function diagnose(blocks: ReportBlock[], culprits: Culprit[], samples: RawSample[], durationMs: number, thresholdMs: number): Diagnosis {
  const running = blocks.filter((b) => b.phase === 'running');
  const blockedMs = running.reduce((a, b) => a + b.durationMs, 0);
  const worst = running.reduce((a, b) => Math.max(a, b.durationMs), 0);
  const gcMs = samples.reduce((a, s) => a + (s.gcMs ?? 0), 0);
  const util = mean(samples.map((s) => s.utilization));
  const pending = mean(samples.map((s) => s.pending));
  const startup = blocks.length - running.length;
  const startupNote = startup > 0 ? ` (${startup} start-up block${startup === 1 ? '' : 's'} while modules loaded are reported apart)` : '';
  if (running.length > 0) {
    const top = culprits[0];
    const by = top === undefined ? '' : `; most of it in ${where(top)}`;
    return {
      verdict: 'event-loop-blocked',
      detail:
        `The event loop was blocked ${running.length} time${running.length === 1 ? '' : 's'} for ${Math.round(blockedMs)} ms in all ` +
        `(worst ${Math.round(worst)} ms, threshold ${thresholdMs} ms)${by}${startupNote}.`,
      advice: culprits.slice(0, 5).map((c) => c.advice),
    };
  }
  if (durationMs > 0 && gcMs / durationMs > 0.1) {
    return {
      verdict: 'gc-pressure',
      detail: `Garbage collection took ${Math.round(gcMs)} ms, ${Math.round((100 * gcMs) / durationMs)} % of the run; no block of the loop over ${thresholdMs} ms.`,
      advice: [
        'allocate less on hot paths (reuse buffers and objects, avoid building large temporary arrays and strings)',
        'look for growing caches or leaks with a heap snapshot (node --heapsnapshot-signal=SIGUSR2)',
        'if the heap is legitimately large, raise --max-old-space-size',
      ],
    };
  }
  if (util < 0.2 && pending >= 5 && durationMs >= 1_000) {
    return {
      verdict: 'io-bound',
      detail: `The loop was idle ${Math.round(100 * (1 - util))} % of the time while ${Math.round(pending)} I/O operations were in flight on average: the program waits on I/O, not on its own code.`,
      advice: [
        'find the slow dependency (database, HTTP upstream, disk): time each call, and add timeouts (loopwise timeout())',
        'run independent I/O concurrently (gather/map with a concurrency bound) instead of one after another',
        'check connection pool sizes: requests may be queueing for a connection',
      ],
    };
  }
  return {
    verdict: 'healthy',
    detail: `No block of the event loop over ${thresholdMs} ms; delay p99 ${delayOf(samples).p99.toFixed(1)} ms, utilisation ${Math.round(100 * util)} %${startupNote}.`,
    advice: [],
  };
}

export function analyze(processes: RawProcess[], run: RunInfo): DoctorReport {
  const t0 = run.t0Ns;
  const indexes = new Map(processes.map((p) => [p, p.profile === null ? null : new ProfileIndex(p.profile)]));
  const blocks = processes.flatMap((p) => blocksOf(p, t0, indexes.get(p)!)).sort((a, b) => a.startedAt - b.startedAt);
  const culprits = culpritsOf(blocks);
  // GC time: from the CPU profile where there is one (the process then does
  // not time each collection: that slows GC-heavy code), else the process's own.
  const sources = new Set<'profile' | 'observer'>();
  for (const p of processes) {
    const index = indexes.get(p)!;
    let from = p.startNs;
    for (const s of p.samples) {
      if (index !== null) {
        s.gcMs = index.gcMs(Number(from / 1000n), Number(s.hr / 1000n));
        s.gcCount = null;
        sources.add('profile');
      } else if (s.gcMs !== null) sources.add('observer');
      from = s.hr;
    }
  }
  const samples = processes.flatMap((p) => p.samples);
  const timeline: TimelineSample[] = processes.flatMap((p) =>
    p.samples.map((s) => ({
      pid: p.pid,
      t: msSince(t0, s.hr),
      delay: s.delay,
      utilization: s.utilization,
      heapUsedMB: s.heapUsedMB,
      rssMB: s.rssMB,
      gcMs: s.gcMs ?? 0,
      tasks: s.tasks,
    })),
  );
  timeline.sort((a, b) => a.t - b.t);
  const durationMs = msSince(t0, run.endNs);
  const procs: ReportProcess[] = processes.map((p) => {
    const mine = blocks.filter((b) => b.pid === p.pid);
    const rp: ReportProcess = {
      pid: p.pid,
      ppid: p.ppid,
      argv: p.argv,
      startedAt: msSince(t0, p.startNs),
      endedAt: msSince(t0, p.endNs),
      blocks: mine.length,
      blockedMs: mine.reduce((a, b) => a + b.durationMs, 0),
      starved: { ...p.starved },
      utilization: mean(p.samples.map((s) => s.utilization)),
      delay: delayOf(p.samples),
    };
    if (p.exit !== undefined) rp.exit = p.exit;
    if (p.error !== undefined) rp.error = p.error;
    return rp;
  });
  let exitCode = run.targetExitCode;
  const report: DoctorReport = {
    version: 1,
    tool: { name: 'loopwise', version: run.toolVersion, node: process.version },
    command: run.command,
    startedAt: run.startedAt.toISOString(),
    durationMs,
    thresholdMs: run.thresholdMs,
    exitCode,
    target: run.target,
    processes: procs,
    blocks,
    culprits,
    delay: delayOf(samples),
    utilization: mean(samples.map((s) => s.utilization)),
    gc: {
      totalMs: samples.reduce((a, s) => a + (s.gcMs ?? 0), 0),
      ...(samples.length > 0 && samples.every((s) => s.gcCount !== null) ? { count: samples.reduce((a, s) => a + s.gcCount!, 0) } : {}),
      source: sources.size === 2 ? 'mixed' : sources.has('observer') ? 'observer' : 'profile',
    },
    timeline,
    diagnosis: diagnose(blocks, culprits, samples, durationMs, run.thresholdMs),
  };
  const starved = procs.reduce((a, p) => ({ count: a.count + p.starved.count, totalMs: a.totalMs + p.starved.totalMs }), { count: 0, totalMs: 0 });
  if (starved.count > 0) {
    report.diagnosis.detail +=
      ` The machine also starved the process${procs.length > 1 ? 'es' : ''} of CPU ${starved.count} time${starved.count === 1 ? '' : 's'} ` +
      `(${Math.round(starved.totalMs)} ms of stalls, runnable but not running): not the program's code, so not counted as blocks.`;
  }
  if (run.maxBlockMs !== undefined) {
    const max = run.maxBlockMs;
    report.maxBlockMs = max;
    report.maxBlockExceeded = blocks.some((b) => b.phase === 'running' && b.durationMs > max);
    if (report.maxBlockExceeded) exitCode = 1;
  }
  report.exitCode = exitCode;
  return report;
}
