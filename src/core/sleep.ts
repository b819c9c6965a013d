/**
 * Time: `now()`, `sleep(ms)` and `checkpoint()`.
 *
 * `sleep` runs on the loopwise clock (real, or a TestClock's virtual time) and
 * keeps the process alive as setTimeout does. `checkpoint()` yields one turn
 * of the event loop with setImmediate: setTimeout(0) is clamped to 1 ms,
 * ~250x slower, and a microtask yield would starve I/O. `sleep(0)` is the
 * same yield as `checkpoint()`.
 */
import { rt } from './internal/runtime.js';
import { currentScope } from './internal/scope.js';
import { checkMs } from '../internal/validate.js';
import { attachWaiter, Waiter } from './internal/waiter.js';

/** The loopwise clock in ms: monotonic (`performance.now()`), or a TestClock's virtual time. */
export function now(): number {
  return rt.clock.now();
}

function fireTimer(w: Waiter<void>): void {
  w.handle = null;
  w.fulfil(undefined);
}

function clearTimer(w: Waiter<void>): void {
  if (w.handle !== null) w.clock!.clearTimer(w.handle);
  w.handle = null;
}

function clearImmediateOf(w: Waiter<void>): void {
  if (w.handle !== null) {
    clearImmediate(w.handle as NodeJS.Immediate);
    rt.pendingYields--;
  }
  w.handle = null;
}

function fireImmediate(w: Waiter<void>): void {
  w.handle = null;
  rt.pendingYields--;
  w.fulfil(undefined);
}

/**
 * Waits `ms` milliseconds (a checkpoint). Delays beyond 2^31-1 ms are honoured.
 *
 * @throws CancelledError (LOOPWISE_CANCELLED) at once if the scope is or becomes cancelled
 * @throws RangeError/TypeError (LOOPWISE_INVALID_ARG_*) for a negative, NaN or non-number `ms`
 * @example
 * await sleep(250);
 */
export function sleep(ms: number): Promise<void> {
  checkMs(ms, 'ms', true);
  if (ms === 0) return checkpoint();
  const s = currentScope();
  if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
  const w = new Waiter<void>('sleep', ms);
  attachWaiter(s, w);
  if (ms !== Infinity) {
    const clock = rt.clock;
    w.clock = clock;
    w.handle = clock.setTimer(ms, fireTimer, w, true);
    w.onCancel = clearTimer;
  }
  return w.promise;
}

/**
 * Yields to the event loop for one turn (setImmediate), letting I/O and other
 * tasks run, and throws if the scope is cancelled: put one in long CPU loops.
 *
 * @throws CancelledError (LOOPWISE_CANCELLED) at once if the scope is or becomes cancelled
 * @example
 * for (const row of rows) { handle(row); if (++n % 1000 === 0) await checkpoint(); }
 */
export function checkpoint(): Promise<void> {
  const s = currentScope();
  if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
  const w = new Waiter<void>('checkpoint', undefined);
  attachWaiter(s, w);
  rt.pendingYields++;
  w.handle = setImmediate(fireImmediate, w);
  w.onCancel = clearImmediateOf;
  return w.promise;
}
