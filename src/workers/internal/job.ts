/**
 * One call of `pool.run`: its arguments, its promise, and where it is
 * (queued, running on a worker slot, done). It carries the links of the
 * pool's queue and of its signals' watch lists (signal-watch.ts), so
 * queueing and subscribing to the caller's signals allocate nothing.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { Watch } from './signal-watch.js';

export const QUEUED = 0;
export const RUNNING = 1;
export const DONE = 2;

export class Job {
  state = QUEUED;
  slot = -1;
  /** The PoolWorker running it (typed loosely to keep this file free of it). */
  worker: unknown = null;
  /** Set once the caller cancelled: the job rejects with it when it has stopped. */
  abortReason: unknown = undefined;
  aborted = false;
  graceTimer: NodeJS.Timeout | null = null;
  readonly enqueuedAt: number;
  startedAt = 0;
  /** Links in the pool's queue. */
  qprev: Job | null = null;
  qnext: Job | null = null;
  queued = false;
  /** Links in the watch list of scopeSignal (s) and of userSignal (u). */
  sWatch: Watch | null = null;
  sPrev: Job | null = null;
  sNext: Job | null = null;
  uWatch: Watch | null = null;
  uPrev: Job | null = null;
  uNext: Job | null = null;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;

  constructor(
    readonly id: number,
    readonly fn: string,
    readonly args: unknown[],
    readonly transfer: readonly TransferListItem[] | undefined,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
    readonly scopeSignal: AbortSignal,
    readonly userSignal: AbortSignal | undefined,
    now: number,
  ) {
    this.enqueuedAt = now;
    this.resolve = resolve;
    this.reject = reject;
  }
}
