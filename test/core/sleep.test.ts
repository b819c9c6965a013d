/**
 * sleep, checkpoint and now: the loopwise clock, one-turn yields, ref'd
 * timers, and delays beyond 2^31-1 ms chained rather than clamped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpoint, now, scope, sleep, spawn } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

function codeOf(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function install(t: { after(fn: () => void): void }, opts?: { now?: number }): TestClock {
  const clock = TestClock.install(opts);
  t.after(() => clock.uninstall());
  return clock;
}

function timeouts(): number {
  return activeResources().get('Timeout') ?? 0;
}

test('sleep resolves at its due time on the loopwise clock, not before', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = sleep(100).then(() => log.push(`woke at ${now()}`));
  await clock.advance(99);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['woke at 100']);
  assert.equal(clock.pendingTimers, 0);
});

test('sleeps wake in deadline order; equal deadlines in call order', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const all = Promise.all([
    sleep(30).then(() => log.push('30')),
    sleep(10).then(() => log.push('10a')),
    sleep(20).then(() => log.push('20')),
    sleep(10).then(() => log.push('10b')),
  ]);
  await clock.runAll();
  await all;
  assert.deepEqual(log, ['10a', '10b', '20', '30']);
});

test('sleep resolves undefined', async (t) => {
  const clock = install(t);
  const p = sleep(1);
  await clock.advance(1);
  assert.equal(await p, undefined);
});

test('now() is the TestClock’s time while installed, and moves only when it is advanced', async (t) => {
  const clock = install(t, { now: 5000 });
  assert.equal(now(), 5000);
  assert.equal(clock.now(), 5000);
  await checkpoint();
  assert.equal(now(), 5000);
  await clock.advance(250);
  assert.equal(now(), 5250);
});

test('now() on the real clock is monotonic and a number of ms', () => {
  const samples: number[] = [];
  for (let i = 0; i < 1000; i++) samples.push(now());
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i]! >= samples[i - 1]!, 'never goes back');
  assert.equal(typeof samples[0], 'number');
  assert.ok(Number.isFinite(samples[0]));
});

test('checkpoint() yields exactly one macrotask turn (setImmediate), not just a microtask', async () => {
  const log: string[] = [];
  setImmediate(() => log.push('immediate queued before'));
  queueMicrotask(() => log.push('microtask'));
  await checkpoint();
  log.push('after checkpoint');
  setImmediate(() => log.push('immediate queued after'));
  await checkpoint();
  log.push('after second checkpoint');
  assert.deepEqual(log, ['microtask', 'immediate queued before', 'after checkpoint', 'immediate queued after', 'after second checkpoint']);
});

test('sleep(0) is the same one-turn yield as checkpoint(), and makes no timer (no TestClock time needed)', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  setImmediate(() => log.push('immediate queued before'));
  const p = sleep(0).then(() => log.push('sleep(0) done'));
  assert.equal(clock.pendingTimers, 0);
  await p;
  assert.deepEqual(log, ['immediate queued before', 'sleep(0) done']);
});

test('sleep and checkpoint throw at once in a cancelled scope, without waiting', async (t) => {
  const clock = install(t);
  const log: unknown[] = [];
  await scope(async (s) => {
    s.cancel();
    for (const cp of [() => sleep(1000), () => sleep(0), () => sleep(Infinity), () => checkpoint()]) {
      const p = cp();
      log.push(await Promise.race([p.then(() => 'fulfilled', (e: unknown) => codeOf(e)), Promise.resolve().then(() => 'pending')]));
    }
  });
  assert.deepEqual(log, ['LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED']);
  assert.equal(clock.pendingTimers, 0, 'no timer was armed');
});

test('a sleeping task cancelled mid-sleep wakes in the same tick and its timer is cleared', async (t) => {
  const clock = install(t);
  const task = spawn(() => sleep(1000));
  await clock.advance(10);
  assert.equal(clock.pendingTimers, 1);
  task.cancel();
  assert.equal(clock.pendingTimers, 0, 'cleared synchronously by the cancel');
  const r = await Promise.race([
    task.then(
      () => 'fulfilled',
      (e: unknown) => codeOf(e),
    ),
    new Promise((res) => setImmediate(() => res('macrotask first'))),
  ]);
  assert.equal(r, 'LOOPWISE_CANCELLED');
  assertNoTasks();
});

test('a checkpoint cancelled while waiting clears its setImmediate', async () => {
  const before = activeResources();
  const task = spawn(async () => {
    await checkpoint();
  });
  // The task's first checkpoint is now waiting on an Immediate.
  assert.equal((activeResources().get('Immediate') ?? 0) - (before.get('Immediate') ?? 0), 1);
  task.cancel();
  await task.catch(() => {});
  assertNoNewTimers(before);
  assertNoTasks();
});

test('sleep(Infinity) is allowed, arms no timer, and ends only by cancellation', async (t) => {
  const clock = install(t);
  const task = spawn(() => sleep(Infinity));
  assert.equal(clock.pendingTimers, 0);
  await clock.advance(1e12);
  assert.equal(task.state, 'running');
  task.cancel();
  await task.catch(() => {});
  assert.equal(task.state, 'cancelled');
  assertNoTasks();
});

test('bad ms throws synchronously: RangeError for negative/NaN, TypeError for a non-number', () => {
  assert.throws(() => sleep(-1), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: 'ms must be a number >= 0, got -1' });
  assert.throws(() => sleep(NaN), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: /^ms .*NaN/ });
  assert.throws(() => sleep(-Infinity), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: /^ms .*-Infinity/ });
  assert.throws(() => sleep('10' as unknown as number), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^ms .*"10"/ });
  assert.throws(() => sleep(undefined as unknown as number), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^ms .*undefined/ });
  assert.throws(() => sleep(10n as unknown as number), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^ms .*10n/ });
});

test('long delays on the TestClock: sleep(2**31) fires at 2**31 ms, not after 1 ms', async (t) => {
  const clock = install(t);
  const log: number[] = [];
  const p = sleep(2 ** 31).then(() => log.push(now()));
  await clock.advance(1);
  assert.deepEqual(log, [], 'not clamped to 1 ms');
  await clock.advance(2 ** 31 - 2);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, [2 ** 31]);
});

test('long delays on the TestClock: several periods beyond 2^31-1 ms', async (t) => {
  const clock = install(t);
  const ms = 3 * 2 ** 31 + 7;
  let done = false;
  const p = sleep(ms).then(() => (done = true));
  await clock.advance(ms - 1);
  assert.equal(done, false);
  await clock.advance(1);
  await p;
  assert.equal(done, true);
  assert.equal(clock.pendingTimers, 0);
});

test('real clock: sleep(2**31) keeps one ref’d timer handle, does not fire after 1 ms, emits no TimeoutOverflowWarning', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const before = activeResources();
  const task = spawn(() => sleep(2 ** 31), { name: 'long sleeper' });
  assert.equal(timeouts() - (before.get('Timeout') ?? 0), 1, 'one ref’d handle keeps the process alive');
  // A clamped timer would fire after 1 ms: give a real 1 ms timer the chance to fire, twice over.
  for (let i = 0; i < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(task.state, 'running', 'the long sleep did not fire');
  assert.equal(timeouts() - (before.get('Timeout') ?? 0), 1, 'still armed');
  assert.deepEqual(warnings, []);
  task.cancel();
  await task.catch(() => {});
  assertNoNewTimers(before);
  assertNoTasks();
});

test('real clock: a short sleep keeps a ref’d handle while it waits and none after', async () => {
  const before = activeResources();
  const p = sleep(1);
  assert.equal(timeouts() - (before.get('Timeout') ?? 0), 1);
  await p;
  assertNoNewTimers(before);
});

test('while a TestClock is installed a sleep makes no real timer; after uninstall sleeps use the real clock again', async () => {
  const before = activeResources();
  const clock = TestClock.install();
  let virtualDone = false;
  const virtual = sleep(10).then(() => (virtualDone = true));
  assert.equal(timeouts(), before.get('Timeout') ?? 0, 'a virtual sleep makes no real timer');
  await clock.advance(10);
  await virtual;
  assert.equal(virtualDone, true);
  clock.uninstall();
  const real = sleep(1);
  assert.equal(timeouts() - (before.get('Timeout') ?? 0), 1, 'back on the real clock');
  await real;
  assertNoNewTimers(before);
});
