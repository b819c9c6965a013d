/**
 * Reads what the preloaded agents wrote into the doctor's data folder: one
 * `<pid>.ndjson` per Node process (hello, samples, block starts, blocks,
 * exit) and, when the process exited cleanly enough, `<pid>.cpuprofile`.
 * A torn last line (the process died mid-write) is skipped; a block that
 * started but never got its end (the process crashed while blocked) is
 * closed at the process's last known time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuProfile } from './attribute.js';

export interface RawFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

export interface RawBlock {
  startNs: bigint;
  endNs: bigint;
  durationMs: number;
  startup: boolean;
  task?: string;
  stack: RawFrame[];
  samples: number;
  afterNativeCall: boolean;
  /** The process ended while this block was still going. */
  unfinished: boolean;
}

export interface RawSample {
  hr: bigint;
  delay: { mean: number; p50: number; p90: number; p99: number; max: number };
  utilization: number;
  heapUsedMB: number;
  rssMB: number;
  /** null when the process did not time GC itself (its CPU profile does). */
  gcMs: number | null;
  gcCount: number | null;
  tasks: number;
  pending: number;
}

export interface RawProcess {
  pid: number;
  ppid: number;
  argv: string[];
  startNs: bigint;
  endNs: bigint;
  exit?: { code: number | null; signal: string | null };
  error?: string;
  samples: RawSample[];
  blocks: RawBlock[];
  debuggerPauses: number;
  /** Stalls while the machine gave the process no CPU (not blocks). */
  starved: { count: number; totalMs: number };
  profile: CpuProfile | null;
}

type Line = Record<string, unknown>;

function parseLines(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split('\n')) {
    if (l === '') continue;
    try {
      const v = JSON.parse(l) as unknown;
      if (v !== null && typeof v === 'object') out.push(v as Line);
    } catch {
      // a line torn by a crash
    }
  }
  return out;
}

const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const big = (v: unknown, d: bigint): bigint => {
  try {
    return typeof v === 'string' ? BigInt(v) : d;
  } catch {
    return d;
  }
};

function frames(v: unknown): RawFrame[] {
  if (!Array.isArray(v)) return [];
  return v.map((f: Line) => ({ functionName: str(f.functionName) || '(anonymous)', url: str(f.url), line: num(f.line), column: num(f.column) }));
}

export function readProcess(dir: string, file: string): RawProcess | null {
  const lines = parseLines(readFileSync(join(dir, file), 'utf8'));
  const hello = lines.find((l) => l.type === 'hello');
  if (hello === undefined) return null;
  const pid = num(hello.pid);
  const startNs = big(hello.hr, 0n);
  const p: RawProcess = {
    pid,
    ppid: num(hello.ppid),
    argv: Array.isArray(hello.argv) ? hello.argv.map(String) : [],
    startNs,
    endNs: startNs,
    samples: [],
    blocks: [],
    debuggerPauses: 0,
    starved: { count: 0, totalMs: 0 },
    profile: null,
  };
  const open = new Map<string, boolean>();
  // Samples of blocks still open: the stack of a block the process never came back from.
  const pending = new Map<string, { frames: RawFrame[]; task?: string; count: number }>();
  const seen = (ns: bigint): void => {
    if (ns > p.endNs) p.endNs = ns;
  };
  for (const l of lines) {
    switch (l.type) {
      case 'sample': {
        const hr = big(l.hr, startNs);
        seen(hr);
        const d = (l.delay ?? {}) as Line;
        p.samples.push({
          hr,
          delay: { mean: num(d.mean), p50: num(d.p50), p90: num(d.p90), p99: num(d.p99), max: num(d.max) },
          utilization: num(l.utilization),
          heapUsedMB: num(l.heapUsedMB),
          rssMB: num(l.rssMB),
          gcMs: typeof l.gcMs === 'number' ? num(l.gcMs) : null,
          gcCount: typeof l.gcCount === 'number' ? num(l.gcCount) : null,
          tasks: num(l.tasks),
          pending: num(l.pending),
        });
        break;
      }
      case 'block-start':
        open.set(str(l.startNs), l.startup === true);
        break;
      case 'block-dropped': // a stall that ended under the threshold
        open.delete(str(l.startNs));
        pending.delete(str(l.startNs));
        break;
      case 'block-sample': {
        const k = str(l.startNs);
        const p0 = pending.get(k);
        if (p0 === undefined) pending.set(k, { frames: frames(l.frames), ...(typeof l.task === 'string' ? { task: l.task } : {}), count: 1 });
        else p0.count++;
        break;
      }
      case 'block': {
        const s = big(l.startNs, startNs);
        const e = big(l.endNs, s);
        seen(e);
        open.delete(str(l.startNs));
        const b: RawBlock = {
          startNs: s,
          endNs: e,
          durationMs: num(l.durationMs),
          startup: l.startup === true,
          stack: frames(l.stack),
          samples: num(l.samples),
          afterNativeCall: l.afterNativeCall === true,
          unfinished: false,
        };
        if (typeof l.task === 'string') b.task = l.task;
        p.blocks.push(b);
        break;
      }
      case 'debugger-pause':
        p.debuggerPauses++;
        open.delete(str(l.startNs));
        break;
      case 'starved':
        p.starved.count++;
        p.starved.totalMs += num(l.durationMs);
        open.delete(str(l.startNs));
        pending.delete(str(l.startNs));
        break;
      case 'exit': {
        seen(big(l.hr, p.endNs));
        p.exit = { code: typeof l.code === 'number' ? l.code : null, signal: typeof l.signal === 'string' ? l.signal : null };
        if (typeof l.error === 'string') p.error = l.error;
        break;
      }
    }
  }
  const profilePath = join(dir, `${pid}.cpuprofile`);
  if (existsSync(profilePath)) {
    try {
      p.profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
      seen(BigInt(Math.round(p.profile.endTime)) * 1000n);
    } catch {
      p.profile = null;
    }
  }
  // Blocks the process never came back from: it crashed, or was killed, while blocked.
  for (const [s, startup] of open) {
    const startNs = big(s, p.endNs);
    if (startNs >= p.endNs) continue;
    const seenSamples = pending.get(s);
    const b: RawBlock = {
      startNs,
      endNs: p.endNs,
      durationMs: Number(p.endNs - startNs) / 1e6,
      startup,
      stack: seenSamples?.frames ?? [],
      samples: seenSamples?.count ?? 0,
      afterNativeCall: false,
      unfinished: true,
    };
    if (seenSamples?.task !== undefined) b.task = seenSamples.task;
    p.blocks.push(b);
  }
  p.blocks.sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  return p;
}

/** Every process that reported into `dir`, by start time. */
export function collect(dir: string): RawProcess[] {
  if (!existsSync(dir)) return [];
  const out: RawProcess[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.ndjson')) continue;
    const p = readProcess(dir, f);
    if (p !== null) out.push(p);
  }
  return out.sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
}
