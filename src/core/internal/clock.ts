/**
 * The loopwise clock: where every loopwise timer (sleep, deadlines, debug
 * watchdogs) is scheduled. The runtime holds one active clock; `TestClock`
 * (loopwise/testing) swaps in a virtual one. A timer remembers the clock that
 * made it, so clearing always goes to the right place even if the clock was
 * swapped meanwhile.
 *
 * The real clock is `performance.now()` (monotonic) and Node's own timers:
 * Node's timer lists are already O(1) to insert and remove per duration, so a
 * heap of our own would only add work. Delays beyond 2^31-1 ms are chained
 * (Node would clamp them to 1 ms with a TimeoutOverflowWarning).
 */
import { performance } from 'node:perf_hooks';

export type TimerCallback = (arg: any) => void;

export interface Clock {
  /** ms on this clock, monotonic. */
  now(): number;
  /**
   * Calls `cb(arg)` after `delayMs`. `ref: false` marks housekeeping timers
   * that must not keep the process alive.
   */
  setTimer(delayMs: number, cb: TimerCallback, arg: unknown, ref: boolean): unknown;
  clearTimer(handle: unknown): void;
}

/** Largest delay Node's setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer beyond MAX_TIMER_MS: re-armed until its due time. */
class LongTimer {
  handle: NodeJS.Timeout | null = null;
  constructor(
    readonly due: number,
    readonly cb: TimerCallback,
    readonly arg: unknown,
    readonly ref: boolean,
  ) {}
}

function armLong(t: LongTimer): void {
  const left = t.due - performance.now();
  if (left <= 0) {
    t.handle = null;
    t.cb(t.arg);
    return;
  }
  t.handle = setTimeout(armLong, Math.min(left, MAX_TIMER_MS), t);
  if (!t.ref) t.handle.unref();
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, cb, arg, ref) {
    if (delayMs > MAX_TIMER_MS) {
      const t = new LongTimer(performance.now() + delayMs, cb, arg, ref);
      armLong(t);
      return t;
    }
    const h = setTimeout(cb, delayMs, arg);
    if (!ref) h.unref();
    return h;
  },
  clearTimer(handle) {
    if (handle instanceof LongTimer) {
      if (handle.handle !== null) clearTimeout(handle.handle);
      handle.handle = null;
    } else {
      clearTimeout(handle as NodeJS.Timeout);
    }
  },
};
