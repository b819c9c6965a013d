/**
 * A detached task's failure nobody observes reaches Node's
 * `unhandledRejection`, exactly as an unawaited rejected promise would; a
 * cancelled task never does; observing a failure (at once or later) marks
 * it handled. Each scenario runs in its own process
 * (test/fixtures/core/unhandled.mjs), which prints the process-level
 * rejection events in the order they happened.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawn, sleep } from 'loopwise';
import { assertNoTasks } from '../helpers/leaks.js';

const fixture = fileURLToPath(new URL('../../../test/fixtures/core/unhandled.mjs', import.meta.url));

function run(scenario: string, ...flags: string[]): { status: number | null; events: unknown; stderr: string } {
  const r = spawnSync(process.execPath, [fixture, scenario, ...flags], { encoding: 'utf8', timeout: 30_000 });
  let events: unknown = null;
  try {
    events = r.stdout === '' ? null : JSON.parse(r.stdout);
  } catch {
    events = r.stdout;
  }
  return { status: r.status, events, stderr: r.stderr };
}

test('a detached task that fails, unobserved, reaches unhandledRejection with its error', () => {
  const r = run('detached');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['unhandledRejection', 'Error', 'detached boom']]);
});

test('a detached task whose function throws synchronously reaches unhandledRejection too (spawn itself does not throw)', () => {
  const r = run('detached-sync-throw');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['unhandledRejection', 'Error', 'sync boom']]);
});

test('with no handler installed, Node’s default for an unhandled rejection applies: the process fails with the error', () => {
  const r = run('detached', '--no-handler');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Error: detached boom/);
  assert.equal(r.events, null, 'the process died before printing');
});

test('a detached task spawned inside another task that finished is still reported', () => {
  const r = run('nested-detached');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['parent returned'], ['unhandledRejection', 'Error', 'grandchild boom']]);
});

test('a cancelled, unobserved task never reaches unhandledRejection', () => {
  const r = run('cancelled');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, []);
  const d = run('cancelled', '--no-handler');
  assert.equal(d.status, 0, d.stderr);
  assert.equal(d.stderr, '');
});

test('a task cancelled inside a Node API (AbortError), unobserved, never reaches unhandledRejection', () => {
  const r = run('cancelled-in-node-api');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['state', 'cancelled']]);
});

test('a task cancelled through its parent, unobserved, never reaches unhandledRejection', () => {
  const r = run('cancelled-by-parent');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, []);
});

test('a failure observed in the same turn is never reported', () => {
  const r = run('awaited-at-once');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['caught', 'observed']]);
});

test('awaiting a failed task later marks its reported rejection handled (rejectionHandled)', () => {
  const r = run('awaited-later');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['unhandledRejection', 'Error', 'late'], ['awaiting'], ['caught', 'late'], ['rejectionHandled']]);
});

test('a failure observed by another task awaiting it is not reported', () => {
  const r = run('observed-by-task');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['task caught', 'inner']]);
});

test('a group child’s failure is the group’s: it is not reported separately', () => {
  const r = run('group-child');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [['caught', 'child boom']]);
});

test('a task that rethrows the CancelledError of a task it awaited ends rejected, and is reported like any failure', () => {
  const r = run('rethrown-foreign-cancel');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [
    ['unhandledRejection', 'CancelledError', 'cancelled'],
    ['outer state', 'rejected'],
  ]);
});

test('in-process: no unhandledRejection from cancelled or observed tasks', async (t) => {
  const seen: unknown[] = [];
  const onUnhandled = (e: unknown) => seen.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const a = spawn(() => sleep(60_000));
  a.cancel();
  const b = spawn(async () => {
    throw new Error('observed');
  });
  const caught = await b.catch((e: Error) => e.message);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  assert.equal(caught, 'observed');
  assert.equal(a.state, 'cancelled');
  assert.equal(b.state, 'rejected');
  assert.deepEqual(seen, []);
  assertNoTasks();
});
