/**
 * A counting semaphore (asyncio.Semaphore, Trio's CapacityLimiter):
 * FIFO-fair, cancel-safe, bounded (releasing more than was acquired throws,
 * like asyncio.BoundedSemaphore, so a double release is caught where it
 * happens rather than silently widening the limit).
 */
import { Permits } from './internal/permits.js';
import { checkCount, checkFunction } from '../internal/validate.js';

export class Semaphore {
  readonly #p: Permits;

  /** @throws RangeError/TypeError (LOOPWISE_INVALID_ARG_*) when `permits` is not an integer >= 1 */
  constructor(permits: number) {
    checkCount(permits, 'permits', 1);
    this.#p = new Permits(permits, 'Semaphore');
  }

  /**
   * Waits for a permit (a checkpoint); resolves a Disposable that gives it back.
   * @throws CancelledError (LOOPWISE_CANCELLED) if cancelled before a permit is granted
   * @example
   * using _ = await sem.acquire();
   */
  acquire(): Promise<Disposable> {
    return this.#p.acquire();
  }

  /**
   * Gives a permit back, to the oldest waiter if any.
   * @throws NotAcquiredError (LOOPWISE_NOT_ACQUIRED) when no permit is out
   */
  release(): void {
    this.#p.release();
  }

  /** Permits free right now. */
  get available(): number {
    return this.#p.available;
  }

  /** Number of tasks waiting for a permit. */
  get waiting(): number {
    return this.#p.queue.length;
  }

  /**
   * Runs `fn` holding a permit.
   * @example
   * const db = new Semaphore(10);
   * await map(ids, (id) => db.run(() => query(id)));
   */
  run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    checkFunction(fn, 'fn');
    return this.#p.run(fn);
  }
}
