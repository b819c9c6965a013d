/**
 * The pool's FIFO of jobs waiting for a thread: an intrusive doubly linked
 * list through the Job objects, so a cancelled queued job leaves in O(1) and
 * jobs re-queued from a terminated worker go back to the head.
 */
import type { Job } from './job.js';

export class JobQueue {
  #head: Job | null = null;
  #tail: Job | null = null;
  size = 0;

  push(j: Job): void {
    j.qprev = this.#tail;
    j.qnext = null;
    if (this.#tail === null) this.#head = j;
    else this.#tail.qnext = j;
    this.#tail = j;
    j.queued = true;
    this.size++;
  }

  unshift(j: Job): void {
    j.qnext = this.#head;
    j.qprev = null;
    if (this.#head === null) this.#tail = j;
    else this.#head.qprev = j;
    this.#head = j;
    j.queued = true;
    this.size++;
  }

  shift(): Job | undefined {
    const j = this.#head;
    if (j === null) return undefined;
    this.remove(j);
    return j;
  }

  remove(j: Job): void {
    if (!j.queued) return;
    if (j.qprev === null) this.#head = j.qnext;
    else j.qprev.qnext = j.qnext;
    if (j.qnext === null) this.#tail = j.qprev;
    else j.qnext.qprev = j.qprev;
    j.qprev = j.qnext = null;
    j.queued = false;
    this.size--;
  }
}
