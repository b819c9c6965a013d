/**
 * loopwise: tasks, cancel scopes, groups, timeouts, combinators, primitives
 * and introspection. This file only re-exports; see docs/guide.md.
 */
export { spawn, Task, type TaskState, type TaskFn, type SpawnOptions } from './core/task.js';
export { group, type Group } from './core/group.js';
export { timeout, deadline, moveOnAfter, type ScopeBody } from './core/timeout.js';
export { scope, shield, type CancelScope } from './core/cancel-scope.js';
export { sleep, checkpoint, now } from './core/sleep.js';
export { cancellable, type CancellableOptions } from './core/cancellable.js';
export { gather } from './core/combinators/gather.js';
export { race, any } from './core/combinators/race.js';
export { map, type MapFn } from './core/combinators/map.js';
export { asCompleted } from './core/combinators/as-completed.js';
export { Lock } from './core/lock.js';
export { Semaphore } from './core/semaphore.js';
export { Event } from './core/event.js';
export { Queue, type QueueOptions } from './core/queue.js';
export { currentTask, currentSignal, allTasks, taskTree, formatTaskTree, type TaskTreeNode } from './core/introspection.js';
export { configure, type LoopwiseConfig } from './core/configure.js';
export {
  CancelledError,
  TimeoutError,
  GroupClosedError,
  QueueClosedError,
  NotAcquiredError,
  isCancelledError,
} from './core/errors.js';
export type { Thunk } from './core/internal/thunks.js';
