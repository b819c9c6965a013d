/**
 * Makes a foreign promise a checkpoint. JavaScript cannot stop someone
 * else's promise, so cancellation stops *waiting* for it, at once, and makes
 * sure nothing leaks: a value that arrives late goes to `dispose` (a pooled
 * client is released, a file handle closed), and a late rejection is observed
 * so it never becomes an unhandledRejection. With the function form the
 * operation also gets the scope's signal, so fetch/undici/pg stop for real.
 *
 * The common case, a native promise awaited without `dispose` in a live
 * scope, allocates no waiter and no closure: the scope's reusable waiter
 * (`ScopeExt.ckpt`) stands in its waiter list, and the promise's reaction is a
 * shared function that finds that scope in the AsyncLocalStorage (a native
 * promise's reaction runs in the async context its `then` was called in).
 * It is the scope's one fast wait at a time: while it is pending, another
 * concurrent cancellable in the same scope takes the general path (a waiter
 * and closures of its own). Once cancelled, the scope never rearms it, so a
 * late reaction finds it settled and does nothing.
 */
import { rt } from './internal/runtime.js';
import { currentScope, extOf, scopeSignal, type Scope } from './internal/scope.js';
import { show, typeError, checkOptions } from '../internal/validate.js';
import { attachWaiter, Waiter } from './internal/waiter.js';

/** Options of `cancellable`. */
export interface CancellableOptions<T> {
  /** Receives a value that arrived after the wait was cancelled. */
  dispose?: (late: T) => void | PromiseLike<void>;
}

const promiseThen = Promise.prototype.then;

// The reactions of the fast path: they run in the async context of the
// scope that called cancellable (see the module header).
function onCkptFulfilled(v: unknown): void {
  (rt.als.getStore() as Scope).ext!.ckpt!.fulfil(v);
}

function onCkptRejected(e: unknown): void {
  (rt.als.getStore() as Scope).ext!.ckpt!.fail(e);
}

function reportDisposeError(e: unknown): void {
  // A failing dispose is a bug in cleanup code: surface it like an unawaited rejection.
  void Promise.reject(e);
}

function late<T>(p: PromiseLike<T>, dispose: ((v: T) => unknown) | undefined): void {
  p.then(
    (v) => {
      if (dispose === undefined) return;
      try {
        const r = dispose(v);
        if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
          (r as PromiseLike<unknown>).then(undefined, reportDisposeError);
        }
      } catch (e) {
        reportDisposeError(e);
      }
    },
    () => {},
  );
}

/**
 * Awaits `p` as a checkpoint: rejects with CancelledError at once when the
 * scope is (or becomes) cancelled, without waiting for `p`.
 *
 * @throws CancelledError (LOOPWISE_CANCELLED)
 * @throws TypeError (LOOPWISE_INVALID_ARG_TYPE) when `p` is neither a thenable nor a function
 * @example
 * const client = await cancellable(pool.connect(), { dispose: (c) => c.release() });
 * const res = await cancellable((signal) => fetch(url, { signal }));
 */
export function cancellable<T>(
  p: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>),
  opts?: CancellableOptions<T>,
): Promise<T> {
  let dispose: ((v: T) => unknown) | undefined;
  if (opts !== undefined) {
    checkOptions(opts, 'opts');
    dispose = opts.dispose;
    if (dispose !== undefined && typeof dispose !== 'function') throw typeError(`opts.dispose must be a function, got ${show(dispose)}`);
  }
  const store = rt.als.getStore();
  const s = store === undefined || store.closed ? currentScope() : store;
  if (typeof p === 'function') {
    if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
    try {
      p = p(scopeSignal(s));
    } catch (e) {
      // The operation failed to start: a rejection, as a throwing timeout/scope body gives.
      return Promise.reject(e);
    }
  }
  if (p === null || (typeof p !== 'object' && typeof p !== 'function') || typeof (p as PromiseLike<T>).then !== 'function') {
    throw typeError(`p must be a promise, a thenable or a function returning one, got ${show(p)}`);
  }
  const promise = p as PromiseLike<T>;
  if (s.cancelledBy !== null) {
    late(promise, dispose);
    return Promise.reject(s.cancelledBy.cancelError);
  }
  if (s === rt.root) return Promise.resolve(promise);
  if (s === store && dispose === undefined && promise instanceof Promise && promise.then === promiseThen) {
    const x = extOf(s);
    let w = x.ckpt as Waiter<T> | null;
    if (w === null) w = x.ckpt = new Waiter<T>('cancellable', undefined);
    else if (w.settled) w.rearm();
    else w = null;
    if (w !== null) {
      attachWaiter(s, w);
      promise.then(onCkptFulfilled, onCkptRejected);
      return w.promise;
    }
  }
  const w = new Waiter<T>('cancellable', undefined);
  attachWaiter(s, w);
  promise.then(
    (v) => {
      if (!w.fulfil(v) && dispose !== undefined) late(Promise.resolve(v), dispose);
    },
    (e) => {
      w.fail(e);
    },
  );
  return w.promise;
}
