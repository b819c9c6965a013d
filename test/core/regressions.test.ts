/**
 * Bugs found while building the core, each pinned by a test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { group, moveOnAfter, scope, shield, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { assertNoTasks } from '../helpers/leaks.js';

test('a body that returns a Task directly is interrupted by its timeout (the join is a checkpoint of the timeout scope)', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const slow = spawn(() => sleep(60_000), { name: 'slow' });
  const p = timeout(50, () => slow).then(
    () => 'no timeout',
    (e: { code: string; ms: number }) => `${e.code}:${e.ms}`,
  );
  await clock.advance(50);
  assert.equal(await p, 'LOOPWISE_TIMEOUT:50');
  assert.equal(slow.state, 'running', 'the awaited task is not cancelled by the awaiter');
  slow.cancel();
  await slow.catch(() => {});
  assertNoTasks();
});

test('the same holds for moveOnAfter, scope and group bodies returning a Task', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const slow = spawn(() => sleep(60_000));
  const moved = moveOnAfter(10, () => slow);
  const scoped = scope((s) => {
    s.cancel();
    return slow;
  });
  const grouped = group((g) => {
    g.spawn(async () => {
      throw new Error('child failed');
    });
    return slow;
  }).catch((e: Error) => e.message);
  await clock.advance(10);
  assert.equal(await moved, undefined);
  assert.equal(await scoped, undefined);
  assert.equal(await grouped, 'child failed');
  slow.cancel();
  await slow.catch(() => {});
  assertNoTasks();
});

test('a shield body returning a Task is not interrupted by the outer timeout', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const job = spawn(async () => {
    await sleep(100);
    return 'finished';
  });
  const log: string[] = [];
  const p = timeout(10, async () => {
    log.push(await shield(() => job));
    await sleep(0);
  }).catch((e: { code: string }) => log.push(e.code));
  await clock.advance(100);
  await p;
  assert.deepEqual(log, ['finished', 'LOOPWISE_TIMEOUT']);
  assertNoTasks();
});

test('TimeoutError.ms is the exact budget, not a float difference', async (t) => {
  const clock = TestClock.install({ now: 0.1 });
  t.after(() => clock.uninstall());
  const p = timeout(50, () => sleep(1000)).catch((e: { ms: number }) => e.ms);
  await clock.advance(50);
  assert.equal(await p, 50);
});
