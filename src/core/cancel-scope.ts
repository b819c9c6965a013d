/**
 * Explicit cancel scopes and shields.
 *
 * `scope(body)` hands the body a CancelScope it can cancel; the cancellation
 * is absorbed at the scope's boundary (it resolves `undefined`). `shield(body)`
 * runs `body` out of reach of outer cancellation: the tool for async cleanup
 * in `finally` under level-triggered cancellation, where every checkpoint of a
 * cancelled scope throws. Once the shield returns, the outer cancellation is
 * seen again at the next checkpoint.
 */
import { absorbs, cancelScope, closeScope, currentScope, keepShape, runIn, Scope, scopeSignal } from './internal/scope.js';
import { checkFunction } from '../internal/validate.js';

/** The handle a `scope` body receives. */
export interface CancelScope {
  /** Cancels everything in the scope; the scope then resolves `undefined`. Idempotent. */
  cancel(reason?: unknown): void;
  /** Aborted with a CancelledError when the scope is cancelled. */
  readonly signal: AbortSignal;
  /** True once the scope is cancelled (by itself or an enclosing scope). */
  readonly cancelled: boolean;
}

class CancelScopeHandle implements CancelScope {
  readonly #s: Scope;
  constructor(s: Scope) {
    this.#s = s;
  }
  cancel(reason?: unknown): void {
    cancelScope(this.#s, reason);
  }
  get signal(): AbortSignal {
    return scopeSignal(this.#s);
  }
  get cancelled(): boolean {
    return this.#s.cancelledBy !== null;
  }
}

// Keeps CancelScopeHandle's hidden class alive (see keepShape).
keepShape(new CancelScopeHandle(new Scope(null, 'scope')));

/**
 * Runs `body` in a cancel scope it controls. Resolves the body's value, or
 * `undefined` when the scope itself was cancelled.
 *
 * @example
 * const found = await scope(async (s) => {
 *   for await (const row of rows()) if (row.ok) { s.cancel(); return row; }
 * });
 */
export function scope<T>(body: (s: CancelScope) => T | PromiseLike<T>): Promise<T | undefined> {
  checkFunction(body, 'body');
  return runScope(body);
}

async function runScope<T>(body: (s: CancelScope) => T | PromiseLike<T>): Promise<T | undefined> {
  const s = new Scope(currentScope(), 'scope');
  try {
    return await runIn(s, body, new CancelScopeHandle(s));
  } catch (e) {
    if (absorbs(s, e)) return undefined;
    throw e;
  } finally {
    closeScope(s);
  }
}

/**
 * Runs `body` protected from outer cancellation (checkpoints inside do not
 * throw for it). Bound it yourself when it may hang:
 * `shield(() => timeout(1000, cleanup))`.
 *
 * @example
 * try { await work(); } finally { await shield(() => conn.close()); }
 */
export function shield<T>(body: () => T | PromiseLike<T>): Promise<T> {
  checkFunction(body, 'body');
  return runShield(body);
}

async function runShield<T>(body: () => T | PromiseLike<T>): Promise<T> {
  const s = new Scope(currentScope(), 'shield');
  try {
    return await runIn(s, body as (arg: undefined) => T | PromiseLike<T>, undefined);
  } finally {
    closeScope(s);
  }
}
