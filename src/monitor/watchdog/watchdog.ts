/**
 * The watchdog: a worker thread that watches the main thread's heartbeat in
 * shared memory and, when it goes stale for longer than the threshold, takes
 * the main thread's JS stack *while the loop is still blocked*: it connects
 * to the main thread's inspector, enables the Debugger, pauses, reads the
 * call frames (and the running loopwise task, evaluated in the paused frame),
 * resumes, and repeats at most once per threshold interval until the block
 * ends. Then it disables the Debugger and disconnects.
 *
 * Why this design, and what was rejected (see docs/monitor.md):
 * - A timer or async_hooks on the main thread can only report a block after
 *   it ended, and then the blocking code is gone from the stack.
 * - The Debugger domain is never left on: it made promise-heavy code 4.6–6.3×
 *   slower. It is enabled only during a block, and its cost (it runs on the
 *   blocked thread, ~50 ms at 110 scripts) is measured and kept out of the
 *   reported duration.
 * - Pausing deoptimises the hot code; sampling every 20 ms turned 300 ms
 *   bcrypt blocks into 3–7 s. So never more than one pause per threshold.
 * - A debugger of the user's (inspector open, or a pause we did not ask for)
 *   is never resumed by us: the capture is skipped and the episode reported
 *   as a debugger pause, not as a block.
 * - A machine that starves the process (the main thread runnable but not
 *   given a CPU: Linux schedstat says so) stalls the loop with no code to
 *   blame: such a stall is not paused (the stack would be whatever ran last,
 *   and Debugger.enable would cost the starved thread more) and is reported
 *   as `starved`, not as a block — unless the thread gets a CPU and still
 *   does not turn the loop, which is a block, then captured.
 *
 * This file runs in the worker only and imports nothing of the main thread's.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';
import {
  BEAT,
  claim,
  DISCONNECTED,
  INSPECTOR,
  isModuleLoading,
  isStarved,
  isStarvedNow,
  parseSchedstat,
  parseStatState,
  SCHED_AT,
  SCHED_CPU,
  SCHED_WAIT,
  STARTED,
  type FromWatchdog,
  type SchedReading,
  type ToWatchdog,
  type WatchdogConfig,
  type WireBlock,
  type WireFrame,
} from './layout.js';

const cfg = workerData as WatchdogConfig;
const hb = new BigInt64Array(cfg.sab);
const port = parentPort!;
const NS_PER_MS = 1_000_000;
const intervalNs = BigInt(Math.round(cfg.intervalMs * NS_PER_MS));
const thresholdNs = BigInt(Math.round(cfg.thresholdMs * NS_PER_MS));
// A stall in which the main thread ran this long on a CPU is a block, starved or not.
const MAX_STARVED_CPU_NS = (cfg.thresholdMs * NS_PER_MS) / 2;
// A first pause (or a no-op round trip) slower than this means the main
// thread was inside a native call that V8 cannot interrupt.
const NATIVE_LATENCY_MS = Math.max(50, cfg.thresholdMs / 2);
const PAUSE_TIMEOUT_MS = 2_000;

let fd: number | null = cfg.reportFile === null ? null : openSync(cfg.reportFile, 'a', 0o600);
let stopping = false;
let busy = false;
/** The heartbeat when we last disconnected from the main thread, or null. */
let disconnectedAt: bigint | null = null;
let timer: NodeJS.Timeout | undefined;

// The main thread's scheduler counters (its tid is the pid), read through
// one open descriptor (~4 µs a read); null where /proc has no schedstat.
let schedFd: number | null = null;
let statFd: number | null = null;
try {
  schedFd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  statFd = openSync(`/proc/self/task/${process.pid}/stat`, 'r');
} catch {
  if (schedFd !== null) closeSync(schedFd);
  schedFd = statFd = null;
}
const schedBuf = Buffer.alloc(128);
const statBuf = Buffer.alloc(1024);
function readState(): string | null {
  if (statFd === null) return null;
  try {
    return parseStatState(statBuf.toString('latin1', 0, readSync(statFd, statBuf, 0, statBuf.length, 0)));
  } catch {
    return null;
  }
}
function readSched(): SchedReading | null {
  if (schedFd === null) return null;
  try {
    const n = readSync(schedFd, schedBuf, 0, schedBuf.length, 0);
    return parseSchedstat(schedBuf.toString('latin1', 0, n), process.hrtime.bigint());
  } catch {
    return null;
  }
}
/** The reading at the last arm(): taken while the current beat was fresh. */
let lastSched: SchedReading | null = null;

function nowNs(): bigint {
  return process.hrtime.bigint();
}

function msSince(t: bigint): number {
  return Number(nowNs() - t) / NS_PER_MS;
}

function write(record: object): void {
  if (fd === null) return;
  try {
    writeSync(fd, JSON.stringify(record) + '\n');
  } catch {
    // A full disk or a removed folder must not take the watchdog down.
  }
}

function send(msg: FromWatchdog): void {
  port.postMessage(msg);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the heartbeat moves on from `beat`, or `ms` passed, or we stop. */
async function waitBeat(beat: bigint, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Atomics.load(hb, BEAT) === beat && !stopping) {
    const left = end - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(left, cfg.intervalMs));
  }
}

function arm(): void {
  if (stopping) return;
  const beat = Atomics.load(hb, BEAT);
  lastSched = readSched();
  if (lastSched !== null) {
    // For the main thread's own check of a block nobody watched (time last).
    Atomics.store(hb, SCHED_CPU, BigInt(lastSched.cpu));
    Atomics.store(hb, SCHED_WAIT, BigInt(lastSched.wait));
    Atomics.store(hb, SCHED_AT, lastSched.at);
  }
  // Wake when no beat came for `threshold`: the loop is blocked now, and the
  // stack is taken while it still is. (A stall that ends just under the
  // threshold may be sampled too; it is dropped below, not reported.)
  const dueMs = Number(beat + thresholdNs - nowNs()) / NS_PER_MS;
  timer = setTimeout(check, Math.max(1, Math.ceil(dueMs)), beat);
}

function check(beat: bigint): void {
  timer = undefined;
  if (stopping) return;
  if (Atomics.load(hb, BEAT) !== beat || !claim(hb, beat)) return arm();
  busy = true;
  onStale(beat)
    .catch((e: unknown) => write({ type: 'watchdog-error', message: String((e as Error)?.stack ?? e) }))
    .finally(() => {
      busy = false;
      if (stopping) void finish();
      else arm();
    });
}

interface Sample {
  task: string | undefined;
  frames: WireFrame[];
}

interface Capture {
  samples: Sample[];
  captureMs: number;
  pauseLatencyMs?: number;
  afterNativeCall: boolean;
  foreignPause: boolean;
  error?: string;
}

async function onStale(beat: bigint): Promise<void> {
  const detectedLateMs = Math.max(0, Number(nowNs() - beat - intervalNs) / NS_PER_MS);
  const startup = Atomics.load(hb, STARTED) === 0n;
  const debuggerOpen = Atomics.load(hb, INSPECTOR) === 1n;
  // The block began after the last beat and before the next was due: take the midpoint.
  const startNs = beat + intervalNs / 2n;
  write({ type: 'block-start', startNs: String(startNs), startup });
  const from = lastSched;
  let capture: Capture | null = null;
  let skipped: WireBlock['skipped'];
  if (debuggerOpen) skipped = 'debugger';
  else {
    // Never pause a thread the machine is starving; wait until it runs (then
    // it blocks for real and is captured) or the stall ends.
    if (from !== null) await whileStarved(beat, from);
    if (!cfg.captureStacks) skipped = 'disabled';
    else if (Atomics.load(hb, BEAT) === beat && !stopping) capture = await sample(beat, startNs);
    else skipped = 'too-short';
  }
  while (Atomics.load(hb, BEAT) === beat && !stopping) await sleep(cfg.intervalMs);
  let endNs = Atomics.load(hb, BEAT);
  if (endNs === beat) endNs = nowNs(); // still blocked when we were told to stop
  const captureMs = capture?.captureMs ?? 0;
  const durationMs = Math.max(detectedLateMs, Number(endNs - startNs) / NS_PER_MS - captureMs);
  if (durationMs < cfg.thresholdMs && !stopping) {
    write({ type: 'block-dropped', startNs: String(startNs), durationMs });
    return;
  }
  const to = capture === null && !debuggerOpen && from !== null ? readSched() : null;
  if (to !== null && isStarved(from!, to, MAX_STARVED_CPU_NS)) {
    const msg: FromWatchdog = {
      type: 'starved',
      startNs: String(startNs),
      durationMs,
      cpuMs: (to.cpu - from!.cpu) / NS_PER_MS,
      waitMs: (to.wait - from!.wait) / NS_PER_MS,
    };
    write(msg);
    send(msg);
    return;
  }
  if (debuggerOpen || capture?.foreignPause) {
    const msg: FromWatchdog = { type: 'debugger-pause', startNs: String(startNs), durationMs };
    write(msg);
    send(msg);
    return;
  }
  const samples = capture?.samples ?? [];
  if (capture !== null && samples.length === 0) skipped = capture.error === undefined ? 'too-short' : 'failed';
  const block: WireBlock = {
    startNs: String(startNs),
    endNs: String(endNs),
    durationMs,
    startup,
    stack: [],
    samples: samples.length,
    topFrames: [],
    afterNativeCall: capture?.afterNativeCall ?? false,
    captureMs,
  };
  if (capture?.pauseLatencyMs !== undefined) block.pauseLatencyMs = capture.pauseLatencyMs;
  if (skipped !== undefined) block.skipped = skipped;
  if (capture?.error !== undefined) block.error = capture.error;
  summarize(samples, block);
  if (isModuleLoading(block.stack)) block.startup = true;
  write({ type: 'block', ...block });
  send({ type: 'block', block });
}

/** Returns once the main thread is no longer starved (since `from`), or the stall ended. */
async function whileStarved(beat: bigint, from: SchedReading): Promise<void> {
  for (;;) {
    const now = readSched();
    if (now === null || !isStarvedNow(from, now, readState(), MAX_STARVED_CPU_NS)) return;
    if (Atomics.load(hb, BEAT) !== beat || stopping) return;
    await sleep(Math.min(10, cfg.intervalMs));
  }
}

function frameKey(f: WireFrame): string {
  return `${f.functionName}\0${f.url}\0${f.line}`;
}

/** The stack of the block is the sample whose top frame was seen most; ties go to the earliest. */
function summarize(samples: Sample[], block: WireBlock): void {
  if (samples.length === 0) return;
  const counts = new Map<string, { frame: WireFrame; count: number; first: number }>();
  const tasks = new Map<string, number>();
  samples.forEach((s, i) => {
    const top = s.frames[0];
    if (top !== undefined) {
      const k = frameKey(top);
      const c = counts.get(k);
      if (c === undefined) counts.set(k, { frame: top, count: 1, first: i });
      else c.count++;
    }
    if (s.task !== undefined) tasks.set(s.task, (tasks.get(s.task) ?? 0) + 1);
  });
  const ranked = [...counts.values()].sort((a, b) => b.count - a.count || a.first - b.first);
  block.topFrames = ranked.slice(0, 5).map((r) => ({ ...r.frame, count: r.count }));
  const best = ranked[0];
  block.stack = best === undefined ? samples[0]!.frames : samples[best.first]!.frames;
  let task: string | undefined;
  let most = 0;
  for (const [name, n] of tasks) if (n > most) [task, most] = [name, n];
  if (task !== undefined) block.task = task;
}

type Params = Record<string, unknown>;
type PausedParams = {
  reason: string;
  hitBreakpoints?: string[];
  callFrames: { callFrameId: string; functionName: string; url?: string; location: { scriptId: string; lineNumber: number; columnNumber?: number } }[];
};

async function sample(beat: bigint, startNs: bigint): Promise<Capture> {
  const out: Capture = { samples: [], captureMs: 0, afterNativeCall: false, foreignPause: false };
  const session = new Session();
  const scripts = new Map<string, string>();
  let waiter: ((p: PausedParams | null) => void) | null = null;
  session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => {
    scripts.set(m.params.scriptId, m.params.url);
  });
  session.on('Debugger.paused', (m: { params: PausedParams }) => {
    const p = m.params;
    if (waiter !== null && p.reason === 'other' && !(p.hitBreakpoints?.length)) {
      const w = waiter;
      waiter = null;
      w(p);
    } else {
      // Not ours (a breakpoint or a `debugger` statement): never resume it.
      out.foreignPause = true;
    }
  });
  const post = <R>(method: string, params?: Params): Promise<R> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as R))));
  let enabled = false;
  try {
    session.connectToMainThread();
    // Sent together, so the main thread takes all three in one interrupt: a
    // no-op round trip whose latency tells how long the thread took to
    // service it (long means it was inside a native call), the enable, and
    // the first pause, which then lands at the very next JS instruction
    // (inside the wrapper of a native call that just returned, not after it).
    const t0 = nowNs();
    let first = true;
    const probe = post('Runtime.getIsolateId').then(
      () => msSince(t0),
      () => msSince(t0),
    );
    const enable = post('Debugger.enable');
    while (!out.foreignPause && !stopping && out.samples.length < cfg.maxSamples) {
      const tp = nowNs();
      let giveUp: NodeJS.Timeout | undefined;
      const paused = new Promise<PausedParams | null>((resolve) => {
        waiter = resolve;
        giveUp = setTimeout(() => {
          waiter = null;
          resolve(null);
        }, PAUSE_TIMEOUT_MS);
      });
      const pausing = post('Debugger.pause');
      if (first) {
        first = false;
        const probeMs = await probe;
        if (probeMs > NATIVE_LATENCY_MS) out.afterNativeCall = true;
        const te = nowNs();
        await enable;
        enabled = true;
        // The enable ran on the blocked thread after the probe answered.
        out.captureMs += Math.max(0, msSince(te));
        if (out.foreignPause) break;
      }
      await pausing;
      const ev = await paused;
      clearTimeout(giveUp);
      if (ev === null) break;
      const held = nowNs();
      const latencyMs = Number(held - tp) / NS_PER_MS;
      if (out.pauseLatencyMs === undefined) {
        // (It includes the enable; the probe alone decides afterNativeCall.)
        out.pauseLatencyMs = latencyMs;
      }
      // The evaluate and the resume are sent together: the paused thread
      // answers both in one go, so it does not wait on this thread being
      // scheduled twice (on a busy machine, each wait can take 100 ms).
      // The task hook is a global: any frame can call it, but an evaluation
      // in some of Node's own frames fails (seen on Node 24 in the lazy
      // `get performance` accessor), so use the innermost frame of the
      // program's own code when there is one.
      const own = ev.callFrames.find((f) => {
        const url = f.url || scripts.get(f.location.scriptId) || '';
        return url !== '' && !url.startsWith('node:');
      });
      const top = own ?? ev.callFrames[0];
      const naming =
        top === undefined
          ? Promise.resolve(undefined)
          : post<{ result?: { value?: unknown } }>('Debugger.evaluateOnCallFrame', {
              callFrameId: top.callFrameId,
              expression: `globalThis[Symbol.for(${JSON.stringify(cfg.taskHook)})]?.()`,
              returnByValue: true,
              silent: true,
            }).then(
              (r) => (typeof r.result?.value === 'string' ? r.result.value : undefined),
              () => undefined, // no task name is better than a stuck pause
            );
      const resumed = post('Debugger.resume');
      const frames = ev.callFrames.map((f) => ({
        functionName: f.functionName || '(anonymous)',
        url: f.url || scripts.get(f.location.scriptId) || '',
        line: f.location.lineNumber + 1,
        column: (f.location.columnNumber ?? 0) + 1,
      }));
      const task = await naming;
      await resumed;
      out.captureMs += msSince(held);
      out.samples.push({ task, frames });
      // Written at once: if the process dies before the block ends, its stack is kept.
      write({ type: 'block-sample', startNs: String(startNs), frames, ...(task === undefined ? {} : { task }) });
      // At most one pause per threshold: each pause can deoptimise the hot code.
      await waitBeat(beat, cfg.thresholdMs);
      if (Atomics.load(hb, BEAT) !== beat) break;
    }
  } catch (e) {
    out.error = String((e as Error)?.message ?? e);
  } finally {
    waiter = null;
    if (enabled) {
      const td = nowNs();
      const stillBlocked = Atomics.load(hb, BEAT) === beat;
      await post('Debugger.disable').catch(() => undefined);
      if (stillBlocked) out.captureMs += msSince(td);
    }
    session.disconnect();
    disconnectedAt = Atomics.load(hb, BEAT);
    Atomics.store(hb, DISCONNECTED, nowNs());
  }
  return out;
}

/**
 * Exits the thread, but never right after a disconnect: the main thread
 * tears the session down later, from its own loop, and then posts back to
 * this thread's inspector; if this thread is gone by then, Node aborts the
 * process (MainThreadInterface::Post on a destroyed interface, seen on Node
 * 20). So wait until the main thread's loop has turned twice since the
 * disconnect (two heartbeats: its queued inspector work ran in between),
 * then give this thread's loop a few turns to take the answer.
 */
async function finish(): Promise<void> {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (disconnectedAt !== null) {
    const from = disconnectedAt;
    let beats = 0;
    let seen = from;
    for (let waited = 0; beats < 2 && waited < 2_000; waited += 5) {
      await sleep(5);
      const b = Atomics.load(hb, BEAT);
      if (b !== seen) {
        beats++;
        seen = b;
      }
    }
    for (let i = 0; i < 3; i++) await sleep(2);
  }
  if (fd !== null) {
    closeSync(fd);
    fd = null;
  }
  if (schedFd !== null) {
    closeSync(schedFd);
    closeSync(statFd!);
    schedFd = statFd = null;
  }
  send({ type: 'stopped' });
  port.close();
}

port.on('message', (msg: ToWatchdog) => {
  if (msg.type === 'record') {
    if (fd !== null) {
      try {
        writeSync(fd, msg.line + '\n');
      } catch {
        // see write()
      }
    }
  } else if (msg.type === 'stop') {
    stopping = true;
    if (!busy) void finish();
  }
});

arm();
send({ type: 'ready' });
