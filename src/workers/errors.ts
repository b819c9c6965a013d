/**
 * Errors of `loopwise/workers`. Match them by `code`.
 */

/** The worker running a job died: `process.exit`, an uncaught error, out of memory, or terminated. */
export class WorkerCrashedError extends Error {
  override readonly name = 'WorkerCrashedError';
  readonly code = 'LOOPWISE_WORKER_CRASHED';
  constructor(
    /** The worker's exit code. */
    readonly exitCode: number,
    /** Why it died, in words. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`the worker running this job died (exit code ${exitCode}): ${reason}`, options);
  }
}

/** `run` while the pool's queue already holds `maxQueue` jobs. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  readonly code = 'LOOPWISE_QUEUE_FULL';
  constructor(readonly maxQueue: number) {
    super(`the pool's queue is full (maxQueue ${maxQueue}); retry later or raise maxQueue`);
  }
}

/** `run` after `close()`, or a job dropped/ended by `close({ force: true })`. */
export class PoolClosedError extends Error {
  override readonly name = 'PoolClosedError';
  readonly code = 'LOOPWISE_POOL_CLOSED';
  constructor(detail: string) {
    super(`the worker pool is closed: ${detail}`);
  }
}

/** The worker module could not be loaded (missing file, syntax error, a throw at import time). */
export class WorkerLoadError extends Error {
  override readonly name = 'WorkerLoadError';
  readonly code = 'LOOPWISE_WORKER_LOAD_FAILED';
  constructor(
    /** The module's URL. */
    readonly module: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`cannot load worker module ${module}: ${detail}`, options);
  }
}
