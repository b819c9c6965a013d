/**
 * `race` (first to settle wins) and `any` (first to fulfil wins), structured:
 * once the outcome is decided the other branches are cancelled, and the call
 * returns only after every branch has settled. An error a losing branch
 * throws while being cancelled (other than its CancelledError) is not lost:
 * the call rejects with it (AggregateError when there are several).
 */
import { Nursery } from '../group.js';
import { cancelScope, currentScope } from '../internal/scope.js';
import { aggregate, checkThunks, type Thunk } from '../internal/thunks.js';
import { rangeError } from '../../internal/validate.js';
import type { Task } from '../task.js';

async function runRace<T>(fns: readonly Thunk<T>[], kind: 'race' | 'any'): Promise<T> {
  const parent = currentScope();
  if (parent.cancelledBy !== null) throw parent.cancelledBy.cancelError;
  const n = new Nursery(parent, kind);
  let winner: Task<T> | null = null;
  const late: unknown[] = [];
  const errors: unknown[] = kind === 'any' ? new Array(fns.length) : [];
  n.onChild = (t) => {
    if (winner === null) {
      if (t.state === 'fulfilled' || (kind === 'race' && t.state === 'rejected')) {
        winner = t;
        cancelScope(n, `another branch of ${kind} won`);
      } else if (t.state === 'rejected') {
        errors[t.slot] = t.result.error;
      }
    } else if (t.state === 'rejected') {
      late.push(t.result.error);
    }
  };
  for (let i = 0; i < fns.length; i++) n.spawnChild(fns[i]!, undefined, i);
  const pending = n.settled();
  if (pending !== undefined) await pending;
  n.end();
  const w = winner as Task<T> | null;
  // Errors first (they are never lost), then the exit checkpoint.
  if (w !== null && late.length > 0) throw aggregate(w.state === 'rejected' ? [w.result.error, ...late] : late, kind);
  if (w !== null && w.state === 'rejected') throw w.result.error;
  n.exitCheckpoint();
  if (w !== null) return w.result.value as T;
  throw new AggregateError(errors, `all ${fns.length} branches of any failed`);
}

/**
 * Runs the functions concurrently; the first to settle (fulfil or reject)
 * decides the result, the rest are cancelled and awaited.
 *
 * @throws RangeError (LOOPWISE_INVALID_ARG_VALUE) for an empty array (it would never settle)
 * @example
 * const body = await race([(signal) => fetch(primary, { signal }), (signal) => fetch(mirror, { signal })]);
 */
export function race<T>(fns: readonly Thunk<T>[]): Promise<T> {
  checkThunks(fns, 'fns');
  if (fns.length === 0) throw rangeError('fns must not be empty: a race with no branches never settles');
  return runRace(fns, 'race');
}

/**
 * Runs the functions concurrently; the first to fulfil wins and the rest are
 * cancelled and awaited. If all fail, rejects with an AggregateError of their
 * errors in input order (as Promise.any).
 *
 * @example
 * const conn = await any(replicas.map((r) => () => connect(r)));
 */
export function any<T>(fns: readonly Thunk<T>[]): Promise<T> {
  checkThunks(fns, 'fns');
  return runRace(fns, 'any');
}
