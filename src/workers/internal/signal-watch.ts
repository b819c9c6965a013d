/**
 * The pool's subscriptions to the callers' AbortSignals: one 'abort'
 * listener per distinct signal (a Watch), and the jobs that signal cancels
 * in an intrusive doubly linked list through the Job objects. A listener
 * per job made every run() O(jobs in flight): Node's EventTarget scans a
 * signal's listeners on each add, and every job started outside a task
 * shares the root scope's signal (40 000 jobs took 9 s to submit). Here a
 * job joins or leaves its signals' lists in O(1) and allocates nothing.
 * A job is on at most two lists: its calling scope's signal (`s` links)
 * and `opts.signal` (`u` links), never twice on one (the pool skips a user
 * signal that is the scope's).
 */
import type { Job } from './job.js';

export interface WatchHost {
  abortJob(job: Job, reason: unknown): void;
}

export class Watch {
  head: Job | null = null;
  count = 0;
  constructor(
    readonly signal: AbortSignal,
    readonly host: WatchHost,
  ) {}

  /** The 'abort' listener: cancels every job on the list. */
  handleEvent(): void {
    const reason = this.signal.reason;
    // abortJob may settle the job (unlinking it from this list): take the next link first.
    let j = this.head;
    while (j !== null) {
      const next = nextOf(j, this);
      this.host.abortJob(j, reason);
      j = next;
    }
  }
}

function nextOf(j: Job, w: Watch): Job | null {
  return j.sWatch === w ? j.sNext : j.uNext;
}

function setNext(j: Job, w: Watch, v: Job | null): void {
  if (j.sWatch === w) j.sNext = v;
  else j.uNext = v;
}

function setPrev(j: Job, w: Watch, v: Job | null): void {
  if (j.sWatch === w) j.sPrev = v;
  else j.uPrev = v;
}

export class SignalWatches {
  readonly #watches = new Map<AbortSignal, Watch>();
  constructor(readonly host: WatchHost) {}

  #watch(signal: AbortSignal): Watch {
    let w = this.#watches.get(signal);
    if (w === undefined) {
      w = new Watch(signal, this.host);
      this.#watches.set(signal, w);
      signal.addEventListener('abort', w);
    }
    return w;
  }

  /** Puts `job` on its scope signal's list and, when it is another one, its user signal's. */
  add(job: Job): void {
    const s = this.#watch(job.scopeSignal);
    job.sWatch = s;
    job.sPrev = null;
    job.sNext = s.head;
    if (s.head !== null) setPrev(s.head, s, job);
    s.head = job;
    s.count++;
    const us = job.userSignal;
    if (us === undefined || us === job.scopeSignal) return;
    const u = this.#watch(us);
    job.uWatch = u;
    job.uPrev = null;
    job.uNext = u.head;
    if (u.head !== null) setPrev(u.head, u, job);
    u.head = job;
    u.count++;
  }

  /** Takes `job` off both lists (idempotent). */
  remove(job: Job): void {
    const s = job.sWatch;
    if (s !== null) {
      this.#unlink(s, job.sPrev, job.sNext);
      job.sWatch = job.sPrev = job.sNext = null;
      this.#release(s);
    }
    const u = job.uWatch;
    if (u !== null) {
      this.#unlink(u, job.uPrev, job.uNext);
      job.uWatch = job.uPrev = job.uNext = null;
      this.#release(u);
    }
  }

  #unlink(w: Watch, prev: Job | null, next: Job | null): void {
    if (prev === null) w.head = next;
    else setNext(prev, w, next);
    if (next !== null) setPrev(next, w, prev);
  }

  #release(w: Watch): void {
    if (--w.count === 0) {
      w.signal.removeEventListener('abort', w);
      this.#watches.delete(w.signal);
    }
  }
}
