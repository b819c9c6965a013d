/**
 * The shared-memory contract between the main thread and its watchdog
 * worker: one BigInt64Array over a SharedArrayBuffer. The main thread's
 * heartbeat timer writes it; the watchdog only reads it. A leaf module, so
 * the worker's entry imports nothing of the main thread's.
 */

/** `process.hrtime.bigint()` at the last heartbeat (ns). */
export const BEAT = 0;
/** 1n while an inspector (a debugger) is open in the process (`inspector.url()` set). */
export const INSPECTOR = 1;
/** 1n once the program's first heartbeat ran: earlier blocks are start-up (module loading). */
export const STARTED = 2;
/**
 * The beat value of the last stale period someone took charge of. The
 * watchdog claims a stale period when it sees it; the main thread claims it
 * when its late heartbeat finds nobody did (the watchdog was not running yet,
 * or starved of CPU), and reports the block without a stack. Claimed with
 * compareExchange, so a block is reported once.
 */
export const CLAIM = 3;
/** hrtime (ns) of the watchdog's last disconnect from the main thread's inspector (see stop()). */
export const DISCONNECTED = 4;
/**
 * The main thread's scheduler counters as the watchdog last read them
 * (Linux /proc schedstat): when (hrtime ns; 0n: never), ns on a CPU, ns
 * runnable but waiting for one. The main thread compares its own against
 * them when it finds a block nobody watched.
 */
export const SCHED_AT = 5;
export const SCHED_CPU = 6;
export const SCHED_WAIT = 7;
export const SLOTS = 8;

/** A thread's scheduler counters at one moment (ns). */
export interface SchedReading {
  at: bigint;
  cpu: number;
  wait: number;
}

/** Parses a /proc/.../schedstat line: "<ns on cpu> <ns waiting on a run queue> <timeslices>". */
export function parseSchedstat(text: string, at: bigint): SchedReading | null {
  const [cpu, wait] = text.split(' ').map(Number);
  return cpu === undefined || wait === undefined || !Number.isFinite(cpu) || !Number.isFinite(wait) ? null : { at, cpu, wait };
}

/** The state letter of a /proc/.../stat line ("R" runnable, "S" sleeping, "D" in I/O...), or null. */
export function parseStatState(text: string): string | null {
  const i = text.lastIndexOf(')');
  return i < 0 ? null : (text[i + 2] ?? null);
}

/**
 * Is the thread being starved right now? The kernel adds a wait to schedstat
 * only when the thread gets a CPU back, so while it waits the counters stand
 * still, as they do for a thread asleep in a system call; the thread's state
 * tells them apart: runnable ("R") but under a quarter of the window on a CPU
 * (and under `maxCpuNs` in all: see isStarved).
 */
export function isStarvedNow(from: SchedReading, now: SchedReading, state: string | null, maxCpuNs: number): boolean {
  const span = Number(now.at - from.at);
  const cpu = now.cpu - from.cpu;
  return state === 'R' && span > 0 && cpu < span / 4 && cpu < maxCpuNs;
}

/**
 * Was the thread starved of CPU between two readings (the second taken after
 * it ran again, so its waits are counted), rather than running
 * code that does not yield? Starved: runnable but waiting for a CPU at least
 * half of the time, and on one less than a quarter of it. A loop that got a
 * quarter of the window on a CPU without turning ran code that long (a
 * block, slowed by the machine); a thread that neither ran nor waited slept
 * in a system call (execSync, a slow disk): a block too. And a thread that
 * ran `maxCpuNs` (half the threshold) on a CPU without turning the loop ran
 * blocking code, however slowly an overloaded machine let it.
 */
export function isStarved(from: SchedReading, to: SchedReading, maxCpuNs: number): boolean {
  const span = Number(to.at - from.at);
  if (span <= 0) return false;
  const cpu = to.cpu - from.cpu;
  return to.wait - from.wait >= span / 2 && cpu < span / 4 && cpu < maxCpuNs;
}

/** Takes charge of the stale period that began at `beat`; false if someone already did. */
export function claim(hb: BigInt64Array, beat: bigint): boolean {
  const old = Atomics.load(hb, CLAIM);
  return old !== beat && Atomics.compareExchange(hb, CLAIM, old, beat) === old;
}

/** The options the main thread hands its watchdog (workerData). */
export interface WatchdogConfig {
  sab: SharedArrayBuffer;
  thresholdMs: number;
  intervalMs: number;
  captureStacks: boolean;
  maxSamples: number;
  /** Append-only NDJSON file the watchdog writes for `loopwise doctor`, or null. */
  reportFile: string | null;
  /** The global symbol key of the function that names the running task. */
  taskHook: string;
}

/** One frame as the watchdog reports it: 1-based line and column. */
export interface WireFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

/** A block as the watchdog sends it (times in hrtime ns, as decimal strings, to the main thread). */
export interface WireBlock {
  startNs: string;
  endNs: string;
  durationMs: number;
  startup: boolean;
  task?: string;
  stack: WireFrame[];
  samples: number;
  /** The most-seen top frames across samples (a mini-profile of the block). */
  topFrames: (WireFrame & { count: number })[];
  /** ms between asking for the first pause and getting it. */
  pauseLatencyMs?: number;
  /** The first pause landed only after a native call returned: the stack may not hold the caller. */
  afterNativeCall: boolean;
  /** Time our own capture held the main thread (Debugger.enable, pauses), left out of durationMs. */
  captureMs: number;
  /** Why no stack was taken, when none was. */
  skipped?: 'debugger' | 'disabled' | 'too-short' | 'failed' | 'missed';
  error?: string;
}

export type ToWatchdog = { type: 'stop' } | { type: 'record'; line: string };
export type FromWatchdog =
  | { type: 'block'; block: WireBlock }
  | { type: 'debugger-pause'; startNs: string; durationMs: number }
  /** A stall while the main thread was runnable but got no CPU: the machine, not the program. */
  | { type: 'starved'; startNs: string; durationMs: number; cpuMs: number; waitMs: number }
  | { type: 'ready' }
  | { type: 'stopped' };

/**
 * A stack inside Node's module loader is start-up work (loading a module
 * graph, or top-level code of a module being evaluated), whenever it
 * happens: an ES module's top-level code runs after the loop has already
 * turned while the graph was read, and a lazy `require` in a handler is
 * module loading too.
 */
export function isModuleLoading(stack: readonly { url: string }[]): boolean {
  return stack.some((f) => f.url.startsWith('node:internal/modules/'));
}
