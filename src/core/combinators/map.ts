/**
 * `map`: bounded-concurrency map over a sync or async iterable, results in
 * input order. Pull-based: `concurrency` worker tasks take the next item when
 * they are free, instead of building one pending promise per item up front
 * (p-limit, a semaphore over `items.map`): 100 000 pending promises are what
 * makes those 5-25x slower (shared/research/core-baselines.md, section 5).
 * Structured like `gather`: the first failure cancels the workers, no new
 * item starts, and `map` returns only once every worker has stopped.
 */
import { Nursery } from '../group.js';
import { cancellable } from '../cancellable.js';
import { currentScope, scopeSignal, type Scope } from '../internal/scope.js';
import { readConcurrency } from '../internal/thunks.js';
import { checkFunction, show, typeError } from '../../internal/validate.js';
import type { Task } from '../task.js';

export type MapFn<I, O> = (item: I, index: number, signal: AbortSignal) => O | PromiseLike<O>;

interface ArrayState<I, O> {
  next: number;
  readonly items: ArrayLike<I>;
  readonly out: O[];
  readonly fn: MapFn<I, O>;
}

async function arrayWorker<I, O>(st: ArrayState<I, O>): Promise<void> {
  const me = currentScope();
  const fn = st.fn;
  const signal = (fn.length >= 3 ? scopeSignal(me) : undefined) as AbortSignal;
  const items = st.items;
  while (st.next < items.length) {
    if (me.cancelledBy !== null) throw me.cancelledBy.cancelError;
    const i = st.next++;
    st.out[i] = await fn(items[i] as I, i, signal);
  }
}

function finish<O>(n: Nursery, workers: Task<unknown>[] | null, out: O[]): O[] {
  n.close();
  if (n.cancelledBy !== null && workers !== null) {
    for (const w of workers) if (w.state === 'cancelled') throw n.cancelledBy.cancelError;
  }
  return out;
}

async function mapArray<I, O>(parent: Scope, items: ArrayLike<I>, fn: MapFn<I, O>, concurrency: number): Promise<O[]> {
  const n = new Nursery(parent, 'map');
  const st: ArrayState<I, O> = { next: 0, items, out: new Array(items.length), fn };
  const worker = () => arrayWorker(st);
  const count = Math.min(concurrency, items.length);
  const workers: Task<unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) workers[i] = n.spawnChild(worker, undefined, i);
  const pending = n.settled();
  if (pending !== undefined) await pending;
  return finish(n, workers, st.out);
}

async function mapAsync<I, O>(parent: Scope, items: AsyncIterable<I>, fn: MapFn<I, O>, concurrency: number): Promise<O[]> {
  const n = new Nursery(parent, 'map');
  const out: O[] = [];
  let inflight = 0;
  let wake: (() => void) | null = null;
  let cancelledItem = false;
  n.onChild = (t) => {
    if (t !== feeder) {
      inflight--;
      if (t.state === 'fulfilled') out[t.slot] = t.result.value as O;
      else if (t.state === 'cancelled') cancelledItem = true;
    }
    if (t.state === 'rejected') n.fail(t.result.error);
    else if (t.state === 'cancelled' && t === feeder) cancelledItem = true;
    if (wake !== null) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const withSignal = fn.length >= 3;
  const feeder: Task<unknown> = n.spawnChild(
    async () => {
      const me = currentScope();
      const it = items[Symbol.asyncIterator]();
      let done = false;
      try {
        for (let index = 0; ; index++) {
          while (inflight >= concurrency) {
            await new Promise<void>((r) => (wake = r));
            if (me.cancelledBy !== null) throw me.cancelledBy.cancelError;
          }
          if (me.cancelledBy !== null) throw me.cancelledBy.cancelError;
          const r = await cancellable(it.next());
          if (r.done) {
            done = true;
            return;
          }
          const v = r.value;
          const i = index;
          inflight++;
          n.spawnChild(withSignal ? (signal) => fn(v, i, signal) : () => fn(v, i, undefined as unknown as AbortSignal), undefined, i);
        }
      } finally {
        if (!done && typeof it.return === 'function') await it.return();
      }
    },
    undefined,
    -1,
  );
  const pending = n.settled();
  if (pending !== undefined) await pending;
  n.close();
  if (cancelledItem && n.cancelledBy !== null) throw n.cancelledBy.cancelError;
  return out;
}

/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight
 * (default: unbounded); resolves the results in input order.
 *
 * @throws the first failure (AggregateError if several), after stopping the other calls
 * @throws CancelledError (LOOPWISE_CANCELLED) when the calling scope is cancelled
 * @throws RangeError/TypeError (LOOPWISE_INVALID_ARG_*) for a bad `items`, `fn` or `opts.concurrency`
 * @example
 * const pages = await map(urls, async (url, i, signal) => (await fetch(url, { signal })).text(), { concurrency: 8 });
 */
export function map<I, O>(
  items: Iterable<I> | AsyncIterable<I>,
  fn: MapFn<I, O>,
  opts?: { concurrency?: number },
): Promise<Awaited<O>[]> {
  checkFunction(fn, 'fn');
  const concurrency = readConcurrency(opts);
  const parent = currentScope();
  if (items !== null && typeof items === 'object' || typeof items === 'string') {
    if (Array.isArray(items)) return guard(parent, () => mapArray(parent, items, fn, concurrency)) as Promise<Awaited<O>[]>;
    if (typeof (items as Iterable<I>)[Symbol.iterator] === 'function') {
      return guard(parent, () => mapArray(parent, Array.from(items as Iterable<I>), fn, concurrency)) as Promise<Awaited<O>[]>;
    }
    if (typeof (items as AsyncIterable<I>)[Symbol.asyncIterator] === 'function') {
      return guard(parent, () => mapAsync(parent, items as AsyncIterable<I>, fn, concurrency)) as Promise<Awaited<O>[]>;
    }
  }
  throw typeError(`items must be an iterable or async iterable, got ${show(items)}`);
}

function guard<T>(parent: Scope, run: () => Promise<T>): Promise<T> {
  if (parent.cancelledBy !== null) return Promise.reject(parent.cancelledBy.cancelError);
  return run();
}
