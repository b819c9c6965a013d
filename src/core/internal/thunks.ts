/** Validation shared by the combinators. */
import { checkCount, checkOptions, show, typeError } from '../../internal/validate.js';

/** A branch of a combinator: receives the branch's signal (made only if declared). */
export type Thunk<T = unknown> = (signal: AbortSignal) => T | PromiseLike<T>;

export function checkThunks(fns: unknown, name: string): asserts fns is readonly Thunk[] {
  if (!Array.isArray(fns)) throw typeError(`${name} must be an array of functions, got ${show(fns)}`);
  for (let i = 0; i < fns.length; i++) {
    if (typeof fns[i] !== 'function') throw typeError(`${name}[${i}] must be a function, got ${show(fns[i])}`);
  }
}

export function readConcurrency(opts: unknown): number {
  checkOptions(opts, 'opts');
  const c = (opts as { concurrency?: unknown } | undefined)?.concurrency ?? Infinity;
  checkCount(c, 'opts.concurrency', 1, true);
  return c;
}

export function aggregate(errors: unknown[], what: string): unknown {
  return errors.length === 1 ? errors[0] : new AggregateError(errors, `${errors.length} branches of ${what} failed`);
}
