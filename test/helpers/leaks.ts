/**
 * Leak checks for the end of a test: nothing loopwise-made may outlive the
 * scopes that made it. Looks at the live task tree and at the process's
 * active handles (timers, immediates, workers) by type.
 */
import assert from 'node:assert/strict';
import { allTasks, taskTree } from 'loopwise';

/** Active handle/request counts by resource type (timers: 'Timeout'). */
export function activeResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Asserts no running task and no scope is left under the root. */
export function assertNoTasks(): void {
  assert.deepEqual(allTasks().map((t) => t.name), [], 'tasks still running');
  assert.deepEqual(taskTree().children.map((c) => c.name), [], 'scopes still open under the root');
}

/** Asserts no more timers are active than `before` had. */
export function assertNoNewTimers(before: Map<string, number>): void {
  const now = activeResources();
  for (const kind of ['Timeout', 'Immediate']) {
    assert.ok((now.get(kind) ?? 0) <= (before.get(kind) ?? 0), `${kind} handles leaked: ${before.get(kind) ?? 0} -> ${now.get(kind) ?? 0}`);
  }
}
