/**
 * Structured concurrency: a group (Trio's nursery, asyncio's TaskGroup) runs a
 * body that spawns children, and settles only once the body and every child
 * have settled. The first failure cancels the group scope; the group then
 * rejects with that error, or an AggregateError of every failure in the order
 * they happened. A child ended by its own `cancel()` is not a failure.
 *
 * `Nursery` is the shared engine: `group`, `gather`, `race`, `any`, `map` and
 * `asCompleted` are each a Nursery with a different policy for what a child's
 * outcome means.
 */
import { cancellationOf, GroupClosedError } from './errors.js';
import { cancelScope, closeScope, currentScope, keepShape, runIn, Scope, scopeSignal, type ScopeKind } from './internal/scope.js';
import { checkFunction, checkName, checkOptions } from '../internal/validate.js';
import { Task, type SpawnOptions, type TaskFn, type TaskOwner } from './task.js';

/** The handle a group body receives. */
export interface Group {
  /** Starts a child; the group waits for it. Throws LOOPWISE_GROUP_CLOSED once the group has settled. */
  spawn<R>(fn: TaskFn<R>, opts?: SpawnOptions): Task<R>;
  /** The group scope's signal: aborted when the group is cancelled. */
  readonly signal: AbortSignal;
}

/** @internal */
export class Nursery extends Scope implements TaskOwner {
  /** Children (and the body, for group) not yet settled. */
  live = 0;
  failures: unknown[] | null = null;
  open = true;
  /** Does a failing child cancel the rest (all but gather's settle mode)? */
  failFast = true;
  #idle: (() => void) | null = null;
  /** Called for each settled child before the failure policy runs. */
  onChild: ((t: Task<any>) => void) | null = null;

  constructor(parent: Scope, kind: ScopeKind) {
    super(parent, kind);
  }

  spawnChild<R>(fn: TaskFn<R>, name: string | undefined, slot: number): Task<R> {
    if (!this.open) throw new GroupClosedError();
    this.live++;
    const t = new Task<R>(this, name, this);
    t.slot = slot;
    return t.start(fn);
  }

  childDone(t: Task<any>): void {
    if (this.onChild !== null) this.onChild(t);
    else if (t.state === 'rejected' && this.failFast) this.fail(t.result.error);
    if (--this.live === 0 && this.#idle !== null) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }

  fail(error: unknown): void {
    (this.failures ??= []).push(error);
    cancelScope(this, error);
  }

  /** Resolves once every child has settled (not a checkpoint: structured exit). */
  settled(): Promise<void> | undefined {
    if (this.live === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
  }

  /**
   * Closes the scope; throws the failure(s) if any; then, being the exit
   * checkpoint, throws the enclosing scope's CancelledError if cancellation
   * reached the group from outside (even when every child had finished).
   */
  close(): void {
    this.end();
    this.exitCheckpoint();
  }

  /** Closes the scope; throws the failure(s) if any. */
  end(): void {
    this.open = false;
    closeScope(this);
    const f = this.failures;
    if (f !== null) throw f.length === 1 ? f[0] : new AggregateError(f, `${f.length} tasks of a ${this.kind} failed`);
  }

  /** Throws the enclosing scope's CancelledError if cancellation reached this scope from outside. */
  exitCheckpoint(): void {
    const by = this.cancelledBy;
    if (by !== null && by !== this) throw by.cancelError;
  }
}

class GroupHandle implements Group {
  readonly #n: Nursery;
  constructor(n: Nursery) {
    this.#n = n;
  }
  spawn<R>(fn: TaskFn<R>, opts?: SpawnOptions): Task<R> {
    if (!this.#n.open) throw new GroupClosedError();
    checkFunction(fn, 'fn');
    let name: string | undefined;
    if (opts !== undefined) {
      checkOptions(opts, 'opts');
      checkName(opts.name, 'opts.name');
      name = opts.name;
    }
    return this.#n.spawnChild(fn, name, 0);
  }
  get signal(): AbortSignal {
    return scopeSignal(this.#n);
  }
}

// Keeps the hidden classes of Nursery and GroupHandle alive (see keepShape).
keepShape(new GroupHandle(new Nursery(null as unknown as Scope, 'group')));

/**
 * Runs `body` with a group to spawn children into; settles after the body and
 * every child. The first failure cancels the rest.
 *
 * @throws the first failure, or AggregateError of all failures in order
 * @throws CancelledError (LOOPWISE_CANCELLED) when an enclosing scope was cancelled
 * @example
 * const [a, b] = await group(async (g) => {
 *   const a = g.spawn(() => loadUser(1));
 *   const b = g.spawn(() => loadUser(2));
 *   return [await a, await b];
 * });
 */
export function group<T>(body: (g: Group) => T | PromiseLike<T>): Promise<T> {
  checkFunction(body, 'body');
  return runGroup(body);
}

async function runGroup<T>(body: (g: Group) => T | PromiseLike<T>): Promise<T> {
  const n = new Nursery(currentScope(), 'group');
  let value: T | undefined;
  let bodyError: unknown;
  let bodyFailed = false;
  try {
    value = await runIn(n, body, new GroupHandle(n));
  } catch (e) {
    bodyFailed = true;
    bodyError = e;
    if (n.cancelledBy !== null && cancellationOf(e) !== null) bodyError = cancellationOf(e);
    else n.fail(e);
  }
  const pending = n.settled();
  if (pending !== undefined) await pending;
  n.close();
  if (bodyFailed) throw bodyError;
  return value as T;
}
