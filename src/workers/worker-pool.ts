/**
 * WorkerPool: CPU work off the main thread, as calls to the exported
 * functions of a plain module, typed from that module, cancellable.
 *
 * Design (measured in shared/research/worker-anchors.md):
 * - Dispatch is one postMessage per job and one per reply, on the worker's
 *   own port (pipelined workers batch them: see #toOutbox); no Atomics.wait
 *   idle loop (it bought no throughput, froze the worker's event loop
 *   between jobs, and a bounded variant measured no latency gain either).
 *   Main-thread work per job is one Job object and one promise; the Job
 *   joins its signals' watch lists (one abort listener per signal, not per
 *   job: signal-watch.ts), so the pool stays close to a hand-written
 *   postMessage pool.
 * - Cancellation is cooperative first: a shared-memory flag per job slot,
 *   read synchronously by `jobSignal()` inside a CPU loop, plus a CANCEL
 *   message for async jobs. A job that stops keeps its warm worker (<1 ms);
 *   one that does not stop within `cancelGraceMs` has its worker terminated
 *   and replaced. The caller's promise rejects only once the job has really
 *   stopped, so code after the `await` never races the job.
 * - A worker that dies fails only the jobs it was running; jobs it had not
 *   started yet (pipelining) go back to the head of the queue; a replacement
 *   is started; the rest of the pool runs on.
 * - `concurrentTasksPerWorker` pipelines several jobs into one worker to hide
 *   the round trip of tiny jobs (3-4x throughput). Terminating such a worker
 *   (a job ignored its cancellation) fails the other *running* jobs on it
 *   with LOOPWISE_WORKER_CRASHED; its not-yet-started ones are re-queued.
 * Rejected: Piscina's AsyncResource per task and eager histogram plumbing on
 * the hot path; terminate-only cancellation; code in eval strings.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { currentSignal } from '../index.js';
import { ABORT, CANCEL, CELLS, deserializeError, JOB, JOB_FIELDS, LOAD_FAILED, READY, REPLY, REPLY_FIELDS, STARTED, type FromWorker, type SerializedError } from './entry/protocol.js';
import { PoolClosedError, QueueFullError, WorkerCrashedError, WorkerLoadError } from './errors.js';
import { DONE, Job, QUEUED, RUNNING } from './internal/job.js';
import { SignalWatches, type WatchHost } from './internal/signal-watch.js';
import { PoolWorker } from './internal/pool-worker.js';
import { JobQueue } from './internal/job-queue.js';
import { checkCount, checkMs, checkOptions, show, typeError } from '../internal/validate.js';

export interface WorkerPoolOptions {
  /** Most worker threads (default: `os.availableParallelism()`). */
  threads?: number;
  /** Threads kept alive when idle (default: `threads`). */
  minThreads?: number;
  /** Most jobs waiting for a thread; beyond it `run` rejects with LOOPWISE_QUEUE_FULL (default: unbounded). */
  maxQueue?: number;
  /** An idle thread above `minThreads` exits after this long (default 30 000). */
  idleTimeoutMs?: number;
  /** How long a cancelled running job may take to stop before its worker is terminated (default 1000). */
  cancelGraceMs?: number;
  /** Passed to each Worker: heap limits; a worker over them dies with LOOPWISE_WORKER_CRASHED. */
  resourceLimits?: ResourceLimits;
  /** Shown in errors and stats. */
  name?: string;
  /** Jobs in flight per worker at once (default 1). Pipelining: see the module docs. */
  concurrentTasksPerWorker?: number;
}

export interface RunOptions {
  /** Transferred, not copied, to the worker (ArrayBuffers, MessagePorts). */
  transfer?: TransferListItem[];
  /** Cancels the job, in addition to the calling scope's cancellation. */
  signal?: AbortSignal;
}

/** Latency summary in ms. */
export interface Percentiles {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface PoolStats {
  threads: number;
  busy: number;
  queued: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Share of the live threads' time spent running jobs, 0..1 (event-loop utilisation). */
  utilization: number;
  /** Time jobs spent running on a thread. */
  runTime: Percentiles;
  /** Time jobs waited in the queue. */
  waitTime: Percentiles;
}

/** The typed face of a worker module: each exported function, returning a promise. */
export type PoolProxy<M> = {
  [K in keyof M as M[K] extends (...a: any[]) => any ? K : never]: M[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never;
};

function toModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module === '') throw typeError(`module must be a file path or a file: URL, got ${show(module)}`);
  if (module.startsWith('file:')) return new URL(module).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !isAbsolute(module)) {
    throw typeError(`module must be a file path or a file: URL, got ${show(module)}`);
  }
  return pathToFileURL(isAbsolute(module) ? module : resolvePath(module)).href;
}

function summary(h: RecordableHistogram): Percentiles {
  if (h.count === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return { mean: h.mean / 1000, p50: h.percentile(50) / 1000, p90: h.percentile(90) / 1000, p99: h.percentile(99) / 1000, max: h.max / 1000 };
}

/**
 * A pool of worker threads running the exported functions of one module.
 *
 * @example
 * const pool = new WorkerPool(new URL('./hash.js', import.meta.url), { threads: 2 });
 * const hash = pool.proxy<typeof import('./hash.js')>();
 * const digest = await hash.scrypt(password, salt); // typed, cancellable with the calling task
 * await pool.close();
 */
export class WorkerPool implements WatchHost, AsyncDisposable {
  readonly #moduleUrl: string;
  readonly #threads: number;
  readonly #minThreads: number;
  readonly #maxQueue: number;
  readonly #idleTimeoutMs: number;
  readonly #graceMs: number;
  readonly #limits: ResourceLimits | undefined;
  readonly #depth: number;
  readonly name: string;
  readonly #workers: PoolWorker[] = [];
  readonly #queue = new JobQueue();
  #nextId = 1;
  #active = 0;
  #closing = false;
  #forced = false;
  /** Resolved when no job is queued or running (shared by overlapping close() calls). */
  #drained: { promise: Promise<void>; resolve: () => void } | null = null;
  #loadError: WorkerLoadError | null = null;
  #exports: string[] | null = null;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  readonly #run = createHistogram();
  readonly #wait = createHistogram();
  readonly #exits = new Set<Promise<void>>();
  readonly #proxyCache = new Map<string, (...a: unknown[]) => Promise<unknown>>();
  readonly #watches = new SignalWatches(this);

  /**
   * @throws TypeError/RangeError (LOOPWISE_INVALID_ARG_*) naming a bad option
   * @throws WorkerLoadError (LOOPWISE_WORKER_LOAD_FAILED) when the module file does not exist
   */
  constructor(module: string | URL, opts: WorkerPoolOptions = {}) {
    checkOptions(opts, 'opts');
    this.#moduleUrl = toModuleUrl(module);
    const threads = opts.threads ?? Math.max(1, availableParallelism());
    checkCount(threads, 'opts.threads', 1);
    const min = opts.minThreads ?? threads;
    checkCount(min, 'opts.minThreads', 0);
    if (min > threads) throw Object.assign(new RangeError(`opts.minThreads must be <= opts.threads (${threads}), got ${min}`), { code: 'LOOPWISE_INVALID_ARG_VALUE' });
    const maxQueue = opts.maxQueue ?? Infinity;
    checkCount(maxQueue, 'opts.maxQueue', 0, true);
    const idle = opts.idleTimeoutMs ?? 30_000;
    checkMs(idle, 'opts.idleTimeoutMs', true);
    const grace = opts.cancelGraceMs ?? 1000;
    checkMs(grace, 'opts.cancelGraceMs');
    const depth = opts.concurrentTasksPerWorker ?? 1;
    checkCount(depth, 'opts.concurrentTasksPerWorker', 1);
    if (opts.resourceLimits !== undefined) checkOptions(opts.resourceLimits, 'opts.resourceLimits');
    if (opts.name !== undefined && typeof opts.name !== 'string') throw typeError(`opts.name must be a string, got ${show(opts.name)}`);
    if (this.#moduleUrl.startsWith('file:') && !existsSync(fileURLToPath(this.#moduleUrl))) {
      throw new WorkerLoadError(this.#moduleUrl, 'no such file');
    }
    this.#threads = threads;
    this.#minThreads = min;
    this.#maxQueue = maxQueue;
    this.#idleTimeoutMs = idle;
    this.#graceMs = grace;
    this.#limits = opts.resourceLimits;
    this.#depth = depth;
    this.name = opts.name ?? fileURLToPath(this.#moduleUrl).split(/[\\/]/).pop()!;
    for (let i = 0; i < min; i++) this.#spawn();
  }

  /**
   * Runs the exported function `fn` with `args` on a worker thread. A
   * checkpoint: cancelling the calling task (or `opts.signal`, or an
   * enclosing timeout) drops a queued job at once, or asks a running one to
   * stop; the promise then rejects with the scope's CancelledError (the
   * signal's reason) once the job has stopped.
   *
   * @throws QueueFullError (LOOPWISE_QUEUE_FULL), PoolClosedError (LOOPWISE_POOL_CLOSED), WorkerCrashedError (LOOPWISE_WORKER_CRASHED), WorkerLoadError (LOOPWISE_WORKER_LOAD_FAILED), the function's own error rebuilt (same class, name, message, code, props, cause, stack)
   * @example
   * const n = await pool.run<number>('countPrimes', [1e7]);
   */
  run<R = unknown>(fn: string, args: unknown[] = [], opts?: RunOptions): Promise<R> {
    if (typeof fn !== 'string' || fn === '') throw typeError(`fn must be the name of an exported function, got ${show(fn)}`);
    if (!Array.isArray(args)) throw typeError(`args must be an array, got ${show(args)}`);
    let transfer: TransferListItem[] | undefined;
    let userSignal: AbortSignal | undefined;
    if (opts !== undefined) {
      checkOptions(opts, 'opts');
      transfer = opts.transfer;
      if (transfer !== undefined && !Array.isArray(transfer)) throw typeError(`opts.transfer must be an array, got ${show(transfer)}`);
      userSignal = opts.signal;
      if (userSignal !== undefined && !(userSignal instanceof AbortSignal)) throw typeError(`opts.signal must be an AbortSignal, got ${show(userSignal)}`);
    }
    const scopeSignal = currentSignal();
    if (scopeSignal.aborted) return Promise.reject(scopeSignal.reason);
    if (userSignal?.aborted) return Promise.reject(userSignal.reason);
    if (this.#loadError !== null) return Promise.reject(this.#loadError);
    if (this.#closing) return Promise.reject(new PoolClosedError('close() was called'));
    if (this.#exports !== null && !this.#exports.includes(fn)) return Promise.reject(unknownExport(fn, this.#exports, this.#moduleUrl));
    if (this.#maxQueue !== Infinity && this.#queue.size - this.#capacity() >= this.#maxQueue) return Promise.reject(new QueueFullError(this.#maxQueue));
    // One shared executor, not a closure per job: it leaves the resolvers in `captured`.
    const promise = new Promise<R>(capture);
    const job = new Job(this.#nextId++, fn, args, transfer, captured.resolve!, captured.reject!, scopeSignal, userSignal, performance.now());
    captured.resolve = captured.reject = null;
    this.#watches.add(job);
    if (this.#active++ === 0) this.#refAll(true);
    try {
      const w = this.#idleWorker();
      if (w !== null) {
        this.#start(w, job);
        // Behind jobs already bound for this worker (FIFO), or at once.
        if (w.outbox !== null) this.#toOutbox(w, job);
        else this.#post(w, [JOB, job.id, job.fn, job.args, job.slot], job.transfer);
      } else {
        this.#queue.push(job);
        this.#grow();
      }
    } catch (e) {
      // Starting a thread failed: the job's promise carries it, as the executor would have.
      if (job.state === QUEUED) this.#queue.remove(job);
      else if (job.worker !== null) this.#release(job.worker as PoolWorker, job);
      this.#settle(job, false, e);
    }
    return promise;
  }

  /**
   * A typed object whose methods call the module's exports; no round trip.
   * @example
   * const math = pool.proxy<typeof import('./math.js')>();
   * const s = await math.add(1, 2);
   */
  proxy<M>(): PoolProxy<M> {
    return new Proxy({} as PoolProxy<M>, {
      get: (_t, key) => {
        // `then` must stay undefined, or awaiting the proxy would call a job named "then".
        if (typeof key !== 'string' || key === 'then') return undefined;
        let f = this.#proxyCache.get(key);
        if (f === undefined) {
          f = (...args: unknown[]) => this.run(key, args);
          this.#proxyCache.set(key, f);
        }
        return f;
      },
    });
  }

  /** Counters, utilisation and latency percentiles (ms). */
  stats(): PoolStats {
    let busy = 0;
    let elu = 0;
    let live = 0;
    for (const w of this.#workers) {
      // A thread being terminated (idle, replaced, closing) no longer counts.
      if (w.exited || w.retiring || w.terminateReason !== null) continue;
      live++;
      if (w.inflight > 0) busy++;
      elu += w.worker.performance.eventLoopUtilization().utilization;
    }
    return {
      threads: live,
      busy,
      queued: this.#queue.size,
      completed: this.#completed,
      failed: this.#failed,
      cancelled: this.#cancelled,
      utilization: live === 0 ? 0 : elu / live,
      runTime: summary(this.#run),
      waitTime: summary(this.#wait),
    };
  }

  /**
   * Refuses new jobs and waits for queued and running ones, then ends the
   * threads. `{ force: true }` rejects queued jobs and ends running ones now
   * (LOOPWISE_POOL_CLOSED). Resolves when every thread has exited.
   */
  async close(opts?: { force?: boolean }): Promise<void> {
    checkOptions(opts, 'opts');
    const force = opts?.force ?? false;
    if (typeof force !== 'boolean') throw typeError(`opts.force must be a boolean, got ${show(force)}`);
    this.#closing = true;
    if (force && !this.#forced) {
      this.#forced = true;
      let job: Job | undefined;
      while ((job = this.#queue.shift()) !== undefined) this.#settle(job, false, new PoolClosedError('close({ force: true }) dropped this queued job'));
    }
    if (!force && this.#active > 0) {
      if (this.#drained === null) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.#drained = { promise, resolve };
      }
      await this.#drained.promise;
    }
    for (const w of this.#workers) this.#terminate(w, force ? 'close({ force: true }) ended this running job' : 'pool closed');
    while (this.#exits.size > 0) await Promise.all(this.#exits);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  #spawn(): PoolWorker {
    const w = new PoolWorker(this.#moduleUrl, this.#depth, this.#limits);
    w.flush = () => this.#flush(w);
    this.#workers.push(w);
    if (this.#active > 0) w.setRef(true);
    const worker = w.worker;
    worker.on('message', (msg: FromWorker) => this.#onMessage(w, msg));
    worker.on('error', (e) => {
      if (w.error === undefined) w.error = e;
    });
    let exited!: () => void;
    const exit = new Promise<void>((r) => (exited = r));
    this.#exits.add(exit);
    worker.on('exit', (code) => {
      this.#onExit(w, code);
      this.#exits.delete(exit);
      exited();
    });
    return w;
  }

  #onMessage(w: PoolWorker, msg: FromWorker): void {
    switch (msg[0]) {
      case REPLY: {
        for (let i = 1; i < msg.length; i += REPLY_FIELDS) {
          const job = w.find(msg[i] as number);
          if (job === null) continue;
          this.#release(w, job);
          if (job.aborted) this.#settle(job, false, job.abortReason, true);
          else if (msg[i + 1] === 1) this.#settle(job, true, msg[i + 2]);
          else this.#settle(job, false, deserializeError(msg[i + 2] as SerializedError));
        }
        this.#pump(w);
        return;
      }
      case READY:
        w.ready = true;
        this.#exports ??= msg[1];
        this.#pump(w);
        return;
      case LOAD_FAILED: {
        const cause = deserializeError(msg[1]);
        const detail = cause instanceof Error ? cause.message : String(cause);
        this.#loadError ??= new WorkerLoadError(this.#moduleUrl, detail, { cause });
        let job: Job | undefined;
        while ((job = this.#queue.shift()) !== undefined) this.#settle(job, false, this.#loadError);
        for (const other of this.#workers) other.retiring = true;
        return;
      }
    }
  }

  #onExit(w: PoolWorker, code: number): void {
    const wasReady = w.ready;
    w.exited = true;
    w.ready = false;
    if (w.idleTimer !== null) clearTimeout(w.idleTimer);
    if (w.flushTimer !== null) clearImmediate(w.flushTimer);
    // Jobs still in the outbox never left: they are in the slots, not started, so re-queued below.
    w.outbox = null;
    w.outTransfer = null;
    w.flushTimer = null;
    const i = this.#workers.indexOf(w);
    if (i !== -1) this.#workers.splice(i, 1);
    const requeue: Job[] = [];
    for (let s = 0; s < w.slots.length; s++) {
      const job = w.slots[s];
      if (job == null) continue;
      const started = Atomics.load(w.control, s * CELLS + STARTED) === 1;
      this.#release(w, job);
      if (job.aborted) {
        this.#settle(job, false, job.abortReason, true);
      } else if (this.#forced) {
        this.#settle(job, false, new PoolClosedError(w.terminateReason ?? 'close({ force: true }) ended this running job'));
      } else if (!started && this.#loadError === null) {
        // It never began on this worker: safe to run elsewhere.
        requeue.push(job);
      } else {
        const reason = describeExit(w, code);
        this.#settle(job, false, new WorkerCrashedError(code, reason, { cause: w.error }));
      }
    }
    for (let k = requeue.length - 1; k >= 0; k--) {
      requeue[k]!.state = QUEUED;
      this.#queue.unshift(requeue[k]!);
    }
    if (this.#loadError !== null) {
      let job: Job | undefined;
      while ((job = this.#queue.shift()) !== undefined) this.#settle(job, false, this.#loadError);
      return;
    }
    if (!wasReady && w.terminateReason === null && !w.retiring && this.#loadError === null) {
      // It died while loading the module (process.exit or a crash at import time): respawning would loop.
      this.#loadError = new WorkerLoadError(this.#moduleUrl, `the worker exited (code ${code}) while loading the module`, { cause: w.error });
      let job: Job | undefined;
      while ((job = this.#queue.shift()) !== undefined) this.#settle(job, false, this.#loadError);
      return;
    }
    const wanted = this.#closing ? (this.#queue.size > 0 ? 1 : 0) : this.#minThreads;
    if (!w.retiring && this.#workers.length < wanted) this.#spawn();
    this.#grow();
    this.#pumpAll();
  }

  /**
   * Job slots that threads could take now or once started: free slots of
   * ready and starting threads, plus those of threads not yet spawned.
   * `maxQueue` bounds the jobs waiting beyond this.
   */
  #capacity(): number {
    let cap = 0;
    let live = 0;
    for (const w of this.#workers) {
      if (w.exited || w.retiring || w.terminateReason !== null) continue;
      live++;
      cap += this.#depth - w.inflight;
    }
    return cap + Math.max(0, this.#threads - live) * this.#depth;
  }

  /** A ready worker with a free slot, the least loaded. */
  #idleWorker(): PoolWorker | null {
    let best: PoolWorker | null = null;
    for (const w of this.#workers) {
      if (!w.ready || w.retiring || w.terminateReason !== null || w.inflight >= this.#depth) continue;
      if (best === null || w.inflight < best.inflight) best = w;
      if (w.inflight === 0) break;
    }
    return best;
  }

  /** Starts a thread when jobs wait and every thread is busy. */
  #grow(): void {
    if (this.#forced) return;
    if (this.#queue.size === 0 || this.#loadError !== null) return;
    let starting = 0;
    let live = 0;
    for (const w of this.#workers) {
      if (w.retiring || w.terminateReason !== null) continue;
      live++;
      if (!w.ready) starting++;
    }
    if (live < this.#threads && starting * this.#depth < this.#queue.size) this.#spawn();
  }

  /** Gives `job` a slot of `w`; the caller posts it (alone, or with others in one message). */
  #start(w: PoolWorker, job: Job): void {
    const slot = w.freeSlot();
    job.state = RUNNING;
    job.worker = w;
    job.slot = slot;
    job.startedAt = performance.now();
    this.#wait.record(Math.max(1, Math.round((job.startedAt - job.enqueuedAt) * 1000)));
    w.slots[slot] = job;
    w.inflight++;
    if (w.idleTimer !== null) {
      clearTimeout(w.idleTimer);
      w.idleTimer = null;
    }
    const base = slot * CELLS;
    Atomics.store(w.control, base + ABORT, 0);
    Atomics.store(w.control, base + STARTED, 0);
  }

  /**
   * Posts a JOB message (one or more started jobs) to `w`. When it cannot be
   * cloned, posts its jobs one by one so only the guilty job fails (the
   * worker is fine). Returns how many jobs failed.
   */
  #post(w: PoolWorker, msg: unknown[], transfer: readonly TransferListItem[] | undefined): number {
    try {
      w.worker.postMessage(msg, transfer as never);
      return 0;
    } catch (e) {
      if (msg.length === 1 + JOB_FIELDS) {
        const job = w.slots[msg[4] as number];
        if (job != null && job.id === msg[1]) {
          this.#release(w, job);
          this.#settle(job, false, e);
        }
        return 1;
      }
    }
    let failed = 0;
    for (let i = 1; i < msg.length; i += JOB_FIELDS) {
      const job = w.slots[msg[i + 3] as number];
      if (job == null || job.id !== msg[i]) continue;
      failed += this.#post(w, [JOB, job.id, job.fn, job.args, job.slot], job.transfer);
    }
    return failed;
  }

  #release(w: PoolWorker, job: Job): void {
    if (job.slot >= 0 && w.slots[job.slot] === job) {
      w.slots[job.slot] = null;
      w.inflight--;
    }
    if (job.graceTimer !== null) {
      clearTimeout(job.graceTimer);
      job.graceTimer = null;
    }
  }

  /**
   * Adds a started job to `w`'s outbox: the jobs started on a worker while
   * the pool handles its replies (all the messages of one event-loop turn)
   * go in one message, posted from setImmediate. Per message, not per byte,
   * is what a round trip costs, so this is what makes pipelining pay.
   */
  #toOutbox(w: PoolWorker, job: Job): void {
    if (w.outbox === null) {
      w.outbox = [JOB, job.id, job.fn, job.args, job.slot];
      w.flushTimer = setImmediate(w.flush);
    } else w.outbox.push(job.id, job.fn, job.args, job.slot);
    if (job.transfer !== undefined) {
      if (w.outTransfer === null) w.outTransfer = [];
      for (let i = 0; i < job.transfer.length; i++) w.outTransfer.push(job.transfer[i]!);
    }
  }

  /** Posts `w`'s outbox (setImmediate). */
  #flush(w: PoolWorker): void {
    const msg = w.outbox;
    const transfer = w.outTransfer;
    w.outbox = null;
    w.outTransfer = null;
    w.flushTimer = null;
    if (msg === null || w.exited) return;
    // A job whose arguments could not be cloned freed its slot again: fill it.
    if (this.#post(w, msg, transfer ?? undefined) > 0) this.#pump(w);
  }

  /**
   * Fills `w`'s free slots from the queue (into its outbox); arms the idle
   * timer when it has none.
   */
  #pump(w: PoolWorker): void {
    while (!w.exited && w.ready && !w.retiring && w.terminateReason === null && w.inflight < this.#depth) {
      const job = this.#queue.shift();
      if (job === undefined) break;
      this.#start(w, job);
      this.#toOutbox(w, job);
    }
    // Only a ready worker can be idle: a starting one would be retired before it ever served.
    if (w.inflight === 0 && w.ready && !w.exited && !w.retiring && w.terminateReason === null) this.#armIdle(w);
  }

  #pumpAll(): void {
    for (const w of this.#workers.slice()) this.#pump(w);
  }

  /** Workers that are not on their way out. */
  #staying(): number {
    let n = 0;
    for (const w of this.#workers) if (!w.exited && !w.retiring && w.terminateReason === null) n++;
    return n;
  }

  #armIdle(w: PoolWorker): void {
    if (this.#closing || this.#idleTimeoutMs === Infinity || w.idleTimer !== null) return;
    if (this.#staying() <= this.#minThreads) return;
    w.idleTimer = setTimeout(() => {
      w.idleTimer = null;
      if (w.inflight === 0 && !w.retiring && w.terminateReason === null && this.#staying() > this.#minThreads) {
        w.retiring = true;
        this.#terminate(w, 'idle');
      }
    }, this.#idleTimeoutMs);
    w.idleTimer.unref();
  }

  #terminate(w: PoolWorker, reason: string): void {
    if (w.exited) return;
    w.terminateReason ??= reason;
    if (this.#closing) w.retiring = true;
    void w.worker.terminate();
  }

  #settle(job: Job, ok: boolean, value: unknown, cancelled = false): void {
    if (job.state === DONE) return;
    const wasQueued = job.state === QUEUED;
    job.state = DONE;
    this.#watches.remove(job);
    if (!wasQueued && job.startedAt > 0) this.#run.record(Math.max(1, Math.round((performance.now() - job.startedAt) * 1000)));
    if (cancelled) this.#cancelled++;
    else if (ok) this.#completed++;
    else this.#failed++;
    if (ok) job.resolve(value);
    else job.reject(value);
    if (--this.#active === 0) {
      this.#refAll(false);
      if (this.#drained !== null) {
        const d = this.#drained;
        this.#drained = null;
        d.resolve();
      }
    }
  }

  #refAll(on: boolean): void {
    for (const w of this.#workers) w.setRef(on);
  }

  /** WatchHost: the caller cancelled `job`. */
  abortJob(job: Job, reason: unknown): void {
    if (job.state === DONE || job.aborted) return;
    job.aborted = true;
    job.abortReason = reason;
    if (job.state === QUEUED) {
      this.#queue.remove(job);
      this.#settle(job, false, reason, true);
      return;
    }
    const w = job.worker as PoolWorker;
    Atomics.store(w.control, job.slot * CELLS + ABORT, 1);
    w.worker.postMessage([CANCEL, job.id]);
    job.graceTimer = setTimeout(() => {
      job.graceTimer = null;
      if (job.state !== DONE) this.#terminate(w, `a cancelled job ('${job.fn}') did not stop within cancelGraceMs (${this.#graceMs} ms)`);
    }, this.#graceMs);
  }
}

const captured: { resolve: ((v: unknown) => void) | null; reject: ((e: unknown) => void) | null } = { resolve: null, reject: null };
function capture(resolve: (v: never) => void, reject: (e: unknown) => void): void {
  captured.resolve = resolve as (v: unknown) => void;
  captured.reject = reject;
}

function describeExit(w: PoolWorker, code: number): string {
  if (w.terminateReason !== null) return `terminated: ${w.terminateReason}`;
  const e = w.error as { code?: string; message?: string } | undefined;
  if (e !== undefined) {
    if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') return `out of memory under resourceLimits (${e.message ?? ''})`;
    return `uncaught error: ${e.message ?? String(e)}`;
  }
  return `the worker exited (process.exit(${code}) or equivalent)`;
}

function unknownExport(fn: string, names: string[], module: string): TypeError {
  const e = typeError(`fn '${fn}' is not an exported function of ${module}; it exports: ${names.length > 0 ? names.join(', ') : '(no functions)'}`);
  (e as unknown as { code: string }).code = 'LOOPWISE_UNKNOWN_EXPORT';
  return e;
}
