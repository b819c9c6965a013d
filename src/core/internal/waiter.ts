/**
 * A Waiter is one pending checkpoint: a promise that settles either with what
 * it waits for (a timer, a permit, a task's outcome) or, at once, with the
 * CancelledError of its scope when that scope is cancelled.
 *
 * It is an intrusive list node twice over: in its scope's waiter list (so a
 * cancellation finds it in O(1) and removes it in O(1)) and, for primitives, in
 * the primitive's FIFO queue. Intrusive links instead of Sets/arrays keep a
 * wait to one object and one promise, with no per-wait abort listener: a task
 * awaiting in a loop would otherwise grow an AbortSignal's listener list, and
 * removing a listener there is linear in the list's length.
 */
import type { Clock } from './clock.js';
import { keepShape, type Scope } from './scope.js';

/**
 * Where the shared executor leaves a new promise's resolving functions for
 * the Waiter being built, which takes them at once: no executor closure per
 * wait (STYLE §8). Never holds them past the constructor.
 */
const resolvers: { resolve: ((value: any) => void) | null; reject: ((error: unknown) => void) | null } = { resolve: null, reject: null };

function captureResolvers(resolve: (value: any) => void, reject: (error: unknown) => void): void {
  resolvers.resolve = resolve;
  resolvers.reject = reject;
}

export class Waiter<T = unknown> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  promise: Promise<T>;
  scope: Scope | null = null;
  prev: Waiter<any> | null = null;
  next: Waiter<any> | null = null;
  /** The FIFO queue of a primitive this waiter stands in, if any. */
  queue: WaitQueue | null = null;
  qprev: Waiter<any> | null = null;
  qnext: Waiter<any> | null = null;
  /** What is awaited, for taskTree(): 'sleep', 'Lock.acquire', 'task', ... */
  what: string;
  /** Detail for `what`: the ms of a sleep, the awaited task, an item to put. */
  arg: unknown;
  /** Cleanup when cancelled: clear a timer, give back a hand-off. */
  onCancel: ((w: Waiter<T>) => void) | null = null;
  handle: unknown = null;
  clock: Clock | null = null;
  settled = false;

  constructor(what: string, arg: unknown) {
    this.promise = new Promise<T>(captureResolvers);
    this.resolve = resolvers.resolve!;
    this.reject = resolvers.reject!;
    resolvers.resolve = resolvers.reject = null;
    this.what = what;
    this.arg = arg;
  }

  /** Makes a settled, detached waiter wait again, with a new promise (ScopeExt.ckpt). */
  rearm(): void {
    this.promise = new Promise<T>(captureResolvers);
    this.resolve = resolvers.resolve!;
    this.reject = resolvers.reject!;
    resolvers.resolve = resolvers.reject = null;
    this.settled = false;
  }

  /** Settles with a value; false when the waiter had already settled. */
  fulfil(value: T): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.detach();
    this.resolve(value);
    return true;
  }

  fail(error: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.detach();
    this.reject(error);
    return true;
  }

  /** Called by scope cancellation. */
  cancel(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    const hook = this.onCancel;
    if (hook !== null) {
      this.onCancel = null;
      hook(this);
    }
    this.reject(error);
  }

  detach(): void {
    const s = this.scope;
    if (s !== null) {
      // The first waiter's prev is the last one (see attachWaiter).
      const next = this.next;
      const prev = this.prev!;
      if (s.firstWaiter === this) {
        s.firstWaiter = next;
        if (next !== null) next.prev = prev;
      } else {
        prev.next = next;
        if (next !== null) next.prev = prev;
        else s.firstWaiter!.prev = prev;
      }
      this.prev = this.next = null;
      this.scope = null;
    }
    if (this.queue !== null) this.queue.remove(this);
  }
}

// Keeps Waiter's hidden class alive (see keepShape).
keepShape(new Waiter<unknown>('keepShape', undefined));

/** Links `w` into the waiter list of `scope`. */
export function attachWaiter(scope: Scope, w: Waiter<any>): void {
  // A list linked by next (null-terminated) and prev, where the first
  // waiter's prev is the last: O(1) append and removal, no lastWaiter field.
  w.scope = scope;
  w.next = null;
  const first = scope.firstWaiter;
  if (first === null) {
    w.prev = w;
    scope.firstWaiter = w;
  } else {
    const last = first.prev!;
    last.next = w;
    w.prev = last;
    first.prev = w;
  }
}

/** A FIFO of waiters for a primitive (Lock, Semaphore, Event, Queue). */
export class WaitQueue {
  head: Waiter<any> | null = null;
  tail: Waiter<any> | null = null;
  length = 0;

  push(w: Waiter<any>): void {
    w.queue = this;
    w.qprev = this.tail;
    w.qnext = null;
    if (this.tail === null) this.head = w;
    else this.tail.qnext = w;
    this.tail = w;
    this.length++;
  }

  /** Removes and returns the oldest waiter (it is still unsettled). */
  shift(): Waiter<any> | null {
    const w = this.head;
    if (w !== null) this.remove(w);
    return w;
  }

  remove(w: Waiter<any>): void {
    if (w.queue !== this) return;
    if (w.qprev === null) this.head = w.qnext;
    else w.qprev.qnext = w.qnext;
    if (w.qnext === null) this.tail = w.qprev;
    else w.qnext.qprev = w.qprev;
    w.qprev = w.qnext = null;
    w.queue = null;
    this.length--;
  }
}
