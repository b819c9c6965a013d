/** The public types of loopwise/monitor. Times are milliseconds throughout. */

/** One JS stack frame; `line` and `column` are 1-based. */
export interface StackFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

/** A block of the event loop longer than the threshold. */
export interface BlockEvent {
  /** How long the loop was blocked, to within half a heartbeat interval, without our own capture time. */
  durationMs: number;
  /** When the block started, in ms since the epoch (same clock as `Date.now()`, sub-ms precision). */
  startedAt: number;
  /**
   * `startup` before the program's first loop turn, or when the stack is in
   * Node's module loader (a module graph loading, a module's top-level code,
   * a lazy `require`); else `running`.
   */
  phase: 'startup' | 'running';
  /** The loopwise task that was running (the one seen most across samples). */
  task?: string;
  /** The main thread's JS stack taken during the block, innermost frame first (empty if none was taken). */
  stack: StackFrame[];
  /** Debugger pauses taken during the block (at most one per threshold interval). */
  samples: number;
  /** The top frames seen across samples, most seen first: a mini-profile of a long block. */
  topFrames: (StackFrame & { count: number })[];
  /**
   * The first pause could only land after a native call (JSON.parse, pbkdf2Sync,
   * readFileSync…) returned: the stack shows the code right after it, and may
   * no longer hold the caller. `loopwise doctor` attributes such blocks from a
   * CPU profile instead.
   */
  afterNativeCall: boolean;
  /** ms from asking for the first pause to getting it. */
  pauseLatencyMs?: number;
  /** ms our own capture held the main thread (Debugger.enable, the pauses); left out of `durationMs`. */
  captureMs: number;
  /**
   * Why no stack was taken: `disabled` (captureStacks: false), `too-short`
   * (ended before the first pause), `missed` (the watchdog thread was not
   * running yet, or starved of CPU: the main thread's late heartbeat found
   * the block afterwards), `failed`.
   */
  skipped?: 'disabled' | 'too-short' | 'failed' | 'missed';
}

export interface DelayStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoopSnapshot {
  /** Event-loop delay: how late the monitor's heartbeat timer ran, since `since`. */
  delay: DelayStats;
  /** Event-loop utilisation (0..1) since `since`. */
  utilization: number;
  /** The most recent blocks since `since` (at most `maxBlocks`, oldest dropped first). */
  blocks: BlockEvent[];
  /** Every block since `since`, also those dropped from `blocks`. */
  blockCount: number;
  /** Total ms blocked since `since`. */
  blockedMs: number;
  /** Garbage collection since `since`; null unless the monitor was started with `gc: true`. */
  gc: { count: number; totalMs: number } | null;
  /** Stalls seen while a debugger was attached or had paused the program: never counted as blocks. */
  debuggerPauses: number;
  /** Stalls past the threshold while the machine starved the process (see LoopTotals.starved): never counted as blocks. */
  starved: { count: number; totalMs: number };
  /** Start of the window, ms since the epoch. */
  since: number;
}

/** Counts since the monitor started, never reset (by `reset()` or anything else): for monotonic counters. */
export interface LoopTotals {
  /** Every block reported so far. */
  blockCount: number;
  /** Total ms blocked. */
  blockedMs: number;
  /** Garbage collection; null unless the monitor was started with `gc: true`. */
  gc: { count: number; totalMs: number } | null;
  /** Stalls seen while a debugger was attached or had paused the program. */
  debuggerPauses: number;
  /**
   * Stalls past the threshold during which the main thread was runnable but
   * got no CPU (Linux: its schedstat showed it waiting on a run queue at least
   * half the time, and running under a quarter of it and under half the
   * threshold in all): an overloaded machine or
   * container CPU limit, not the program's code. No stack is taken; the delay
   * figures still include them. Always zero where /proc has no schedstat.
   */
  starved: { count: number; totalMs: number };
  /** When the monitor started, ms since the epoch. */
  since: number;
}

/**
 * A reader's own window of delay and utilisation (a metrics exporter's
 * scrape interval), independent of `snapshot()`/`reset()` and of any other
 * window. Closing it stops the recording into it.
 */
export interface LoopWindow {
  /** Delay and utilisation since the window opened or was last taken; then starts the next window. */
  take(): { delay: DelayStats; utilization: number; since: number };
  /** Idempotent. */
  close(): void;
}

export interface MonitorOptions {
  /** A block is a stall of the loop longer than this (ms, >= 10; default 100). */
  blockThresholdMs?: number;
  /** Take the stack of blocking code (default true). Without it, blocks are still counted and timed. */
  captureStacks?: boolean;
  /** Called on the main thread after each block (it runs once the loop is free again). */
  onBlock?: (block: BlockEvent) => void;
  /**
   * Time every garbage collection (default false): a PerformanceObserver on
   * `gc` entries, as prom-client's default metrics do. Off by default because
   * it is not free: measured here (bench monitor-paired, the `gc` rows), it
   * made a promise-heavy workload 1.18–1.30× slower and an HTTP server
   * 0.94–1.06× as fast (BENCHMARKS.md, "Targets of issue 4"). `loopwise
   * doctor` takes GC time from its CPU profile instead.
   */
  gc?: boolean;
  /** Most debugger pauses per block (1..100, default 10). */
  maxSamples?: number;
  /** Blocks kept for `snapshot()` (default 100). */
  maxBlocks?: number;
}

export interface LoopMonitor {
  snapshot(): LoopSnapshot;
  /** Starts a new window: delay, utilisation, blocks and GC counted from now. */
  reset(): void;
  /** Lifetime counts, untouched by `reset()`. */
  totals(): LoopTotals;
  /** A window of delay and utilisation of the caller's own (see LoopWindow). */
  openWindow(): LoopWindow;
  /** Ends the watchdog and the heartbeat; idempotent. Nothing is left that keeps the process alive. */
  stop(): void;
  [Symbol.dispose](): void;
  /**
   * Settles once the watchdog thread runs and watches (a few ms after
   * `monitorLoop()`; a block before that is still reported, without a
   * stack). Until then the thread keeps the process alive.
   */
  readonly ready: Promise<void>;
  /** Settles once the watchdog thread has exited (after `stop()`). */
  readonly closed: Promise<void>;
}
