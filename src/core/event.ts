/**
 * A one-bit broadcast (asyncio.Event): `wait()` resolves once the event is
 * set; `set()` wakes every waiter; `clear()` re-arms it.
 */
import { currentScope } from './internal/scope.js';
import { attachWaiter, Waiter, WaitQueue } from './internal/waiter.js';

export class Event {
  #set = false;
  readonly #queue = new WaitQueue();

  /** Sets the event and wakes every waiter. */
  set(): void {
    if (this.#set) return;
    this.#set = true;
    let w: Waiter<any> | null;
    while ((w = this.#queue.shift()) !== null) w.fulfil(undefined);
  }

  /** Clears the event; later `wait()` calls wait again. */
  clear(): void {
    this.#set = false;
  }

  get isSet(): boolean {
    return this.#set;
  }

  /**
   * Waits until the event is set (a checkpoint).
   * @throws CancelledError (LOOPWISE_CANCELLED)
   * @example
   * await ready.wait();
   */
  wait(): Promise<void> {
    const s = currentScope();
    if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
    if (this.#set) return Promise.resolve();
    const w = new Waiter<void>('Event.wait', this);
    attachWaiter(s, w);
    this.#queue.push(w);
    return w.promise;
  }
}
