/**
 * The cancel tree. Every piece of loopwise-run code executes inside a Scope:
 * the root, a task, a group, a timeout/moveOnAfter/scope/shield body, a
 * combinator. Scopes are plain objects linked to their parent by an intrusive
 * doubly linked list (O(1) to add and remove, no Set churn under GC), and the
 * current one is carried by the runtime's AsyncLocalStorage.
 *
 * Cancellation is level-triggered (Trio/AnyIO): `cancelledBy` is set on the
 * scope and its whole subtree (stopping at shields) when a cancel happens, and
 * stays set until the scope ends, so every later checkpoint throws at once; a
 * checkpoint is one field read. `cancelledBy` names the *outermost* cancelled
 * scope; only that scope absorbs the CancelledError at its boundary, so nested
 * timeouts convert only their own firing into TimeoutError.
 *
 * AbortSignals are made lazily, only when somebody reads one: creating an
 * AbortController costs ~5 µs on Node 20, and per-scope listeners or
 * `AbortSignal.any` would leak or grow linearly (see
 * shared/research/core-baselines.md). Cancellation walks the tree instead.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';
import { CancelledError, cancellationOf, TimeoutError } from '../errors.js';
import type { Clock } from './clock.js';
import { rt } from './runtime.js';
import type { Waiter } from './waiter.js';

export type ScopeKind =
  | 'root'
  | 'task'
  | 'group'
  | 'timeout'
  | 'deadline'
  | 'moveOnAfter'
  | 'scope'
  | 'shield'
  | 'gather'
  | 'race'
  | 'any'
  | 'map'
  | 'asCompleted';

/** The deadline of a timeout/deadline/moveOnAfter scope. */
export class Deadline {
  timer: unknown = null;
  clock: Clock | null = null;
  /** Set when this deadline fired. */
  timedOut = false;
  constructor(
    /** Time on the loopwise clock. */
    readonly at: number,
    /** The budget in ms (for TimeoutError and taskTree). */
    readonly budgetMs: number,
  ) {}
}

/**
 * The parts of a scope most scopes never use, out of line so that every task
 * stays smaller (a group of 100 000 live tasks is GC-bound).
 */
export class ScopeExt {
  /** Made when somebody first reads the scope's signal. */
  controller: AbortController | null = null;
  /**
   * The waiter `cancellable(promise)` reuses in this scope, made on first use:
   * a checkpoint in a loop then allocates no waiter and no closure. In use
   * while unsettled; a second concurrent wait in the scope makes its own.
   */
  ckpt: Waiter<any> | null = null;
  /** The reactions that settle `ckpt`, made with it (once per scope, not per wait). */
  ckptFulfil: ((value: any) => void) | null = null;
  ckptReject: ((error: unknown) => void) | null = null;
  /** timeout/deadline/moveOnAfter only. */
  deadline: Deadline | null = null;
}

/** The scope's ScopeExt, made on first use. @internal */
export function extOf(s: Scope): ScopeExt {
  let x = s.ext;
  if (x === null) x = s.ext = new ScopeExt();
  return x;
}

export class Scope {
  /** @internal */
  parent: Scope | null;
  /** @internal */
  readonly kind: ScopeKind;
  /** The nearest task at or above this scope (null outside any task). @internal */
  task: Scope | null;
  /** The outermost cancelled scope whose cancellation reaches this one. @internal */
  cancelledBy: Scope | null = null;
  /**
   * Set when this scope's own cancel() was called (or its deadline fired): the
   * error every checkpoint under this scope throws once it is cancelled. @internal
   */
  cancelError: CancelledError | null = null;
  /** @internal */
  firstChild: Scope | null = null;
  /** The previous sibling; the first child's is the last child (no lastChild field). @internal */
  prevSibling: Scope | null = null;
  /** @internal */
  nextSibling: Scope | null = null;
  /** The first waiter's `prev` is the last waiter (no lastWaiter field). @internal */
  firstWaiter: Waiter<any> | null = null;
  /** What few scopes need (a signal, a deadline, a reusable waiter), made on first use. @internal */
  ext: ScopeExt | null = null;
  /** Loopwise-clock ms, rounded (a small integer stays unboxed in the object). @internal */
  readonly startedAt: number;
  /** @internal */
  closed = false;

  /** @internal */
  constructor(parent: Scope | null, kind: ScopeKind) {
    this.parent = parent;
    this.kind = kind;
    this.task = parent === null ? null : parent.task;
    this.startedAt = Math.round(rt.clock.now());
    if (parent !== null) {
      if (kind !== 'shield') this.cancelledBy = parent.cancelledBy;
      linkChild(parent, this);
    }
  }

  /** Hook for Task: called once when cancellation first reaches it. @internal */
  onCancelled(): void {}
}

if (rt.root === undefined) rt.root = new Scope(null, 'root');

/**
 * One instance of each hot class, kept for the life of the module. V8 holds
 * the hidden classes an object reaches by adding its fields (its map
 * transitions) only weakly: once every Task of a burst is dead, a GC drops
 * their maps, which deoptimises every function compiled against them
 * ("embedded weak objects cleared"); the next burst rebuilds the maps and
 * recompiles. With 5 000 tasks per group that cost more than the tasks
 * (2.4 µs per task instead of 0.4 on Node 24). Objects listed here are never
 * linked into the tree and never used.
 */
const shapes: object[] = [];

/** Keeps `o` (and so its hidden class) alive; see `shapes`. @internal */
export function keepShape(o: object): void {
  shapes.push(o);
}

keepShape(new Deadline(0, 0));
keepShape(new ScopeExt());

/**
 * Runs `body(arg)` in scope `s` and returns a native promise of its result.
 * The result is turned into a promise *inside* the scope, so a thenable the
 * body returns (a Task) has its then() called there: awaiting it is then a
 * checkpoint of `s`, which `s`'s deadline or cancel interrupts.
 */
export function runIn<A, T>(s: Scope, body: (arg: A) => T | PromiseLike<T>, arg: A): Promise<T> {
  return runInStore(s, callToPromise<A, T>, body, arg);
}

/**
 * True when AsyncLocalStorage keeps its stores in async context frames (Node
 * >= 24 by default, 22 with --experimental-async-context-frame) rather than
 * on async resources through a PromiseHook. The older implementation has the
 * `_propagate` method the frame one lacks. Only speed depends on this: both
 * ways of entering a store below are correct on both implementations.
 */
const frameStorage = typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate !== 'function';

/**
 * `rt.als.run(s, fn, a, b)`. With frame storage, `run` makes two frames (a
 * copy of the current one holding `s`, then another to restore the caller's),
 * and copying a frame is the most expensive step of a spawn on Node 24. An
 * AsyncResource made here captures the caller's frame without copying it,
 * and runInAsyncScope restores that very frame afterwards: one frame per
 * task or scope instead of two, ~1.7x faster in a spawn loop. (Each task
 * or scope is then an async resource of type `loopwise.Scope` to async_hooks.)
 * @internal
 */
export function runInStore<A, B, R>(s: Scope, fn: (a: A, b: B) => R, a: A, b: B): R {
  if (!frameStorage) return rt.als.run(s, fn, a, b);
  return new AsyncResource('loopwise.Scope').runInAsyncScope(enterStore, s, fn, a, b) as R;
}

// AsyncResource is one of the hot classes too (see keepShape): without a live
// instance its map dies between bursts and spawn deoptimises again.
if (frameStorage) keepShape(new AsyncResource('loopwise.Scope'));

function enterStore<A, B, R>(this: Scope, fn: (a: A, b: B) => R, a: A, b: B): R {
  rt.als.enterWith(this);
  return fn(a, b);
}

function callToPromise<A, T>(body: (arg: A) => T | PromiseLike<T>, arg: A): Promise<T> {
  const r = arg === undefined ? (body as () => T | PromiseLike<T>)() : body(arg);
  return r instanceof Promise ? r : Promise.resolve(r);
}

/**
 * The scope the calling code runs in. A callback that outlived its scope (a
 * timer set inside a finished `scope`) still carries that scope in its async
 * context: it runs in the nearest live ancestor instead, so what it spawns
 * or waits for stays reachable by cancellation.
 */
export function currentScope(): Scope {
  let s = rt.als.getStore();
  if (s === undefined) return rt.root;
  while (s.closed) s = s.parent ?? rt.root;
  return s;
}

// Children: a list linked by nextSibling (null-terminated) and prevSibling,
// where the first child's prevSibling is the last child: O(1) append and
// removal without a lastChild field in every scope.
function linkChild(parent: Scope, child: Scope): void {
  const first = parent.firstChild;
  child.nextSibling = null;
  if (first === null) {
    child.prevSibling = child;
    parent.firstChild = child;
  } else {
    const last = first.prevSibling!;
    last.nextSibling = child;
    child.prevSibling = last;
    first.prevSibling = child;
  }
}

function unlinkChild(parent: Scope, child: Scope): void {
  const next = child.nextSibling;
  const prev = child.prevSibling!;
  if (parent.firstChild === child) {
    parent.firstChild = next;
    if (next !== null) next.prevSibling = prev; // prev is the last child
  } else {
    prev.nextSibling = next;
    if (next !== null) next.prevSibling = prev;
    else parent.firstChild!.prevSibling = prev; // child was the last
  }
  child.prevSibling = child.nextSibling = null;
}

/** The children of `s`, last first (for depth-first walks that keep the order). @internal */
export function lastChildOf(s: Scope): Scope | null {
  const first = s.firstChild;
  return first === null ? null : first.prevSibling;
}

/**
 * Ends a scope: clears its deadline, unlinks it from its parent, and hands
 * children that outlive it (detached `spawn` tasks) to its parent, so the
 * cancellation of any ancestor still reaches them.
 */
export function closeScope(s: Scope): void {
  if (s.closed) return;
  s.closed = true;
  const x = s.ext;
  if (x !== null) {
    const d = x.deadline;
    if (d !== null && d.timer !== null) {
      d.clock!.clearTimer(d.timer);
      d.timer = null;
    }
  }
  const parent = s.parent;
  if (parent === null) return;
  unlinkChild(parent, s);
  let c = s.firstChild;
  if (c !== null) {
    s.firstChild = null;
    const by = parent.cancelledBy;
    while (c !== null) {
      const next: Scope | null = c.nextSibling;
      c.parent = parent;
      linkChild(parent, c);
      // Level-triggered: moving under a cancelled ancestor (a shield that
      // protected it has ended) cancels it now.
      if (by !== null && c.kind !== 'shield' && c.cancelledBy !== by) propagate(c, by);
      c = next;
    }
  }
}

/**
 * The scope's AbortSignal, made on first use; aborted with the CancelledError.
 * A scope's signal is meant to be shared by everything running in the scope
 * (twenty concurrent fetches, pool jobs), so Node's "possible EventTarget
 * memory leak" warning at 11 listeners is lifted for it: loopwise removes its
 * own listeners when each operation ends.
 */
export function scopeSignal(s: Scope): AbortSignal {
  if (s === rt.root) {
    let r = rt.rootSignal;
    if (r === null) {
      r = rt.rootSignal = new AbortController().signal;
      setMaxListeners(0, r);
    }
    return r;
  }
  const x = extOf(s);
  let c = x.controller;
  if (c === null) {
    c = x.controller = new AbortController();
    setMaxListeners(0, c.signal);
    if (s.cancelledBy !== null) c.abort(s.cancelledBy.cancelError);
  }
  return c.signal;
}

/**
 * Cancels `s` and everything inside it (not across shields). Idempotent; a
 * closed scope ignores it. Waiters of newly cancelled scopes reject in this
 * same tick; AbortSignals that exist are aborted.
 */
export function cancelScope(s: Scope, reason: unknown): void {
  if (s.closed || s.cancelError !== null || s === rt.root) return;
  s.cancelError = new CancelledError(reason);
  if (s.cancelledBy !== null && s.cancelledBy !== s) return; // an ancestor's cancellation already covers it
  propagate(s, s);
}

/** Marks `top` and its subtree (not across shields) as cancelled by `by`, then notifies. */
function propagate(top: Scope, by: Scope): void {
  // Mark first, then notify: notifications run user code (abort listeners),
  // which must see a consistent tree.
  const fresh: Scope[] = [];
  const stack: Scope[] = [top];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.cancelledBy === null) fresh.push(n);
    n.cancelledBy = by;
    for (let c = n.firstChild; c !== null; c = c.nextSibling) if (c.kind !== 'shield') stack.push(c);
  }
  const err = by.cancelError;
  for (let i = 0; i < fresh.length; i++) {
    const n = fresh[i]!;
    let w = n.firstWaiter;
    while (w !== null) {
      const next: Waiter<any> | null = w.next;
      w.cancel(err);
      w = next;
    }
    const c = n.ext === null ? null : n.ext.controller;
    if (c !== null && !c.signal.aborted) c.abort(err);
    if (n.kind === 'task') n.onCancelled();
  }
}

/**
 * True when an error leaving scope `s` is the cancellation that `s` itself
 * must absorb: `s` is the outermost cancelled scope and the error is a
 * CancelledError (from any copy of loopwise), or Node's AbortError caused by one.
 */
export function absorbs(s: Scope, error: unknown): boolean {
  return s.cancelledBy === s && cancellationOf(error) !== null;
}

/**
 * Gives `s` a deadline `at` on the active clock, `delayMs` from now (Infinity:
 * none); `budgetMs` is what a TimeoutError reports.
 */
export function armDeadline(s: Scope, delayMs: number, at: number, budgetMs: number): void {
  const d = (extOf(s).deadline = new Deadline(at, budgetMs));
  if (at === Infinity) return;
  if (delayMs <= 0) {
    fireDeadline(s);
    return;
  }
  const clock = rt.clock;
  d.clock = clock;
  d.timer = clock.setTimer(delayMs, fireDeadline, s, true);
}

function fireDeadline(s: Scope): void {
  const d = s.ext!.deadline!;
  d.timer = null;
  if (s.closed || s.cancelError !== null) return;
  d.timedOut = true;
  cancelScope(s, new TimeoutError(d.budgetMs));
}
