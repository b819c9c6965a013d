/** loopwise/workers: the main-thread side of worker pools. Re-exports only. */
export { WorkerPool, type WorkerPoolOptions, type RunOptions, type PoolStats, type Percentiles, type PoolProxy } from './worker-pool.js';
export { WorkerCrashedError, QueueFullError, PoolClosedError, WorkerLoadError } from './errors.js';
