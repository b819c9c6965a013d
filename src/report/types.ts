/**
 * The shape of `report.json`, written by `loopwise doctor` and read by the
 * HTML report. It is a public file format: fields are only ever added.
 * Times are milliseconds; `t`/`startedAt` are ms since the doctor started
 * the target (one clock for every process of a run), unless named `…At` ISO.
 * Everything that comes from the target (function names, urls, task names,
 * argv, error messages) is untrusted text.
 */

/** One JS stack frame, 1-based line and column. */
export interface ReportFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

export type BlockPhase = 'startup' | 'running';

/** How a block's culprit was found. */
export type Attribution =
  /** from the V8 CPU profile samples inside the block's window (native time included) */
  | 'profile'
  /** from the watchdog's debugger pauses during the block */
  | 'pause'
  /** a pause taken after a native call returned: the stack may not hold the caller */
  | 'pause-after-native'
  /** nothing could be sampled (block too short, debugger attached, capture failed) */
  | 'none';

export interface ReportBlock {
  pid: number;
  durationMs: number;
  startedAt: number;
  phase: BlockPhase;
  /** The loopwise task running when the block was sampled. */
  task?: string;
  /** Innermost first. */
  stack: ReportFrame[];
  attribution: Attribution;
  /** The culprit frame (innermost frame whose url does not start with `node:`), if any. */
  culprit?: ReportFrame;
  /** The first frame outside node_modules and node: below the culprit, when the culprit is in a package. */
  caller?: ReportFrame;
  /** Debugger pauses taken during the block. */
  samples: number;
  /**
   * With a CPU profile: each culprit's share (0..1) of the block's samples,
   * most first. Two blocks less than a heartbeat apart are seen as one, and a
   * long block can run through several functions; culprits' totals split
   * the block's time by these shares.
   */
  shares?: { functionName: string; url: string; line: number; column: number; share: number; stack: ReportFrame[] }[];
}

export interface Culprit {
  functionName: string;
  url: string;
  line: number;
  column: number;
  count: number;
  totalMs: number;
  maxMs: number;
  /** A representative stack (of the longest block), innermost first. */
  stack: ReportFrame[];
  caller?: ReportFrame;
  tasks: string[];
  pids: number[];
  /** One sentence of what to do about it. */
  advice: string;
}

export interface DelayStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One sample per interval per process. */
export interface TimelineSample {
  pid: number;
  t: number;
  delay: DelayStats;
  utilization: number;
  heapUsedMB: number;
  rssMB: number;
  /** GC time on the main thread inside this interval (see `DoctorReport.gc.source`). */
  gcMs: number;
  /** Running loopwise tasks. */
  tasks: number;
}

export interface ReportProcess {
  pid: number;
  ppid: number;
  argv: string[];
  startedAt: number;
  endedAt: number;
  /** How the process ended, when known. */
  exit?: { code: number | null; signal: string | null };
  /** An uncaught error's message, when the process crashed with one. */
  error?: string;
  blocks: number;
  blockedMs: number;
  /** Stalls past the threshold while the machine gave the process no CPU: not blocks, no stack. */
  starved: { count: number; totalMs: number };
  utilization: number;
  delay: DelayStats;
}

export type Verdict = 'healthy' | 'event-loop-blocked' | 'gc-pressure' | 'io-bound';

export interface Diagnosis {
  verdict: Verdict;
  /** One sentence. */
  detail: string;
  /** What to do, most important first. */
  advice: string[];
}

export interface DoctorReport {
  version: 1;
  tool: { name: 'loopwise'; version: string; node: string };
  command: string[];
  /** ISO time the run started. */
  startedAt: string;
  durationMs: number;
  thresholdMs: number;
  /** The doctor's own exit code for this run (the target's, 128+signal, or 1 for --max-block). */
  exitCode: number;
  target: { code: number | null; signal: string | null };
  processes: ReportProcess[];
  /** Every block of every process, in time order; see `phase`. */
  blocks: ReportBlock[];
  /** From running-phase blocks only, by total blocked time. */
  culprits: Culprit[];
  delay: DelayStats;
  utilization: number;
  /**
   * Garbage collection on the main threads. `source: 'profile'`: the CPU
   * profile's `(garbage collector)` samples (10 ms sampling: an estimate,
   * no count); `'observer'`: every collection timed (`--no-profile`).
   */
  gc: { totalMs: number; count?: number; source: 'profile' | 'observer' | 'mixed' };
  timeline: TimelineSample[];
  diagnosis: Diagnosis;
  maxBlockMs?: number;
  maxBlockExceeded?: boolean;
}
