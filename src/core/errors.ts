/**
 * Public error classes of loopwise. Each carries a stable `code`: match on the
 * code, never with `instanceof` (two copies of loopwise in one process have two
 * copies of every class). Codes are listed in docs/errors.md and a test keeps
 * that list and this file in step. Retired codes are never reused.
 */

/**
 * Thrown at a checkpoint inside a cancelled scope, and the `reason` of every
 * cancelled scope's `AbortSignal`. One instance per cancelled scope: every
 * checkpoint of that scope throws the same object, so its stack shows where
 * the cancellation came from (the `cancel()` call or the deadline).
 *
 * @example
 * const t = spawn(() => sleep(1000));
 * t.cancel('shutting down');
 * await t.catch((e) => e.code); // 'LOOPWISE_CANCELLED', e.reason === 'shutting down'
 */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  readonly code = 'LOOPWISE_CANCELLED';
  /** The value passed to `cancel(reason)`, or a `TimeoutError` when a deadline fired. */
  readonly reason: unknown;
  constructor(reason?: unknown) {
    super(reason === undefined ? 'cancelled' : `cancelled: ${describeReason(reason)}`);
    this.reason = reason;
  }
}

/**
 * Thrown by `timeout`/`deadline` when their own deadline fired and cancelled
 * the body. The body saw a `CancelledError` whose `reason` is this error.
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'LOOPWISE_TIMEOUT';
  /** The budget in ms for `timeout(ms)`; for `deadline(at)`, `at - start`. */
  readonly ms: number;
  constructor(ms: number, options?: ErrorOptions) {
    super(`timed out after ${formatMs(ms)} ms`, options);
    this.ms = ms;
  }
}

/** `group.spawn()` after the group has settled. */
export class GroupClosedError extends Error {
  override readonly name = 'GroupClosedError';
  readonly code = 'LOOPWISE_GROUP_CLOSED';
  constructor() {
    super('cannot spawn into a group that has already finished; spawn before the group body returns, or from one of its children');
  }
}

/** `Queue.put`/`tryPut` on a closed queue, `get` on a closed and drained one. */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
  readonly code = 'LOOPWISE_QUEUE_CLOSED';
  constructor(op: string) {
    super(`Queue.${op}: the queue is closed`);
  }
}

/** `Lock.release()` while unlocked, or `Semaphore.release()` beyond its permits. */
export class NotAcquiredError extends Error {
  override readonly name = 'NotAcquiredError';
  readonly code = 'LOOPWISE_NOT_ACQUIRED';
  constructor(what: string) {
    super(`${what}.release() called without a matching acquire()`);
  }
}

/** True for a `CancelledError` from any copy of loopwise. */
export function isCancelledError(e: unknown): e is CancelledError {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'LOOPWISE_CANCELLED';
}

/**
 * The CancelledError an error stands for, or null. Node's own APIs given a
 * scope's signal (timers/promises, fs, http, streams) reject with an
 * `AbortError` whose `cause` is the signal's reason, our CancelledError:
 * at a scope or task boundary that is a cancellation too, not a failure.
 */
export function cancellationOf(e: unknown): CancelledError | null {
  if (isCancelledError(e)) return e;
  if (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError') {
    const cause = (e as { cause?: unknown }).cause;
    if (isCancelledError(cause)) return cause;
  }
  return null;
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string') return reason;
  try {
    return String(reason);
  } catch {
    return Object.prototype.toString.call(reason);
  }
}

function formatMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(3);
}
