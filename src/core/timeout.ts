/**
 * Deadlines as cancel scopes (Trio's fail_after / move_on_after): the body
 * runs in a scope whose deadline cancels it; only the scope whose own
 * deadline fired converts the cancellation (into TimeoutError, or into
 * `undefined` for moveOnAfter), so nested timeouts compose. A body that
 * finishes without reaching a checkpoint after its deadline keeps its value.
 *
 * One timer per scope, cleared when the scope ends (no AbortSignal.timeout:
 * it makes a signal per call, ~5 µs on Node 20, and never clears its timer).
 */
import { rt } from './internal/runtime.js';
import { absorbs, armDeadline, closeScope, currentScope, runIn, Scope, scopeSignal, type ScopeKind } from './internal/scope.js';
import { checkFunction, checkMs, rangeError, show, typeError } from '../internal/validate.js';

/** A body that receives the scope's signal (made only if declared). */
export type ScopeBody<T> = (signal: AbortSignal) => T | PromiseLike<T>;

function withSignal<T>(s: Scope, body: ScopeBody<T>): Promise<T> {
  return runIn(s, body, (body.length === 0 ? undefined : scopeSignal(s)) as AbortSignal);
}

async function withDeadline<T>(kind: ScopeKind, delayMs: number, at: number, budgetMs: number, body: ScopeBody<T>): Promise<T | undefined> {
  const s = new Scope(currentScope(), kind);
  armDeadline(s, delayMs, at, budgetMs);
  try {
    return await withSignal(s, body);
  } catch (e) {
    if (absorbs(s, e)) {
      if (kind === 'moveOnAfter') return undefined;
      throw (s.cancelError!.reason as Error);
    }
    throw e;
  } finally {
    closeScope(s);
  }
}

/**
 * Runs `body` with a budget of `ms`; when it runs out, the body is cancelled
 * and `timeout` throws TimeoutError (code LOOPWISE_TIMEOUT).
 *
 * @throws TimeoutError when this scope's deadline fired
 * @throws RangeError/TypeError (LOOPWISE_INVALID_ARG_*) for a bad `ms` or `body`
 * @example
 * const user = await timeout(5000, (signal) => fetch(url, { signal }).then((r) => r.json()));
 */
export function timeout<T>(ms: number, body: ScopeBody<T>): Promise<T> {
  checkMs(ms, 'ms', true);
  checkFunction(body, 'body');
  const start = rt.clock.now();
  return withDeadline('timeout', ms, start + ms, ms, body) as Promise<T>;
}

/**
 * Like `timeout`, with an absolute deadline `at` on the loopwise clock (`now()`).
 *
 * @throws TimeoutError when the deadline fired
 * @example
 * const at = now() + 10_000;
 * await deadline(at, () => stepOne());
 * await deadline(at, () => stepTwo()); // shares the same budget
 */
export function deadline<T>(at: number, body: ScopeBody<T>): Promise<T> {
  if (typeof at !== 'number') throw typeError(`at must be a number (a time on the loopwise clock, see now()), got ${show(at)}`);
  if (Number.isNaN(at)) throw rangeError('at must be a time on the loopwise clock (see now()), got NaN');
  checkFunction(body, 'body');
  const start = rt.clock.now();
  return withDeadline('deadline', Math.max(0, at - start), at, at - start, body) as Promise<T>;
}

/**
 * Runs `body` for at most `ms`; when the time runs out the body is cancelled
 * and `moveOnAfter` resolves `undefined` instead of throwing.
 *
 * @example
 * const extra = await moveOnAfter(200, () => loadRecommendations()); // undefined if slow
 */
export function moveOnAfter<T>(ms: number, body: ScopeBody<T>): Promise<T | undefined> {
  checkMs(ms, 'ms', true);
  checkFunction(body, 'body');
  const start = rt.clock.now();
  return withDeadline('moveOnAfter', ms, start + ms, ms, body);
}
