/**
 * A mutual-exclusion lock for async code, FIFO-fair and cancel-safe: a waiter
 * cancelled while in line never gets the lock. `acquire()` returns a
 * Disposable, so `using _ = await lock.acquire()` releases on every path.
 */
import { Permits } from './internal/permits.js';
import { checkFunction } from '../internal/validate.js';

export class Lock {
  readonly #p = new Permits(1, 'Lock');

  /**
   * Waits for the lock (a checkpoint). Resolves a Disposable that releases it.
   *
   * @throws CancelledError (LOOPWISE_CANCELLED) if the scope is or becomes cancelled before the lock is granted
   * @example
   * { using _ = await lock.acquire(); await writeFile(path, data); }
   */
  acquire(): Promise<Disposable> {
    return this.#p.acquire();
  }

  /**
   * Releases the lock, handing it to the oldest waiter.
   * @throws NotAcquiredError (LOOPWISE_NOT_ACQUIRED) when the lock is not held
   */
  release(): void {
    this.#p.release();
  }

  /** True while somebody holds the lock. */
  get locked(): boolean {
    return this.#p.available === 0;
  }

  /** Number of tasks waiting in line. */
  get waiting(): number {
    return this.#p.queue.length;
  }

  /**
   * Runs `fn` holding the lock.
   * @example
   * await lock.run(() => appendLine(file, line));
   */
  run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    checkFunction(fn, 'fn');
    return this.#p.run(fn);
  }
}
