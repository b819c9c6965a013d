/**
 * The one runtime record per process, shared by every copy of loopwise loaded
 * into it (two versions in node_modules, ESM and a bundled copy) under a
 * versioned global symbol, so they see one scope tree, one clock and one task
 * registry. Bump the version in the key whenever the shape of this record or
 * of Scope/Task changes: copies with different shapes must not meet.
 *
 * What lives here is the whole of loopwise's process-wide state (see
 * docs/globals.md): scope storage, the active clock, the root of the task tree
 * (which is the registry: tasks are found by walking it), and the debug flags.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { realClock, type Clock } from './clock.js';
import type { Scope } from './scope.js';

export interface Runtime {
  readonly version: 2;
  /** The innermost scope of the running code; undefined means the root. */
  readonly als: AsyncLocalStorage<Scope>;
  clock: Clock;
  /** The root scope; set by scope.ts when it first loads. */
  root: Scope;
  debug: boolean;
  /** Debug mode: warn when a cancelled task is still running after this long. */
  cancelWarningMs: number;
  nextTaskId: number;
  /** The never-aborting signal handed out at the root. */
  rootSignal: AbortSignal | null;
  /**
   * `checkpoint()` yields in flight: TestClock keeps letting the loop turn
   * while code woken by a timer is still stepping through checkpoints.
   */
  pendingYields: number;
}

// 2: Scope lost lastChild/lastWaiter/shielded/cancelRequested and moved its
// controller and deadline to Scope.ext (a copy of version 1 would corrupt its lists).
const KEY = Symbol.for('loopwise.runtime.2');

function envDebug(): boolean {
  const v = process.env.LOOPWISE_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

const g = globalThis as { [KEY]?: Runtime };

export const rt: Runtime = (g[KEY] ??= {
  version: 2,
  als: new AsyncLocalStorage<Scope>(),
  clock: realClock,
  root: undefined as unknown as Scope,
  debug: envDebug(),
  cancelWarningMs: 1000,
  nextTaskId: 1,
  rootSignal: null,
  pendingYields: 0,
});
