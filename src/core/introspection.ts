/**
 * Introspection: what is running, where, and what it waits for: the task
 * tree asyncio 3.14 prints with `python -m asyncio pstree`, available live
 * in-process (and, later, from outside through `loopwise ps`). The tree is
 * the task registry: running tasks are exactly the task nodes reachable from
 * the root, so nothing is kept for a task once it ends.
 */
import { rt } from './internal/runtime.js';
import { currentScope, lastChildOf, scopeSignal, type Scope, type ScopeKind } from './internal/scope.js';
import { describeWaiter, Task, type TaskState } from './task.js';

/** One node of `taskTree()`: a task or a scope. */
export interface TaskTreeNode {
  kind: ScopeKind;
  /** Task name, or a label for scopes (`timeout(5000)`, `group`, `root`). */
  name: string;
  /** Task id (absent for other scopes). */
  id?: number;
  /** Task state; scopes are `running` or `cancelled`. */
  state: TaskState | 'cancelling';
  /** True once cancellation has reached the node. */
  cancelled: boolean;
  /** ms since the node started, on the loopwise clock. */
  ageMs: number;
  /** What code in this node waits on: `sleep(30000)`, `Lock.acquire`, `Task-7`, `cancellable`... */
  awaiting: string[];
  /** Debug mode: where the task was spawned. */
  stack?: string;
  children: TaskTreeNode[];
}

/** The task the calling code runs in (undefined outside any task). */
export function currentTask(): Task<unknown> | undefined {
  return (currentScope().task as Task<unknown> | null) ?? undefined;
}

/**
 * The innermost scope's AbortSignal: pass it to fetch, streams, timers and
 * drivers so they stop when the scope is cancelled. At the root it never aborts.
 *
 * @example
 * const res = await fetch(url, { signal: currentSignal() });
 */
export function currentSignal(): AbortSignal {
  return scopeSignal(currentScope());
}

/** Every running task in the process. */
export function allTasks(): Task<unknown>[] {
  const out: Task<unknown>[] = [];
  const stack: Scope[] = [rt.root];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (s.kind === 'task') out.push(s as Task<unknown>);
    const first = s.firstChild;
    for (let c = lastChildOf(s); c !== null; c = c === first ? null : c.prevSibling) stack.push(c);
  }
  return out;
}

function label(s: Scope): string {
  switch (s.kind) {
    case 'timeout':
    case 'moveOnAfter':
      return `${s.kind}(${round(s.ext?.deadline?.budgetMs ?? Infinity)})`;
    case 'deadline':
      return `deadline(${round(s.ext?.deadline?.at ?? Infinity)})`;
    default:
      return s.kind;
  }
}

function round(ms: number): string {
  return Number.isFinite(ms) ? String(Math.round(ms)) : String(ms);
}

function node(s: Scope, t: number): TaskTreeNode {
  const awaiting: string[] = [];
  for (let w = s.firstWaiter; w !== null; w = w.next) awaiting.push(describeWaiter(w));
  const children: TaskTreeNode[] = [];
  for (let c = s.firstChild; c !== null; c = c.nextSibling) children.push(node(c, t));
  const cancelled = s.cancelledBy !== null;
  const n: TaskTreeNode = {
    kind: s.kind,
    name: s.kind === 'task' ? (s as Task<unknown>).name : label(s),
    state: 'running',
    cancelled,
    ageMs: t - s.startedAt,
    awaiting,
    children,
  };
  if (s.kind === 'task') {
    const task = s as Task<unknown>;
    n.id = task.id;
    n.state = task.state === 'running' && cancelled ? 'cancelling' : task.state;
    if (task.creationStack !== undefined) n.stack = task.creationStack;
  } else if (cancelled) {
    n.state = 'cancelling';
  }
  return n;
}

/** A snapshot of the whole scope tree, from the root (or from `from`). */
export function taskTree(from?: Task<unknown>): TaskTreeNode {
  return node(from ?? rt.root, rt.clock.now());
}

function age(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000); // round once, then split: never "1m60s"
  return `${Math.floor(s / 60)}m${s % 60}s`;
}

/**
 * Renders a tree like pstree: one line per node with its state, age and
 * what it awaits.
 *
 * @example
 * console.log(formatTaskTree());
 * // root
 * // └─ poller #1 running 2.0s awaiting sleep(5000)
 */
export function formatTaskTree(tree: TaskTreeNode = taskTree()): string {
  const lines: string[] = [];
  const line = (n: TaskTreeNode): string => {
    let text = n.kind === 'task' ? `${n.name} #${n.id}` : n.name;
    if (n.kind !== 'root') text += ` ${n.state} ${age(n.ageMs)}`;
    if (n.awaiting.length > 0) text += ` awaiting ${n.awaiting.join(', ')}`;
    // Names come from user code: escape C0 and C1 controls (U+009B starts a terminal escape sequence).
    return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  };
  const walk = (n: TaskTreeNode, prefix: string, last: boolean, top: boolean): void => {
    lines.push(top ? line(n) : `${prefix}${last ? '└─ ' : '├─ '}${line(n)}`);
    const next = top ? '' : prefix + (last ? '   ' : '│  ');
    n.children.forEach((c, i) => walk(c, next, i === n.children.length - 1, false));
  };
  walk(tree, '', true, true);
  return lines.join('\n');
}
