/** loopwise/worker: helpers for code running inside a WorkerPool worker. Re-exports only. */
export { jobSignal, JobAbortedError, type JobSignal } from '../workers/entry/job-context.js';
