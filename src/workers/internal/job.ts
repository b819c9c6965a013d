/**
 * One call of `pool.run`: its arguments, its promise, and where it is
 * (queued, running on a worker slot, done). A Job is its own abort listener
 * (`handleEvent`), so subscribing to the caller's signals allocates no
 * closure.
 */
import type { TransferListItem } from 'node:worker_threads';

export const QUEUED = 0;
export const RUNNING = 1;
export const DONE = 2;

export interface JobHost {
  abortJob(job: Job, reason: unknown): void;
}

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

  constructor(
    readonly id: number,
    readonly fn: string,
    readonly args: unknown[],
    readonly transfer: readonly TransferListItem[] | undefined,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: unknown) => void,
    readonly host: JobHost,
    readonly scopeSignal: AbortSignal,
    readonly userSignal: AbortSignal | undefined,
    now: number,
  ) {
    this.enqueuedAt = now;
  }

  /** Abort listener for both signals. */
  handleEvent(ev: Event): void {
    this.host.abortJob(this, (ev.target as AbortSignal).reason);
  }

  listen(): void {
    this.scopeSignal.addEventListener('abort', this);
    this.userSignal?.addEventListener('abort', this);
  }

  unlisten(): void {
    this.scopeSignal.removeEventListener('abort', this);
    this.userSignal?.removeEventListener('abort', this);
  }
}
