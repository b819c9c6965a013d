/**
 * monitorLoop: event-loop delay, utilisation, GC time, and the blocks of the
 * loop with the live stack of the code that blocks, named by task.
 *
 * The main thread's only cost is one unref'd heartbeat timer (every
 * clamp(threshold/4, 10, 50) ms) that writes `process.hrtime` into shared
 * memory and records its own lateness (the event-loop delay, the measure
 * `monitorEventLoopDelay` takes, without its resolution bias). Nothing runs
 * per await. A watchdog worker (./watchdog/watchdog.ts) sees the heartbeat
 * go stale and samples the stack while the loop is still blocked.
 *
 * Rejected: `monitorEventLoopDelay` for the delay (a second timer, its
 * figures include its resolution, and its histogram cannot be merged into
 * per-interval ones for the doctor's timeline); an async_hooks or
 * PromiseHook-based detector (cost on every await, and the stack it gets is
 * the one that scheduled the slow callback, not the one that blocks).
 */
import { readFileSync } from 'node:fs';
import { url as inspectorUrl } from 'node:inspector';
import { createHistogram, performance, PerformanceObserver, type EventLoopUtilization, type RecordableHistogram } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { allTasks, configure, currentTask } from '../index.js';
import { checkCount, checkFunction, checkMs, checkOptions, rangeError, show, typeError } from '../internal/validate.js';
import type { BlockEvent, DelayStats, LoopMonitor, LoopSnapshot, LoopTotals, LoopWindow, MonitorOptions } from './types.js';
import {
  BEAT,
  claim,
  DISCONNECTED,
  INSPECTOR,
  isStarved,
  parseSchedstat,
  SCHED_AT,
  SCHED_CPU,
  SCHED_WAIT,
  SLOTS,
  STARTED,
  type FromWatchdog,
  type SchedReading,
  type ToWatchdog,
  type WatchdogConfig,
  type WireBlock,
} from './watchdog/layout.js';

const NS_PER_MS = 1_000_000;
/** Global key of the function the watchdog evaluates in a paused frame to name the running task. */
export const TASK_HOOK = 'loopwise.monitor.task.1';

/** @internal What `loopwise doctor`'s preload adds to the public options. */
export interface DoctorHooks {
  /** The NDJSON file the watchdog appends samples and blocks to. */
  reportFile: string;
  /** One timeline sample every this many ms. */
  timelineMs: number;
}

function installTaskHook(): void {
  const g = globalThis as Record<symbol, unknown>;
  const key = Symbol.for(TASK_HOOK);
  if (g[key] === undefined) {
    Object.defineProperty(g, key, { value: () => currentTask()?.name, enumerable: false, configurable: true });
  }
}

function stats(h: RecordableHistogram): DelayStats {
  if (h.count === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    mean: h.mean / NS_PER_MS,
    p50: h.percentile(50) / NS_PER_MS,
    p90: h.percentile(90) / NS_PER_MS,
    p99: h.percentile(99) / NS_PER_MS,
    max: h.max / NS_PER_MS,
  };
}

function checkMonitorOptions(opts: MonitorOptions): Required<Omit<MonitorOptions, 'onBlock'>> & Pick<MonitorOptions, 'onBlock'> {
  checkOptions(opts, 'opts');
  const { blockThresholdMs = 100, captureStacks = true, onBlock, maxSamples = 10, maxBlocks = 100, gc = false } = opts;
  checkMs(blockThresholdMs, 'opts.blockThresholdMs');
  if (blockThresholdMs < 10) throw rangeError(`opts.blockThresholdMs must be >= 10, got ${show(blockThresholdMs)}`);
  if (typeof captureStacks !== 'boolean') throw typeError(`opts.captureStacks must be a boolean, got ${show(captureStacks)}`);
  if (typeof gc !== 'boolean') throw typeError(`opts.gc must be a boolean, got ${show(gc)}`);
  if (onBlock !== undefined) checkFunction(onBlock, 'opts.onBlock');
  checkCount(maxSamples, 'opts.maxSamples', 1);
  if (maxSamples > 100) throw rangeError(`opts.maxSamples must be <= 100, got ${show(maxSamples)}`);
  checkCount(maxBlocks, 'opts.maxBlocks', 0);
  return { blockThresholdMs, captureStacks, onBlock, maxSamples, maxBlocks, gc };
}

/**
 * Starts monitoring the event loop of the calling thread (normally the main thread).
 *
 * @throws TypeError / RangeError (LOOPWISE_INVALID_ARG_TYPE / _VALUE) for bad options.
 * @example
 * const monitor = monitorLoop({ blockThresholdMs: 100, onBlock: (b) => log.warn(b) });
 * // ... later
 * const { delay, utilization, blocks } = monitor.snapshot();
 * monitor.stop();
 */
export function monitorLoop(opts: MonitorOptions = {}): LoopMonitor {
  return startMonitor(opts, null);
}

/** @internal monitorLoop with the doctor's hooks. */
export function startMonitor(opts: MonitorOptions, doctor: DoctorHooks | null): LoopMonitor {
  const o = checkMonitorOptions(opts);
  installTaskHook();
  const thresholdMs = o.blockThresholdMs;
  const intervalMs = Math.min(50, Math.max(10, thresholdMs / 4));
  const intervalNs = BigInt(Math.round(intervalMs * NS_PER_MS));
  const sab = new SharedArrayBuffer(SLOTS * 8);
  const hb = new BigInt64Array(sab);
  // One pair of readings ties the hrtime clock (shared with the watchdog and
  // with V8's CPU profiles) to epoch ms.
  const hr0 = process.hrtime.bigint();
  const epoch0 = performance.timeOrigin + performance.now();
  const toEpoch = (ns: bigint): number => epoch0 + Number(ns - hr0) / NS_PER_MS;

  const total = createHistogram();
  const slice = doctor === null ? null : createHistogram();
  // The histograms of open windows (metrics exporters), one per reader.
  const windows = new Set<RecordableHistogram>();
  let last = hr0;
  const thresholdNs = BigInt(Math.round(thresholdMs * NS_PER_MS));
  const beat = (): void => {
    const t = process.hrtime.bigint();
    if (stopped) {
      // Still beating until the watchdog has exited (see its finish()), reporting nothing.
      Atomics.store(hb, BEAT, t);
      return;
    }
    const late = t - last - intervalNs;
    if (late >= thresholdNs && claim(hb, last)) missed(last, t);
    last = t;
    const v = late > 0n ? Number(late) : 1;
    total.record(v);
    slice?.record(v);
    for (const w of windows) w.record(v);
    Atomics.store(hb, BEAT, t);
    Atomics.store(hb, INSPECTOR, inspectorUrl() === undefined ? 0n : 1n);
    Atomics.store(hb, STARTED, 1n);
  };
  Atomics.store(hb, BEAT, hr0);
  Atomics.store(hb, INSPECTOR, inspectorUrl() === undefined ? 0n : 1n);
  const heart = setInterval(beat, intervalMs);
  heart.unref();

  let since = epoch0;
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let blocks: BlockEvent[] = [];
  // One set of counters, never reset; snapshot() and the doctor's timeline
  // report the difference from a copy taken when their window began.
  const lifetime: LoopTotals = {
    blockCount: 0,
    blockedMs: 0,
    gc: o.gc ? { count: 0, totalMs: 0 } : null,
    debuggerPauses: 0,
    starved: { count: 0, totalMs: 0 },
    since: epoch0,
  };
  const copyTotals = (): LoopTotals => ({ ...lifetime, gc: lifetime.gc === null ? null : { ...lifetime.gc }, starved: { ...lifetime.starved } });
  let atReset = copyTotals();
  // Opt-in (see MonitorOptions.gc): a GC observer changes how V8 scavenges.
  const gcTotals = lifetime.gc;
  let gcObserver: PerformanceObserver | null = null;
  if (gcTotals !== null) {
    gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gcTotals.count++;
        gcTotals.totalMs += e.duration;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
  }

  const config: WatchdogConfig = {
    sab,
    thresholdMs,
    intervalMs,
    captureStacks: o.captureStacks,
    maxSamples: o.maxSamples,
    reportFile: doctor?.reportFile ?? null,
    taskHook: TASK_HOOK,
  };
  // execArgv: [] and an empty NODE_OPTIONS: the watchdog must not load the
  // preload (or a user's --inspect) again.
  const worker = new Worker(new URL('./watchdog/watchdog.js', import.meta.url), {
    workerData: config,
    execArgv: [],
    env: { ...process.env, NODE_OPTIONS: '' },
    stdout: false,
    stderr: false,
    name: 'loopwise-watchdog',
  });
  const post = (msg: ToWatchdog): void => worker.postMessage(msg);

  let stopped = false;
  let readyResolve!: () => void;
  const ready = new Promise<void>((resolve) => (readyResolve = resolve));
  const onMessage = (msg: FromWatchdog): void => {
    if (msg.type === 'ready') {
      if (!stopped) worker.unref();
      readyResolve();
      return;
    }
    if (msg.type === 'debugger-pause') {
      lifetime.debuggerPauses++;
      return;
    }
    if (msg.type === 'starved') {
      lifetime.starved.count++;
      lifetime.starved.totalMs += msg.durationMs;
      return;
    }
    if (msg.type !== 'block') return;
    const b = toBlockEvent(msg.block, toEpoch);
    lifetime.blockCount++;
    lifetime.blockedMs += b.durationMs;
    if (o.maxBlocks > 0) {
      if (blocks.length >= o.maxBlocks) blocks.shift();
      blocks.push(b);
    }
    if (configure().debug) warnBlock(b);
    o.onBlock?.(b);
  };
  // A block nobody watched: report it without a stack (the doctor still
  // attributes it from its CPU profile).
  const missed = (from: bigint, to: bigint): void => {
    if (inspectorUrl() !== undefined || Atomics.load(hb, INSPECTOR) === 1n) {
      lifetime.debuggerPauses++; // a debugger's pause or breakpoint, never a block
      return;
    }
    const startNs = from + intervalNs / 2n;
    // Starved, or blocked? Against the watchdog's last reading of this
    // thread's scheduler counters, however old (a starved watchdog reads
    // seldom): the time before the stall, when the loop ran normally, only
    // makes "starved" less likely (more CPU, no wait).
    const at = Atomics.load(hb, SCHED_AT);
    const then: SchedReading = { at, cpu: Number(Atomics.load(hb, SCHED_CPU)), wait: Number(Atomics.load(hb, SCHED_WAIT)) };
    const now = at !== 0n && at <= to ? ownSched() : null;
    if (now !== null && isStarved(then, now, (thresholdMs * NS_PER_MS) / 2)) {
      const durationMs = Number(to - startNs) / NS_PER_MS;
      const msg: FromWatchdog = { type: 'starved', startNs: String(startNs), durationMs, cpuMs: (now.cpu - then.cpu) / NS_PER_MS, waitMs: (now.wait - then.wait) / NS_PER_MS };
      post({ type: 'record', line: JSON.stringify(msg) });
      onMessage(msg);
      return;
    }
    const block: WireBlock = {
      startNs: String(startNs),
      endNs: String(to),
      durationMs: Number(to - startNs) / NS_PER_MS,
      startup: Atomics.load(hb, STARTED) === 0n,
      stack: [],
      samples: 0,
      topFrames: [],
      afterNativeCall: false,
      captureMs: 0,
      skipped: 'missed',
    };
    post({ type: 'record', line: JSON.stringify({ type: 'block', ...block }) });
    onMessage({ type: 'block', block });
  };
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  worker.on('message', onMessage);
  worker.on('error', (e) => {
    // The watchdog failing must not take the program down: metrics go on without stacks.
    process.emitWarning(`loopwise monitor: the watchdog failed: ${e.message}`, { code: 'LOOPWISE_MONITOR_FAILED', type: 'LoopwiseWarning' });
  });
  worker.once('exit', () => {
    clearInterval(heart);
    worker.off('message', onMessage);
    readyResolve();
    closedResolve();
  });
  // The thread stays ref'd until it is ready (a few ms), then is unref'd:
  // after the listeners, as adding a 'message' listener re-refs a worker.

  let timeline: NodeJS.Timeout | undefined;
  if (doctor !== null) {
    let sliceElu = performance.eventLoopUtilization();
    let sliceGc = gcTotals === null ? null : { ...gcTotals };
    const sample = (): void => {
      const now = process.hrtime.bigint();
      const u = performance.eventLoopUtilization(sliceElu);
      sliceElu = performance.eventLoopUtilization();
      const mem = process.memoryUsage();
      const record = {
        type: 'sample',
        hr: String(now),
        delay: stats(slice!),
        utilization: u.utilization,
        heapUsedMB: mem.heapUsed / 1048576,
        rssMB: mem.rss / 1048576,
        // (Without gc: true the doctor takes GC time from its CPU profile.)
        ...(gcTotals === null || sliceGc === null ? {} : { gcMs: gcTotals.totalMs - sliceGc.totalMs, gcCount: gcTotals.count - sliceGc.count }),
        tasks: allTasks().length,
        pending: pendingResources(),
      };
      slice!.reset();
      sliceGc = gcTotals === null ? null : { ...gcTotals };
      post({ type: 'record', line: JSON.stringify(record) });
    };
    timeline = setInterval(sample, doctor.timelineMs);
    timeline.unref();
  }

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    drainInspector(hb);
    if (timeline !== undefined) clearInterval(timeline);
    gcObserver?.disconnect();
    post({ type: 'stop' });
    // Held only until the watchdog has closed its file and exited (at once,
    // or when a capture in progress ends), so awaiting `closed` works.
    worker.ref();
  };

  return {
    snapshot(): LoopSnapshot {
      return {
        delay: stats(total),
        utilization: performance.eventLoopUtilization(elu).utilization,
        blocks: blocks.slice(),
        blockCount: lifetime.blockCount - atReset.blockCount,
        blockedMs: lifetime.blockedMs - atReset.blockedMs,
        gc: gcTotals === null || atReset.gc === null ? null : { count: gcTotals.count - atReset.gc.count, totalMs: gcTotals.totalMs - atReset.gc.totalMs },
        debuggerPauses: lifetime.debuggerPauses - atReset.debuggerPauses,
        starved: { count: lifetime.starved.count - atReset.starved.count, totalMs: lifetime.starved.totalMs - atReset.starved.totalMs },
        since,
      };
    },
    reset(): void {
      total.reset();
      elu = performance.eventLoopUtilization();
      since = performance.timeOrigin + performance.now();
      blocks = [];
      atReset = copyTotals();
    },
    totals(): LoopTotals {
      return copyTotals();
    },
    openWindow(): LoopWindow {
      const h = createHistogram();
      windows.add(h);
      let wElu = performance.eventLoopUtilization();
      let wSince = performance.timeOrigin + performance.now();
      return {
        take() {
          const out = { delay: stats(h), utilization: performance.eventLoopUtilization(wElu).utilization, since: wSince };
          h.reset();
          wElu = performance.eventLoopUtilization();
          wSince = performance.timeOrigin + performance.now();
          return out;
        },
        close() {
          windows.delete(h);
        },
      };
    },
    stop,
    [Symbol.dispose]: stop,
    ready,
    closed,
  };
}

/** This thread's scheduler counters (Linux), or null. */
function ownSched(): SchedReading | null {
  try {
    return parseSchedstat(readFileSync('/proc/thread-self/schedstat', 'latin1'), process.hrtime.bigint());
  } catch {
    return null;
  }
}

// Handles that are there whether or not the program waits on I/O.
const IDLE_RESOURCES = new Set(['Timeout', 'Immediate', 'TTYWrap', 'TCPServerWrap', 'PipeServerWrap', 'MessagePort', 'PipeWrap', 'SignalWrap', 'FSEventWrap', 'StatWatcher', 'ProcessWrap']);

/** In-flight I/O: sockets, fs and DNS requests (what an io-bound program waits on). */
function pendingResources(): number {
  let n = 0;
  for (const r of process.getActiveResourcesInfo()) if (!IDLE_RESOURCES.has(r)) n++;
  return n;
}

/**
 * Right after the watchdog disconnected from this thread's inspector, this
 * thread still has to tear the session down (from an interrupt) and post
 * back to the watchdog's inspector; if the process exits first and the
 * watchdog is gone by then, Node aborts the process (seen on Node 20). Only
 * then (a disconnect in the last second): run JS for a few ms, so the
 * interrupt is serviced while the watchdog still runs.
 */
function drainInspector(hb: BigInt64Array): void {
  const at = Atomics.load(hb, DISCONNECTED);
  if (at === 0n || process.hrtime.bigint() - at > 1_000_000_000n) return;
  const end = performance.now() + 10;
  while (performance.now() < end);
}

function toBlockEvent(w: WireBlock, toEpoch: (ns: bigint) => number): BlockEvent {
  const b: BlockEvent = {
    durationMs: w.durationMs,
    startedAt: toEpoch(BigInt(w.startNs)),
    phase: w.startup ? 'startup' : 'running',
    stack: w.stack,
    samples: w.samples,
    topFrames: w.topFrames,
    afterNativeCall: w.afterNativeCall,
    captureMs: w.captureMs,
  };
  if (w.task !== undefined) b.task = w.task;
  if (w.pauseLatencyMs !== undefined) b.pauseLatencyMs = w.pauseLatencyMs;
  if (w.skipped !== undefined && w.skipped !== 'debugger') b.skipped = w.skipped;
  return b;
}

/** One line naming the block's code: `fn (file:line)`, the first frame that is not Node's own. */
export function describeBlock(b: BlockEvent): string {
  const f = b.stack.find((s) => s.url !== '' && !s.url.startsWith('node:')) ?? b.stack[0];
  const where = f === undefined ? 'no stack taken' : `${f.functionName} (${f.url}:${f.line}:${f.column})`;
  const task = b.task === undefined ? '' : ` in task "${b.task}"`;
  const native = b.afterNativeCall ? ', stack taken after a native call returned' : '';
  return `the event loop was blocked for ${Math.round(b.durationMs)} ms${task} at ${where}${native}`;
}

/** @internal A block's stack as `    at fn (url:line:col)` lines, innermost first. */
export function formatStack(b: BlockEvent, max = Infinity): string {
  return b.stack
    .slice(0, max)
    .map((f) => `    at ${f.functionName} (${f.url}:${f.line}:${f.column})`)
    .join('\n');
}

function warnBlock(b: BlockEvent): void {
  process.emitWarning(describeBlock(b), { code: 'LOOPWISE_LOOP_BLOCKED', type: 'LoopwiseWarning', detail: formatStack(b) });
}
