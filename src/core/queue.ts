/**
 * An async FIFO queue (asyncio.Queue) with an optional bound, FIFO-fair on
 * both ends and cancel-safe: a getter cancelled while waiting takes no item,
 * a putter cancelled while waiting adds none. Items go straight from a putter
 * to a waiting getter. `close()` ends the stream: waiting and later `put`s
 * reject with LOOPWISE_QUEUE_CLOSED, `get` drains what is left and then
 * rejects, and `for await` ends.
 */
import { QueueClosedError } from './errors.js';
import { Ring } from './internal/ring.js';
import { currentScope } from './internal/scope.js';
import { checkCount, checkOptions } from '../internal/validate.js';
import { attachWaiter, Waiter, WaitQueue } from './internal/waiter.js';

export interface QueueOptions {
  /** Most items held before `put` waits; 0 (the default) means unbounded, as in asyncio. */
  maxsize?: number;
}

export class Queue<T> implements AsyncIterable<T> {
  readonly #items = new Ring<T>();
  readonly #getters = new WaitQueue();
  readonly #putters = new WaitQueue();
  readonly #max: number;
  #closed = false;

  /** @throws RangeError/TypeError (LOOPWISE_INVALID_ARG_*) when `maxsize` is not an integer >= 0 */
  constructor(opts?: QueueOptions) {
    checkOptions(opts, 'opts');
    const maxsize = opts?.maxsize ?? 0;
    checkCount(maxsize, 'opts.maxsize', 0, true);
    this.#max = maxsize === 0 ? Infinity : maxsize;
  }

  /** Items in the queue now. */
  get size(): number {
    return this.#items.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds `v`, waiting while the queue is full (a checkpoint).
   * @throws QueueClosedError (LOOPWISE_QUEUE_CLOSED) once closed
   * @throws CancelledError (LOOPWISE_CANCELLED); the item is then not added
   * @example
   * await jobs.put({ id: 1 });
   */
  put(v: T): Promise<void> {
    const s = currentScope();
    if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
    if (this.#closed) return Promise.reject(new QueueClosedError('put'));
    if (this.tryPut(v)) return Promise.resolve();
    const w = new Waiter<void>('Queue.put', v);
    attachWaiter(s, w);
    this.#putters.push(w);
    return w.promise;
  }

  /**
   * Adds `v` if there is room now; false when full.
   * @throws QueueClosedError (LOOPWISE_QUEUE_CLOSED) once closed
   */
  tryPut(v: T): boolean {
    if (this.#closed) throw new QueueClosedError('put');
    const g = this.#getters.shift();
    if (g !== null) {
      g.fulfil(v);
      return true;
    }
    if (this.#items.size < this.#max) {
      this.#items.push(v);
      return true;
    }
    return false;
  }

  /**
   * Takes the oldest item, waiting while empty (a checkpoint).
   * @throws QueueClosedError (LOOPWISE_QUEUE_CLOSED) when closed and drained
   * @throws CancelledError (LOOPWISE_CANCELLED); no item is then taken
   * @example
   * const job = await jobs.get();
   */
  get(): Promise<T> {
    const s = currentScope();
    if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
    if (this.#items.size > 0) return Promise.resolve(this.#take());
    if (this.#closed) return Promise.reject(new QueueClosedError('get'));
    const w = new Waiter<T>('Queue.get', this);
    attachWaiter(s, w);
    this.#getters.push(w);
    return w.promise;
  }

  /** Takes the oldest item if there is one. */
  tryGet(): T | undefined {
    return this.#items.size > 0 ? this.#take() : undefined;
  }

  #take(): T {
    const v = this.#items.shift() as T;
    const p = this.#putters.shift();
    if (p !== null) {
      this.#items.push(p.arg as T);
      p.fulfil(undefined);
    }
    return v;
  }

  /**
   * Closes the queue: waiting putters and getters reject with
   * LOOPWISE_QUEUE_CLOSED, items already in it can still be taken.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let w: Waiter<any> | null;
    while ((w = this.#putters.shift()) !== null) w.fail(new QueueClosedError('put'));
    while ((w = this.#getters.shift()) !== null) w.fail(new QueueClosedError('get'));
  }

  /** Yields items until the queue is closed and drained. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () =>
        this.get().then(
          (value) => ({ value, done: false }),
          (e: unknown) => {
            if ((e as { code?: unknown })?.code === 'LOOPWISE_QUEUE_CLOSED') return { value: undefined, done: true };
            throw e;
          },
        ),
    };
  }
}
