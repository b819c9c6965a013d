/**
 * `asCompleted`: results in the order they finish (asyncio.as_completed),
 * with at most `concurrency` branches running. The branches live in a scope
 * under the caller; leaving the `for await` loop (break, return, throw)
 * cancels the branches still running and waits for them, so nothing runs on
 * behind the loop. A failing branch ends the loop with its error.
 */
import { Nursery } from '../group.js';
import { Ring } from '../internal/ring.js';
import { cancelScope, currentScope, type Scope } from '../internal/scope.js';
import { checkThunks, readConcurrency, type Thunk } from '../internal/thunks.js';
import { attachWaiter, Waiter } from '../internal/waiter.js';
import type { Task } from '../task.js';

async function* run<T>(parent: Scope, fns: readonly Thunk<T>[], concurrency: number): AsyncGenerator<T, void, undefined> {
  if (parent.cancelledBy !== null) throw parent.cancelledBy.cancelError;
  const n = new Nursery(parent, 'asCompleted');
  const ready = new Ring<Task<T>>();
  const late: unknown[] = [];
  let closing = false;
  let wake: Waiter<void> | null = null;
  let started = 0;
  let running = 0;
  const startMore = (): void => {
    while (started < fns.length && running < concurrency) {
      running++;
      n.spawnChild(fns[started]!, undefined, started);
      started++;
    }
  };
  n.onChild = (t) => {
    running--;
    if (closing) {
      if (t.state === 'rejected') late.push(t.result.error);
      return;
    }
    ready.push(t as Task<T>);
    if (wake !== null) {
      const w = wake;
      wake = null;
      w.fulfil(undefined);
    }
    startMore();
  };
  let primary: unknown;
  let failed = false;
  let yielded = 0;
  startMore();
  try {
    while (yielded < fns.length) {
      const t = ready.shift();
      if (t === undefined) {
        const s = currentScope();
        if (s.cancelledBy !== null) throw s.cancelledBy.cancelError;
        const w = new Waiter<void>('asCompleted', undefined);
        attachWaiter(s, w);
        wake = w;
        await w.promise;
        continue;
      }
      yielded++;
      if (t.state === 'fulfilled') {
        yield t.result.value as T;
      } else {
        failed = true;
        primary = t.state === 'cancelled' ? (n.cancelledBy?.cancelError ?? t.result.error) : t.result.error;
        throw primary;
      }
    }
  } finally {
    // Leaving with an error: branches that had already failed but were not
    // reached yet are reported with it. Leaving by break/return discards what
    // was not consumed, failures included: the loop said it was done.
    if (failed) {
      for (let t = ready.shift(); t !== undefined; t = ready.shift()) if (t.state === 'rejected') late.push(t.result.error);
    }
    closing = true;
    if (wake !== null) {
      (wake as Waiter<void>).detach();
      wake = null;
    }
    cancelScope(n, 'asCompleted: the loop was left');
    const pending = n.settled();
    if (pending !== undefined) await pending;
    n.end();
    if (late.length > 0) {
      const all = failed ? [primary, ...late] : late;
      // eslint-disable-next-line no-unsafe-finally
      throw all.length === 1 ? all[0] : new AggregateError(all, `${all.length} branches of asCompleted failed`);
    }
  }
}

/**
 * Yields each branch's result as it completes, running at most `concurrency`
 * at once (default: all).
 *
 * @throws the first branch failure, after cancelling and awaiting the rest
 * @example
 * for await (const page of asCompleted(urls.map((u) => (signal) => fetchPage(u, signal)), { concurrency: 4 })) {
 *   if (page.hasAnswer) break; // cancels the fetches still running
 * }
 */
export function asCompleted<T>(fns: readonly Thunk<T>[], opts?: { concurrency?: number }): AsyncIterableIterator<T> {
  checkThunks(fns, 'fns');
  const concurrency = readConcurrency(opts);
  return run(currentScope(), fns, concurrency);
}
