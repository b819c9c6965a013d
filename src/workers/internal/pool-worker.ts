/**
 * One worker thread of a pool and the jobs it holds. `slots` has one entry
 * per job that may be in flight on it at once (`concurrentTasksPerWorker`);
 * each slot owns two cells of the shared control buffer (abort, started).
 */
import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import { CELLS, type WorkerConfig } from '../entry/protocol.js';
import type { Job } from './job.js';

const noop = (): void => {};

const ENTRY = new URL('../entry/worker-entry.js', import.meta.url);

export class PoolWorker {
  readonly worker: Worker;
  readonly control: Int32Array;
  readonly slots: (Job | null)[];
  inflight = 0;
  ready = false;
  exited = false;
  /** Set when the pool ends this worker on purpose (idle, close): no replacement. */
  retiring = false;
  /** Why it is being terminated, for the jobs still on it. */
  terminateReason: string | null = null;
  /** The uncaught error that killed it, if any. */
  error: unknown = undefined;
  idleTimer: NodeJS.Timeout | null = null;
  refd = false;
  /** Started jobs not posted yet: one JOB message, sent by `flush` from setImmediate. */
  outbox: unknown[] | null = null;
  outTransfer: TransferListItem[] | null = null;
  flushTimer: NodeJS.Immediate | null = null;
  /** Posts the outbox (set by the pool, one closure per worker). */
  flush: () => void = noop;

  constructor(moduleUrl: string, depth: number, resourceLimits: ResourceLimits | undefined) {
    this.control = new Int32Array(new SharedArrayBuffer(depth * CELLS * 4));
    this.slots = new Array<Job | null>(depth).fill(null);
    const workerData: WorkerConfig = { moduleUrl, control: this.control, slots: depth };
    this.worker = new Worker(ENTRY, { workerData, resourceLimits });
    this.worker.unref();
  }

  freeSlot(): number {
    const s = this.slots;
    for (let i = 0; i < s.length; i++) if (s[i] === null) return i;
    return -1;
  }

  find(id: number): Job | null {
    const s = this.slots;
    for (let i = 0; i < s.length; i++) {
      const j = s[i];
      if (j != null && j.id === id) return j;
    }
    return null;
  }

  setRef(on: boolean): void {
    if (on === this.refd || this.exited) return;
    this.refd = on;
    if (on) this.worker.ref();
    else this.worker.unref();
  }
}
