/**
 * `gather`: run branches concurrently and collect every result, like
 * asyncio.gather / Promise.all, but structured: the first failure cancels
 * the other branches and `gather` returns only once all of them have
 * settled, so no branch is ever left running behind a rejection.
 * `{ settle: true }` is Promise.allSettled: failures do not cancel siblings.
 */
import { Nursery } from '../group.js';
import { currentScope } from '../internal/scope.js';
import { checkThunks, type Thunk } from '../internal/thunks.js';
import { checkOptions, show, typeError } from '../../internal/validate.js';
import type { Task } from '../task.js';

type Results<T extends readonly Thunk[]> = { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };
type Settled<T extends readonly Thunk[]> = { -readonly [K in keyof T]: PromiseSettledResult<Awaited<ReturnType<T[K]>>> };

/**
 * Runs every function concurrently; resolves their results in order.
 *
 * @throws the first failure (AggregateError if several), after cancelling and awaiting the rest
 * @throws CancelledError (LOOPWISE_CANCELLED) when the calling scope is cancelled
 * @example
 * const [user, posts] = await gather([() => getUser(id), () => getPosts(id)]);
 */
export function gather<const T extends readonly Thunk[]>(fns: T): Promise<Results<T>>;
export function gather<const T extends readonly Thunk[]>(fns: T, opts: { settle: true }): Promise<Settled<T>>;
export function gather<const T extends readonly Thunk[]>(fns: T, opts?: { settle?: boolean }): Promise<Results<T> | Settled<T>>;
export function gather(fns: readonly Thunk[], opts?: { settle?: boolean }): Promise<unknown[]> {
  checkThunks(fns, 'fns');
  checkOptions(opts, 'opts');
  const settle = opts?.settle ?? false;
  if (typeof settle !== 'boolean') throw typeError(`opts.settle must be a boolean, got ${show(settle)}`);
  return runGather(fns, settle);
}

async function runGather(fns: readonly Thunk[], settle: boolean): Promise<unknown[]> {
  const parent = currentScope();
  if (parent.cancelledBy !== null) throw parent.cancelledBy.cancelError;
  const n = new Nursery(parent, 'gather');
  n.failFast = !settle;
  const tasks: Task<unknown>[] = new Array(fns.length);
  for (let i = 0; i < fns.length; i++) tasks[i] = n.spawnChild(fns[i]!, undefined, i);
  const pending = n.settled();
  if (pending !== undefined) await pending;
  n.close();
  const out = new Array(fns.length);
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    const { value, error } = t.result;
    // Outer cancellation was thrown by close(); what is left is a branch that cancelled itself.
    if (t.state === 'cancelled' && !settle) throw error;
    out[i] = settle ? (t.state === 'fulfilled' ? { status: 'fulfilled', value } : { status: 'rejected', reason: error }) : value;
  }
  return out;
}
