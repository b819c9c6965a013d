/**
 * Tasks: a function running concurrently in its own cancel scope, like
 * asyncio's Task. A Task is itself the scope node (one object per task, not a
 * task plus a scope plus an AbortController): spawn+join of 100 000 live tasks
 * is GC-bound, and every extra object per task shows.
 *
 * `spawn` makes the task a child of the calling scope for cancellation:
 * cancelling that scope (a timeout around the code that spawned it, the
 * parent task) cancels the task too. The spawner does not wait for it; if the
 * spawning scope ends first, the task moves up to the nearest live ancestor.
 * Use `group` when the parent must wait for its children.
 *
 * A detached task's failure nobody awaits reaches `unhandledRejection`, like
 * an unawaited rejected promise; a cancelled task never does.
 */
import { cancellationOf } from './errors.js';
import type { Clock } from './internal/clock.js';
import { rt } from './internal/runtime.js';
import { cancelScope, closeScope, currentScope, keepShape, runInStore, Scope, scopeSignal } from './internal/scope.js';
import { checkFunction, checkName, checkOptions } from '../internal/validate.js';
import { attachWaiter, Waiter } from './internal/waiter.js';

export type TaskState = 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** What a task body receives: its scope's signal (made only if declared). */
export type TaskFn<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** Receives each finished child of a group or combinator. */
export interface TaskOwner {
  childDone(task: Task<any>): void;
}

/** Options of `spawn` and `Group.spawn`. */
export interface SpawnOptions {
  /** Shown by taskTree/ps and in debug warnings; default `Task-<id>`. */
  name?: string;
}

/**
 * A running function with its own cancel scope. Await it (a checkpoint) for
 * its value; `cancel()` it from anywhere.
 */
export class Task<T = unknown> extends Scope implements PromiseLike<T> {
  /** Unique in the process (shared by every copy of loopwise). */
  readonly id: number;
  /** The name given to spawn; in debug mode a TaskDebug that holds it (one field for both). */
  #meta: string | TaskDebug | undefined;
  #state: TaskState = 'running';
  /** The value once fulfilled, the error once rejected or cancelled. */
  #result: unknown = undefined;
  #promise: Promise<T | undefined> = undefined as unknown as Promise<T | undefined>;
  /** @internal The group or combinator that joins this task; null when detached. */
  readonly owner: TaskOwner | null;
  /** @internal Position in a combinator's input. */
  slot = 0;

  /** @internal use `spawn` or `Group.spawn`. */
  constructor(parent: Scope, name: string | undefined, owner: TaskOwner | null) {
    super(parent, 'task');
    this.task = this;
    this.id = rt.nextTaskId++;
    this.#meta = name;
    this.owner = owner;
    if (rt.debug) {
      const holder: { stack?: string } = {};
      Error.captureStackTrace(holder, Task);
      this.#meta = new TaskDebug(name, holder.stack?.replace(/^Error\n/, ''));
    }
  }

  /** Debug mode: where the task was spawned. */
  get creationStack(): string | undefined {
    const m = this.#meta;
    return typeof m === 'object' ? m.creationStack : undefined;
  }

  get name(): string {
    const m = this.#meta;
    return (typeof m === 'object' ? m.name : m) ?? `Task-${this.id}`;
  }

  get state(): TaskState {
    return this.#state;
  }

  /** The task's AbortSignal: aborted with a CancelledError when it is cancelled. */
  get signal(): AbortSignal {
    return scopeSignal(this);
  }

  /** Cancels the task and everything inside it. Idempotent; no-op once finished. */
  cancel(reason?: unknown): void {
    cancelScope(this, reason);
  }

  /**
   * Waits for the task (a checkpoint): throws at once if the awaiting scope is
   * cancelled, and rejects at once if it is cancelled while waiting; the task
   * itself is not cancelled by that (cancel it, or use a group).
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return Task.#join(this).then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return Task.#join(this).then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return Task.#join(this).finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Task';
  }

  /** @internal The value of a fulfilled task, the error of a rejected or cancelled one. */
  get result(): { value: T | undefined; error: unknown } {
    return this.#state === 'fulfilled' ? { value: this.#result as T, error: undefined } : { value: undefined, error: this.#result };
  }

  /** @internal starts the body in the task's context. */
  start(fn: TaskFn<T>): this {
    this.#promise = runInStore(this, runBody, this, fn) as Promise<T | undefined>;
    return this;
  }

  /** @internal */
  settleFulfilled(value: T): T {
    this.#result = value;
    this.#state = 'fulfilled';
    Task.#finish(this);
    return value;
  }

  /** @internal Returns normally unless the failure must reach unhandledRejection. */
  settleRejected(error: unknown): undefined {
    const c = this.cancelledBy !== null ? cancellationOf(error) : null;
    const cancelled = c !== null;
    // A cancelled task rejects with the CancelledError itself, even when Node's
    // API it was awaiting wrapped it in an AbortError.
    if (cancelled) error = c;
    this.#result = error;
    this.#state = cancelled ? 'cancelled' : 'rejected';
    Task.#finish(this);
    if (!cancelled && this.owner === null) throw error;
    return undefined;
  }

  // Static, not instance, private methods: an instance private method gives
  // every task a hidden brand field.
  static #finish(t: Task<any>): void {
    const d = t.#meta;
    if (typeof d === 'object' && d.watchdog !== null) {
      d.watchdogClock!.clearTimer(d.watchdog);
      d.watchdog = null;
    }
    closeScope(t);
    if (t.owner !== null) t.owner.childDone(t);
  }

  /** @internal The settled outcome as a promise (the task must have settled). */
  outcome(): Promise<T> {
    // A detached task's own promise carries its real outcome (and touching it
    // marks a reported unhandled rejection as handled).
    if (this.#state === 'fulfilled' || (this.#state === 'rejected' && this.owner === null)) {
      return this.#promise as Promise<T>;
    }
    return Promise.reject(this.#result);
  }

  static #join<T>(t: Task<T>): Promise<T> {
    const s = currentScope();
    if (s.cancelledBy !== null) return Promise.reject(s.cancelledBy.cancelError);
    if (t.#state !== 'running') return t.outcome();
    const settled = t.#promise.then(() => t.outcome());
    if (s === rt.root) return settled;
    const w = new Waiter<T>('task', t);
    attachWaiter(s, w);
    settled.then(
      (v) => w.fulfil(v),
      (e) => w.fail(e),
    );
    return w.promise;
  }

  /** @internal */
  override onCancelled(): void {
    if (!rt.debug || this.#state !== 'running') return;
    let d = this.#meta;
    if (typeof d !== 'object') d = this.#meta = new TaskDebug(d, undefined);
    if (d.watchdog === null) {
      d.watchdogClock = rt.clock;
      d.watchdog = rt.clock.setTimer(rt.cancelWarningMs, warnIgnoredCancel, this, false);
    }
  }
}

class TaskDebug {
  watchdog: unknown = null;
  watchdogClock: Clock | null = null;
  constructor(
    readonly name: string | undefined,
    readonly creationStack: string | undefined,
  ) {}
}

// Keeps Task's hidden class alive (see keepShape); it takes no task id.
keepShape(new Task<unknown>(null as unknown as Scope, undefined, null));
rt.nextTaskId--;

/**
 * Runs the body inside the task's context and attaches its one reaction
 * there too. The reaction then runs in the task's context, so the handlers
 * find their task in the AsyncLocalStorage instead of closing over it: no
 * closure and no async wrapper per task (with 100 000 live tasks a suspended
 * async frame each doubled the GC work, and two closures each cost ~25%).
 */
function runBody<T>(task: Task<T>, fn: TaskFn<T>): Promise<T | undefined> {
  let p: Promise<T>;
  try {
    const r = fn.length === 0 ? (fn as () => T | PromiseLike<T>)() : fn(scopeSignal(task));
    // Promise.resolve here, inside the context, so a thenable's then() runs in the task.
    p = r instanceof Promise ? r : Promise.resolve(r);
  } catch (e) {
    p = Promise.reject(e);
  }
  return p.then(onBodyFulfilled, onBodyRejected) as Promise<T | undefined>;
}

function onBodyFulfilled(value: unknown): unknown {
  return (rt.als.getStore() as Task<unknown>).settleFulfilled(value);
}

function onBodyRejected(error: unknown): undefined {
  return (rt.als.getStore() as Task<unknown>).settleRejected(error);
}

/** Describes what the scope subtree of a task is blocked on, for warnings. */
export function describeAwaits(s: Scope): string[] {
  const out: string[] = [];
  const walk = (n: Scope): void => {
    for (let w = n.firstWaiter; w !== null; w = w.next) out.push(describeWaiter(w));
    if (n.kind === 'shield') out.push('shield(...)');
    const waitingFor: string[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) {
      if (c.kind !== 'task') walk(c);
      else if ((c as Task).owner === (n as unknown as TaskOwner)) waitingFor.push((c as Task).name);
    }
    // A group (or combinator) exit waiting for children that have not stopped yet.
    if (waitingFor.length > 0) out.push(`${n.kind} exit, waiting for ${waitingFor.join(', ')}`);
  };
  walk(s);
  return out;
}

/** `sleep(30000)`, `Lock.acquire`, `Task-7`, ... */
export function describeWaiter(w: Waiter<any>): string {
  switch (w.what) {
    case 'sleep':
      return `sleep(${w.arg as number})`;
    case 'task':
      return (w.arg as Task).name;
    default:
      return w.what;
  }
}

function warnIgnoredCancel(task: Task<unknown>): void {
  if (task.state !== 'running') return;
  const awaits = describeAwaits(task);
  const what = awaits.length > 0 ? `it awaits ${awaits.join(', ')}` : 'it awaits nothing loopwise can cancel (a foreign promise, or a loop with no checkpoint)';
  process.emitWarning(
    `task "${task.name}" (id ${task.id}) was cancelled ${rt.cancelWarningMs} ms ago and is still running; ${what}`,
    {
      type: 'LoopwiseWarning',
      code: 'LOOPWISE_CANCEL_IGNORED',
      detail: task.creationStack !== undefined ? `spawned at:\n${task.creationStack}` : undefined,
    },
  );
}

/**
 * Runs `fn` as a new task in the calling scope: cancelling that scope cancels
 * the task; nobody waits for it unless it is awaited.
 *
 * @example
 * const t = spawn(async (signal) => (await fetch(url, { signal })).json(), { name: 'load-user' });
 * const user = await t;
 */
export function spawn<T>(fn: TaskFn<T>, opts?: SpawnOptions): Task<T> {
  checkFunction(fn, 'fn');
  let name: string | undefined;
  if (opts !== undefined) {
    checkOptions(opts, 'opts');
    checkName(opts.name, 'opts.name');
    name = opts.name;
  }
  return new Task<T>(currentScope(), name, null).start(fn);
}
