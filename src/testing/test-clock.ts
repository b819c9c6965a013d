/**
 * TestClock: virtual time for loopwise (Trio's MockClock, Effect's
 * TestClock). While installed, every loopwise timer (sleep, timeout,
 * deadline, moveOnAfter, debug watchdogs) is scheduled on it, so a test of a
 * 30-second timeout runs in microseconds and always in the same order. It
 * does not patch setTimeout or Promise: only loopwise's own timers move.
 *
 * `advance(ms)` fires due timers in deadline order (ties in creation order),
 * letting the code they wake run (several event-loop turns, until no new
 * timer appears) before the next one fires. With `autojump: true`, when the
 * process has nothing left to do but wait for loopwise timers, the clock
 * jumps to the next deadline by itself. As in Trio, pending real I/O counts
 * as idle: do not mix autojump with real network waits you expect to finish
 * first.
 */
import { rt } from '../core/internal/runtime.js';
import type { Clock, TimerCallback } from '../core/internal/clock.js';
import { checkMs, checkOptions, show, typeError } from '../internal/validate.js';

const realSetImmediate = setImmediate;

function turn(): Promise<void> {
  return new Promise<void>((resolve) => realSetImmediate(resolve));
}

class VirtualTimer {
  cancelled = false;
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly cb: TimerCallback,
    readonly arg: unknown,
    readonly ref: boolean,
  ) {}
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** A binary min-heap of timers with lazy deletion of cleared ones. */
class TimerHeap {
  readonly #h: VirtualTimer[] = [];
  live = 0;
  liveRef = 0;

  push(t: VirtualTimer): void {
    const h = this.#h;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
    this.live++;
    if (t.ref) this.liveRef++;
  }

  cancel(t: VirtualTimer): void {
    if (t.cancelled) return;
    t.cancelled = true;
    this.live--;
    if (t.ref) this.liveRef--;
  }

  peek(): VirtualTimer | undefined {
    const h = this.#h;
    while (h.length > 0 && h[0]!.cancelled) this.#pop();
    return h[0];
  }

  take(): VirtualTimer {
    const t = this.#pop();
    this.live--;
    if (t.ref) this.liveRef--;
    t.cancelled = true;
    return t;
  }

  #pop(): VirtualTimer {
    const h = this.#h;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export interface TestClockOptions {
  /** Virtual time at install, ms (default 0). */
  now?: number;
  /** Jump to the next deadline whenever the process is otherwise idle. */
  autojump?: boolean;
}

/**
 * Virtual time for loopwise's timers.
 *
 * @example
 * const clock = TestClock.install();
 * const p = timeout(30_000, () => sleep(60_000));
 * await clock.advance(30_000); // p rejects with TimeoutError, in microseconds
 * clock.uninstall();
 */
export class TestClock implements Disposable {
  #now: number;
  #seq = 0;
  readonly #heap = new TimerHeap();
  #installed = true;
  #advancing = 0;
  readonly #autojump: boolean;
  #driving = false;
  readonly #previous: Clock;
  readonly #clock: Clock;

  private constructor(start: number, autojump: boolean) {
    this.#now = start;
    this.#autojump = autojump;
    this.#previous = rt.clock;
    this.#clock = {
      now: () => this.#now,
      setTimer: (delayMs, cb, arg, ref) => {
        const t = new VirtualTimer(this.#now + delayMs, this.#seq++, cb, arg, ref);
        this.#heap.push(t);
        if (this.#autojump && ref) this.#drive();
        return t;
      },
      clearTimer: (handle) => {
        this.#heap.cancel(handle as VirtualTimer);
      },
    };
  }

  /**
   * Installs virtual time; loopwise timers created from now on use it.
   * @throws Error (LOOPWISE_CLOCK_INSTALLED) when a TestClock is already installed
   */
  static install(opts?: TestClockOptions): TestClock {
    checkOptions(opts, 'opts');
    const start = opts?.now ?? 0;
    if (typeof start !== 'number' || !Number.isFinite(start)) throw typeError(`opts.now must be a finite number, got ${show(start)}`);
    const autojump = opts?.autojump ?? false;
    if (typeof autojump !== 'boolean') throw typeError(`opts.autojump must be a boolean, got ${show(autojump)}`);
    if ((rt.clock as { testClock?: unknown }).testClock !== undefined) {
      const e = new Error('a TestClock is already installed; uninstall it first') as Error & { code: string };
      e.code = 'LOOPWISE_CLOCK_INSTALLED';
      throw e;
    }
    const c = new TestClock(start, autojump);
    (c.#clock as { testClock?: unknown }).testClock = c;
    rt.clock = c.#clock;
    return c;
  }

  /** Virtual time in ms: what loopwise's `now()` returns while installed. */
  now(): number {
    return this.#now;
  }

  /** Timers scheduled on this clock and not yet fired or cleared (a leak check). */
  get pendingTimers(): number {
    return this.#heap.live;
  }

  /**
   * Moves time forward by `ms`, firing due timers in deadline order and
   * letting the code they wake run before the next one fires.
   * @throws RangeError/TypeError (LOOPWISE_INVALID_ARG_*) for a bad `ms`
   */
  async advance(ms: number): Promise<void> {
    checkMs(ms, 'ms');
    this.#advancing++;
    try {
      const target = this.#now + ms;
      await this.#settle();
      for (;;) {
        const t = this.#heap.peek();
        if (t === undefined || t.due > target) break;
        this.#fire();
        await this.#settle();
      }
      this.#now = target;
      await this.#settle();
    } finally {
      this.#advancing--;
    }
  }

  /**
   * Advances until no loopwise timer is left (at most `limit` firings, to
   * catch a loop that keeps scheduling timers).
   */
  async runAll(limit = 100_000): Promise<void> {
    this.#advancing++;
    try {
      await this.#settle();
      let n = 0;
      while (this.#heap.peek() !== undefined) {
        if (++n > limit) throw new Error(`TestClock.runAll: more than ${limit} timers fired; a loop keeps scheduling timers`);
        this.#fire();
        await this.#settle();
      }
    } finally {
      this.#advancing--;
    }
  }

  /** Restores the clock that was active before `install` (also `[Symbol.dispose]`). */
  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    if (rt.clock === this.#clock) rt.clock = this.#previous;
  }

  [Symbol.dispose](): void {
    this.uninstall();
  }

  #fire(): void {
    const t = this.#heap.take();
    if (t.due > this.#now) this.#now = t.due;
    t.cb(t.arg);
  }

  /**
   * Event-loop turns until two in a row schedule no new timer and no
   * `checkpoint()` is in flight (bounded, for a loop that never stops
   * checkpointing).
   */
  async #settle(): Promise<void> {
    for (let idle = 0, n = 0; idle < 2 && n < 10_000; n++) {
      const seq = this.#seq;
      await turn();
      idle = this.#seq === seq && rt.pendingYields === 0 ? idle + 1 : 0;
    }
  }

  #drive(): void {
    if (this.#driving) return;
    this.#driving = true;
    let idle = 0;
    let seq = this.#seq;
    const tick = (): void => {
      if (!this.#installed || this.#heap.liveRef === 0) {
        this.#driving = false;
        return;
      }
      if (this.#advancing > 0 || this.#seq !== seq || rt.pendingYields > 0) {
        idle = 0;
        seq = this.#seq;
      } else if (++idle >= 3) {
        idle = 0;
        this.#fire();
        seq = this.#seq;
      }
      realSetImmediate(tick);
    };
    realSetImmediate(tick);
  }
}
