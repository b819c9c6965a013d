/**
 * Makes a foreign promise a checkpoint. JavaScript cannot stop someone
 * else's promise, so cancellation stops *waiting* for it, at once, and makes
 * sure nothing leaks: a value that arrives late goes to `dispose` (a pooled
 * client is released, a file handle closed), and a late rejection is observed
 * so it never becomes an unhandledRejection. With the function form the
 * operation also gets the scope's signal, so fetch/undici/pg stop for real.
 *
 * The common case, a native promise awaited without `dispose`, allocates no
 * waiter and no closure: the scope's reusable waiter (`ScopeExt.ckpt`) stands
 * in its waiter list, and the promise's reactions are two functions made once
 * with that waiter. It is the scope's one fast wait at a time: while it is
 * pending, another concurrent cancellable in the same scope takes the general
 * path (a waiter and closures of its own). A wait ends only by its own
 * reaction or by the cancellation of the scope, after which the scope never
 * rearms the waiter, so a late reaction finds it settled and does nothing.
 * Only native promises: a foreign thenable could call a reaction twice, and
 * the second call would settle a later wait.
 * (Finding the scope through the AsyncLocalStorage in a shared reaction
 * instead allocated less but cost ~10% more CPU per await on Node 24.)
 */
import { rt } from './internal/runtime.js';
import { currentScope, extOf, scopeSignal } from './internal/scope.js';
import { show, typeError, checkOptions } from '../internal/validate.js';
import { attachWaiter, Waiter } from './internal/waiter.js';

/** Options of `cancellable`. */
export interface CancellableOptions<T> {
  /** Receives a value that arrived after the wait was cancelled. */
  dispose?: (late: T) => void | PromiseLike<void>;
}

const promiseThen = Promise.prototype.then;

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
  const s = currentScope();
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
  if (dispose === undefined && promise instanceof Promise && promise.then === promiseThen) {
    const x = extOf(s);
    let w = x.ckpt as Waiter<T> | null;
    if (w === null) {
      const made = (w = x.ckpt = new Waiter<T>('cancellable', undefined));
      x.ckptFulfil = (v: T) => made.fulfil(v);
      x.ckptReject = (e: unknown) => made.fail(e);
    } else if (w.settled) w.rearm();
    else w = null;
    if (w !== null) {
      attachWaiter(s, w);
      promise.then(x.ckptFulfil, x.ckptReject);
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
