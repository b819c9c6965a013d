/**
 * The program every pool worker thread runs: import the user's module, say
 * which functions it exports, then run jobs as they arrive on the port and
 * post back each result or error. Jobs run inside an AsyncLocalStorage
 * context so `jobSignal()` finds its job even after an await (pipelined
 * async jobs interleave).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JobAbortedError, JobContext, workerRecord } from './job-context.js';
import { ABORT, CANCEL, CELLS, FAILURE, JOB, LOAD_FAILED, makeCloneable, READY, RESULT, serializeError, STARTED, type ToWorker, type WorkerConfig } from './protocol.js';

const config = workerData as WorkerConfig;
const port = parentPort!;
const control = config.control;
const running = new Map<number, JobContext>();
const als = workerRecord.als;

function fail(id: number, e: unknown): void {
  running.delete(id);
  const s = serializeError(e);
  try {
    port.postMessage([FAILURE, id, s]);
  } catch {
    port.postMessage([FAILURE, id, makeCloneable(s)]);
  }
}

function succeed(id: number, value: unknown): void {
  running.delete(id);
  try {
    port.postMessage([RESULT, id, value]);
  } catch (e) {
    // The result cannot be cloned (a function, a class instance with private state...).
    fail(id, e);
  }
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

if (mod !== undefined) {
  const exports = mod;
  port.on('message', (msg: ToWorker) => {
    if (msg[0] === CANCEL) {
      running.get(msg[1])?.abort();
      return;
    }
    if (msg[0] !== JOB) return;
    const [, id, name, args, slot] = msg;
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
        (v) => succeed(id, v),
        (e) => fail(id, e),
      );
    } else {
      succeed(id, r);
    }
  });
  port.postMessage([READY, Object.keys(exports).filter((k) => typeof exports[k] === 'function')]);
}
