/**
 * Attribution of a block from the V8 CPU profile of its process: the
 * profiler samples every 10 ms whatever the thread does, native code
 * included, so it names `decodeBody` for a JSON.parse block and `deriveKey`
 * for pbkdf2Sync, where a debugger pause lands only after the native call
 * returned. Profile timestamps are `process.hrtime` in µs, the clock of the
 * blocks' windows.
 *
 * The culprit of a sample is its innermost frame that is the program's own
 * or a package's: not Node's internals (`node:` urls) and not V8's builtins
 * and pseudo-frames (no url: `(garbage collector)`, `(program)`, `parse`).
 */
import type { RawFrame } from './collect.js';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  /** Self samples per source line (1-based), when V8 recorded them. */
  positionTicks?: { line: number; ticks: number }[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Attribution {
  /** Innermost first, from the culprit's most frequent sampled stack. */
  stack: RawFrame[];
  culprit: RawFrame;
  /** Samples inside the window, and those whose culprit is this one. */
  samples: number;
  culpritSamples: number;
  /** Samples spent in garbage collection inside the window. */
  gcSamples: number;
  /**
   * Every culprit seen in the window, most samples first, each with its most
   * sampled stack: two blocks less than a heartbeat apart look like one, and
   * a long block can run through several functions.
   */
  shares: { culprit: RawFrame; stack: RawFrame[]; samples: number }[];
}

// The doctor's own agent (monitor and preload) runs in the target too: its
// sampling can show up in a block's window, but it is never the culprit.
const AGENT = [new URL('../../monitor/', import.meta.url).href, new URL('../../register/', import.meta.url).href];

export function isOwnCode(url: string): boolean {
  return url !== '' && !url.startsWith('node:') && !AGENT.some((a) => url.startsWith(a));
}

/** Frames whose line is only where their function starts (no self samples to tell the line). */
export const FUNCTION_START = new WeakSet<RawFrame>();

/**
 * A profile node's callFrame holds where its function starts; a node with
 * self samples also has the lines they hit: the hottest is where it blocks.
 */
function toFrame(n: CpuProfileNode): RawFrame {
  let line = n.callFrame.lineNumber + 1;
  let most = 0;
  for (const t of n.positionTicks ?? []) if (t.ticks > most) [line, most] = [t.line, t.ticks];
  const f = {
    functionName: n.callFrame.functionName || '(anonymous)',
    url: n.callFrame.url,
    line,
    column: most > 0 ? 1 : n.callFrame.columnNumber + 1,
  };
  if (most === 0) FUNCTION_START.add(f);
  return f;
}

/** An index of one profile for many block windows. */
export class ProfileIndex {
  readonly #byId = new Map<number, CpuProfileNode>();
  readonly #parent = new Map<number, number>();
  readonly #times: Float64Array;
  readonly #deltas: number[];
  readonly #samples: number[];

  constructor(profile: CpuProfile) {
    for (const n of profile.nodes) {
      this.#byId.set(n.id, n);
      for (const c of n.children ?? []) this.#parent.set(c, n.id);
    }
    this.#samples = profile.samples;
    this.#deltas = profile.timeDeltas;
    this.#times = new Float64Array(profile.samples.length);
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      this.#times[i] = t;
    }
  }

  /**
   * ms of garbage collection in (fromUs, toUs]: the samples that landed in
   * `(garbage collector)`, each weighing the time since the sample before it.
   */
  gcMs(fromUs: number, toUs: number): number {
    let lo = 0;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#times[mid]! <= fromUs) lo = mid + 1;
      else hi = mid;
    }
    let us = 0;
    for (let i = lo; i < this.#times.length && this.#times[i]! <= toUs; i++) {
      if (this.#byId.get(this.#samples[i]!)?.callFrame.functionName === '(garbage collector)') us += this.#deltas[i]!;
    }
    return us / 1000;
  }

  /** Leaf-to-root frames of a node, without the `(root)` node. */
  stackOf(id: number): CpuProfileNode[] {
    const out: CpuProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = this.#parent.get(cur)) {
      const n = this.#byId.get(cur);
      if (n === undefined || n.callFrame.functionName === '(root)') break;
      out.push(n);
    }
    return out;
  }

  /** Attributes the window [startUs, endUs]; null when no sample of the program's code falls inside it. */
  attribute(startUs: number, endUs: number): Attribution | null {
    const counts = new Map<string, { count: number; leaves: Map<number, number>; frame: CpuProfileNode }>();
    let inside = 0;
    let gc = 0;
    // Binary search for the first sample at or after the start.
    let lo = 0;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#times[mid]! < startUs) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#times.length && this.#times[i]! <= endUs; i++) {
      inside++;
      const leaf = this.#samples[i]!;
      const stack = this.stackOf(leaf);
      const top = stack[0];
      if (top?.callFrame.functionName === '(garbage collector)') gc++;
      const culprit = stack.find((n) => isOwnCode(n.callFrame.url));
      if (culprit === undefined) continue;
      const key = `${culprit.callFrame.functionName}\0${culprit.callFrame.url}\0${culprit.callFrame.lineNumber}`;
      let c = counts.get(key);
      if (c === undefined) counts.set(key, (c = { count: 0, leaves: new Map(), frame: culprit }));
      c.count++;
      c.leaves.set(leaf, (c.leaves.get(leaf) ?? 0) + 1);
    }
    const ranked = [...counts.values()].sort((a, b) => b.count - a.count);
    if (ranked.length === 0) return null;
    const shares = ranked.map((c) => {
      let leaf = -1;
      let most = 0;
      for (const [id, n] of c.leaves) if (n > most) [leaf, most] = [id, n];
      return { culprit: toFrame(c.frame), stack: this.stackOf(leaf).map(toFrame), samples: c.count };
    });
    const best = shares[0]!;
    return { stack: best.stack, culprit: best.culprit, samples: inside, culpritSamples: best.samples, gcSamples: gc, shares };
  }
}
