/**
 * The running job's context inside a worker thread, and `jobSignal()`. The
 * worker-side record lives under a global symbol so that the entry (loaded
 * from loopwise's dist) and `loopwise/worker` (imported by the user's module,
 * possibly from another copy of the package) share it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ABORT, CELLS } from './protocol.js';

/** What a job sees of its cancellation. */
export interface JobSignal {
  /** True once the caller cancelled this job (a shared-memory read: cheap enough for every loop turn). */
  readonly aborted: boolean;
  /** Throws a JobAbortedError (code LOOPWISE_JOB_ABORTED) if the job was cancelled. */
  throwIfAborted(): void;
  /** An AbortSignal for async APIs in the worker (fetch, streams); aborted when the job is cancelled. */
  readonly signal: AbortSignal;
}

/** Thrown in the worker by `jobSignal().throwIfAborted()`. */
export class JobAbortedError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'LOOPWISE_JOB_ABORTED';
  constructor() {
    super('the job was cancelled by its caller');
  }
}

export class JobContext implements JobSignal {
  #controller: AbortController | null = null;
  constructor(
    readonly id: number,
    readonly slot: number,
    readonly control: Int32Array,
  ) {}
  get aborted(): boolean {
    return Atomics.load(this.control, this.slot * CELLS + ABORT) === 1;
  }
  throwIfAborted(): void {
    if (this.aborted) throw new JobAbortedError();
  }
  get signal(): AbortSignal {
    const c = (this.#controller ??= new AbortController());
    if (this.aborted && !c.signal.aborted) c.abort(new JobAbortedError());
    return c.signal;
  }
  /** Called when the CANCEL message arrives (the worker's loop is free again). */
  abort(): void {
    if (this.#controller !== null && !this.#controller.signal.aborted) this.#controller.abort(new JobAbortedError());
  }
}

interface WorkerRecord {
  als: AsyncLocalStorage<JobContext>;
}

const KEY = Symbol.for('loopwise.worker.1');
const g = globalThis as { [KEY]?: WorkerRecord };

export const workerRecord: WorkerRecord = (g[KEY] ??= { als: new AsyncLocalStorage<JobContext>() });

/** Outside a job (the same module called on the main thread, in a test): never aborts. */
class InertSignal implements JobSignal {
  #signal: AbortSignal | null = null;
  get aborted(): boolean {
    return false;
  }
  throwIfAborted(): void {}
  get signal(): AbortSignal {
    return (this.#signal ??= new AbortController().signal);
  }
}

const inert = new InertSignal();

/**
 * The signal of the job running this code, inside a worker module run by a
 * WorkerPool. Read `aborted` (or call `throwIfAborted()`) in long CPU loops:
 * a job that stops by itself keeps its warm worker. Outside a pool job (the
 * same function called directly, on the main thread or in a test) it returns
 * a signal that never aborts, so one module serves both.
 *
 * @example
 * import { jobSignal } from 'loopwise/worker';
 * export function sum(n: number) {
 *   const signal = jobSignal();
 *   let s = 0;
 *   for (let i = 0; i < n; i++) { if ((i & 0xffff) === 0) signal.throwIfAborted(); s += i; }
 *   return s;
 * }
 */
export function jobSignal(): JobSignal {
  return workerRecord.als.getStore() ?? inert;
}
