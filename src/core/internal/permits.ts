/**
 * The engine under Lock and Semaphore: a count of permits and a FIFO of
 * waiters. A release hands its permit straight to the oldest waiter (so a
 * newcomer can never barge ahead of the line); a cancelled waiter leaves the
 * line without taking anything, because cancellation removes it from the
 * queue before a release can reach it. A permit handed to a waiter is its own
 * from then on, even if the waiter is cancelled in the same tick: its acquire
 * resolves and its `finally`/`using` gives the permit back.
 */
import { NotAcquiredError } from '../errors.js';
import { currentScope, keepShape } from './scope.js';
import { attachWaiter, Waiter, WaitQueue } from './waiter.js';

/** A held permit; disposing it (or calling release) gives it back once. */
export class Permit implements Disposable {
  #owner: Permits | null;
  constructor(owner: Permits) {
    this.#owner = owner;
  }
  /** Gives the permit back; later calls do nothing. */
  release(): void {
    const o = this.#owner;
    if (o !== null) {
      this.#owner = null;
      o.release();
    }
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

export class Permits {
  available: number;
  readonly max: number;
  readonly queue = new WaitQueue();
  readonly #what: string;
  readonly #owner: string;

  constructor(max: number, owner: string) {
    this.max = max;
    this.available = max;
    this.#owner = owner;
    this.#what = `${owner}.acquire`;
  }

  acquire(): Promise<Permit> {
    const s = currentScope();
    if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
    if (this.available > 0 && this.queue.head === null) {
      this.available--;
      return Promise.resolve(new Permit(this));
    }
    const w = new Waiter<Permit>(this.#what, this);
    attachWaiter(s, w);
    this.queue.push(w);
    return w.promise;
  }

  release(): void {
    const w = this.queue.shift();
    if (w !== null) {
      w.fulfil(new Permit(this));
      return;
    }
    if (this.available >= this.max) throw new NotAcquiredError(this.#owner);
    this.available++;
  }

  async run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    const p = await this.acquire();
    try {
      return await fn();
    } finally {
      p.release();
    }
  }
}

// Keeps the hidden classes of Permits and Permit alive (see keepShape).
keepShape(new Permit(new Permits(1, 'keepShape')));
