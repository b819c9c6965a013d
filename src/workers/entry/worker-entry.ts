/**
 * The program every pool worker thread runs: import the user's module, say
 * which functions it exports, then run jobs as they arrive on the port and
 * post back each result or error (the replies of the jobs of one message in
 * one message). Jobs run inside an AsyncLocalStorage
 * context so `jobSignal()` finds its job even after an await (pipelined
 * async jobs interleave).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { JobAbortedError, JobContext, workerRecord } from './job-context.js';
import { ABORT, CANCEL, CELLS, JOB, JOB_FIELDS, LOAD_FAILED, makeCloneable, READY, REPLY, REPLY_FIELDS, serializeError, STARTED, type ToWorker, type WorkerConfig } from './protocol.js';

const config = workerData as WorkerConfig;
const port = parentPort!;
const control = config.control;
const running = new Map<number, JobContext>();
const als = workerRecord.als;

/**
 * Replies not posted yet: [REPLY, id, ok, value, ...]. The replies of one
 * event-loop turn (every message the port delivered in it, and async jobs
 * settling in it) go in one message, posted from setImmediate; but a job
 * that took FLUSH_MS or more, or replies pending that long, are posted
 * before the next job starts: a result must not wait behind real work.
 */
let out: unknown[] | null = null;
let firstAt = 0;
let flushTimer: NodeJS.Immediate | null = null;
const FLUSH_MS = 0.1;
/** One job at a time (no pipelining): nothing to batch, reply at once. */
const BATCH = config.slots > 1;

function push(id: number, ok: 0 | 1, value: unknown): void {
  running.delete(id);
  if (out === null) {
    out = [REPLY, id, ok, value];
    // Unknown here (an async job settling): a job run by the handler sets it.
    firstAt = -Infinity;
    if (BATCH) flushTimer ??= setImmediate(flush);
    else flush();
  } else out.push(id, ok, value);
}

function flush(): void {
  if (flushTimer !== null) {
    clearImmediate(flushTimer);
    flushTimer = null;
  }
  const o = out;
  if (o === null) return;
  out = null;
  try {
    port.postMessage(o);
  } catch {
    // Something in the batch cannot be cloned: send them one by one, so only its job fails.
    for (let i = 1; i < o.length; i += REPLY_FIELDS) sendOne(o[i] as number, o[i + 1] as 0 | 1, o[i + 2]);
  }
}

function sendOne(id: number, ok: 0 | 1, value: unknown): void {
  if (ok === 1) {
    try {
      port.postMessage([REPLY, id, 1, value]);
    } catch (e) {
      // The result cannot be cloned (a function, a class instance with private state...).
      sendOne(id, 0, serializeError(e));
    }
    return;
  }
  try {
    port.postMessage([REPLY, id, 0, value]);
  } catch {
    port.postMessage([REPLY, id, 0, makeCloneable(value as ReturnType<typeof serializeError>)]);
  }
}

function fail(id: number, e: unknown): void {
  push(id, 0, serializeError(e));
}

function call(fn: (...a: unknown[]) => unknown, args: unknown[]): unknown {
  return fn(...args);
}

let mod: Record<string, unknown> | undefined;
try {
  mod = (await import(config.moduleUrl)) as Record<string, unknown>;
} catch (e) {
  const s = serializeError(e);
  try {
    port.postMessage([LOAD_FAILED, s]);
  } catch {
    port.postMessage([LOAD_FAILED, makeCloneable(s)]);
  }
}

function runJob(exports: Record<string, unknown>, id: number, name: string, args: unknown[], slot: number): void {
  const fn = exports[name];
  if (typeof fn !== 'function') {
    const e = new TypeError(`the worker module has no exported function '${name}'`) as TypeError & { code: string };
    e.code = 'LOOPWISE_UNKNOWN_EXPORT';
    fail(id, e);
    return;
  }
  if (Atomics.load(control, slot * CELLS + ABORT) === 1) {
    // Cancelled while it sat in this worker's port (pipelining): never start it.
    fail(id, new JobAbortedError());
    return;
  }
  const ctx = new JobContext(id, slot, control);
  running.set(id, ctx);
  Atomics.store(control, slot * CELLS + STARTED, 1);
  let r: unknown;
  try {
    r = als.run(ctx, call, fn as (...a: unknown[]) => unknown, args);
  } catch (e) {
    fail(id, e);
    return;
  }
  if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
    (r as PromiseLike<unknown>).then(
      (v) => push(id, 1, v),
      (e) => fail(id, e),
    );
  } else {
    push(id, 1, r);
  }
}

if (mod !== undefined) {
  const exports = mod;
  port.on('message', (msg: ToWorker) => {
    if (msg[0] === CANCEL) {
      running.get(msg[1] as number)?.abort();
      return;
    }
    if (msg[0] !== JOB) return;
    let t = performance.now();
    for (let i = 1; i < msg.length; i += JOB_FIELDS) {
      const had = out !== null;
      runJob(exports, msg[i] as number, msg[i + 1] as string, msg[i + 2] as unknown[], msg[i + 3] as number);
      const now = performance.now();
      if (out !== null) {
        if (!had) firstAt = now;
        if (now - t >= FLUSH_MS || now - firstAt >= FLUSH_MS) flush();
      }
      t = now;
    }
  });
  port.postMessage([READY, Object.keys(exports).filter((k) => typeof exports[k] === 'function')]);
}
