/**
 * configure() and debug mode: creation stacks on tasks, and the
 * LOOPWISE_CANCEL_IGNORED warning for a cancelled task that keeps running
 * past `cancelWarningMs`, naming the task and what it awaits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configure, shield, sleep, spawn, taskTree, type Task } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

const debugFixture = fileURLToPath(new URL('../../../test/fixtures/core/debug-env.mjs', import.meta.url));

interface Warning extends Error {
  code?: string;
  detail?: string;
}

type Ctx = { after(fn: () => void): void };

/** Sets config for one test and restores the previous settings after it. */
function withConfig(t: Ctx, opts: { debug?: boolean; cancelWarningMs?: number }): void {
  const previous = configure();
  configure(opts);
  t.after(() => configure(previous));
}

function install(t: Ctx): TestClock {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  return clock;
}

/** Collects process warnings with a loopwise code for the duration of a test. */
function collectWarnings(t: Ctx): Warning[] {
  const seen: Warning[] = [];
  const on = (w: Warning) => {
    if (typeof w.code === 'string' && w.code.startsWith('LOOPWISE_')) seen.push(w);
  };
  process.on('warning', on);
  t.after(() => process.off('warning', on));
  return seen;
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

test('configure() returns the settings in force and changes only what it is given', (t) => {
  const previous = configure();
  t.after(() => configure(previous));
  assert.deepEqual(Object.keys(previous).sort(), ['cancelWarningMs', 'debug']);
  assert.equal(typeof previous.debug, 'boolean');
  assert.deepEqual(configure({ cancelWarningMs: 250 }), { debug: previous.debug, cancelWarningMs: 250 });
  assert.deepEqual(configure({ debug: !previous.debug }), { debug: !previous.debug, cancelWarningMs: 250 });
  assert.deepEqual(configure({}), { debug: !previous.debug, cancelWarningMs: 250 });
});

test('configure() rejects bad settings synchronously', () => {
  assert.throws(() => configure(5 as unknown as object), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^opts must be an object, got 5$/ });
  assert.throws(() => configure({ debug: 1 as unknown as boolean }), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^opts\.debug must be a boolean, got 1$/ });
  assert.throws(() => configure({ cancelWarningMs: -5 }), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: /^opts\.cancelWarningMs .*got -5$/ });
  assert.throws(() => configure({ cancelWarningMs: NaN }), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE' });
  assert.throws(() => configure({ cancelWarningMs: Infinity }), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE' });
  assert.throws(() => configure({ cancelWarningMs: '5' as unknown as number }), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE' });
});

test('debug mode: tasks record their creation stack (shown in taskTree); without it they do not', async (t) => {
  withConfig(t, { debug: false });
  const plain = spawn(() => sleep(0));
  assert.equal((plain as Task<void> & { creationStack?: string }).creationStack, undefined);
  await plain;
  configure({ debug: true });
  const traced = spawn(function tracedBody() {
    return sleep(0);
  }, { name: 'traced' }) as Task<void> & { creationStack?: string };
  const stack = traced.creationStack;
  assert.equal(typeof stack, 'string');
  assert.match(stack!, /configure\.test\.(js|ts)/, 'points at the spawning code');
  assert.doesNotMatch(stack!, /^Error/, 'a stack, not an error header');
  const node = taskTree().children.find((c) => c.name === 'traced');
  assert.equal(node?.stack, stack);
  await traced;
  assertNoTasks();
});

test('LOOPWISE_DEBUG in the environment turns debug mode on; unset, empty, 0 or false leave it off', () => {
  const run = (value: string | undefined) => {
    const env = { ...process.env };
    delete env.LOOPWISE_DEBUG;
    if (value !== undefined) env.LOOPWISE_DEBUG = value;
    const r = spawnSync(process.execPath, [debugFixture], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { config: { debug: boolean }; hasStack: boolean };
  };
  assert.deepEqual(run('1'), { config: { debug: true, cancelWarningMs: 1000 }, hasStack: true });
  assert.deepEqual(run(undefined), { config: { debug: false, cancelWarningMs: 1000 }, hasStack: false });
  for (const off of ['', '0', 'false', 'FALSE']) assert.equal(run(off).config.debug, false, `LOOPWISE_DEBUG=${JSON.stringify(off)}`);
});

test('debug mode warns (LOOPWISE_CANCEL_IGNORED) when a cancelled task is still running after cancelWarningMs, naming the task', async (t) => {
  withConfig(t, { debug: true, cancelWarningMs: 500 });
  const clock = install(t);
  const warnings = collectWarnings(t);
  const f = deferred<void>();
  const stubborn = spawn(async () => {
    await f.promise; // a foreign promise: cancellation cannot interrupt it
  }, { name: 'stubborn' });
  await clock.advance(100);
  stubborn.cancel();
  await clock.advance(499);
  assert.equal(warnings.length, 0, 'not before the bound');
  await clock.advance(1);
  assert.equal(warnings.length, 1);
  const w = warnings[0]!;
  assert.equal(w.name, 'LoopwiseWarning');
  assert.equal(w.code, 'LOOPWISE_CANCEL_IGNORED');
  assert.match(w.message, /"stubborn"/);
  assert.match(w.message, new RegExp(`id ${stubborn.id}\\b`));
  assert.match(w.message, /500 ms/);
  assert.match(w.message, /foreign promise/, 'says it awaits something loopwise cannot cancel');
  assert.match(w.detail ?? '', /spawned at:/);
  assert.match(w.detail ?? '', /configure\.test\.(js|ts)/);
  await clock.advance(10_000);
  assert.equal(warnings.length, 1, 'one warning per task');
  f.resolve();
  await stubborn;
  assert.equal(stubborn.state, 'fulfilled', 'a body that never reached a checkpoint keeps its value');
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('the warning names what the task awaits: a shielded sleep', async (t) => {
  withConfig(t, { debug: true, cancelWarningMs: 1000 });
  const clock = install(t);
  const warnings = collectWarnings(t);
  const task = spawn(() => shield(() => sleep(30_000)), { name: 'slow-cleanup' });
  await clock.advance(1);
  task.cancel();
  await clock.advance(1000);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /"slow-cleanup"/);
  assert.match(warnings[0]!.message, /sleep\(30000\)/);
  assert.match(warnings[0]!.message, /shield\(\.\.\.\)/);
  await clock.runAll();
  await task;
  assertNoTasks();
});

test('the warning names what the task awaits: another task, by name', async (t) => {
  withConfig(t, { debug: true, cancelWarningMs: 200 });
  const clock = install(t);
  const warnings = collectWarnings(t);
  const worker = spawn(() => sleep(5000), { name: 'worker' });
  const waiter = spawn(() => shield(() => worker), { name: 'waiter' });
  await clock.advance(1);
  waiter.cancel();
  await clock.advance(200);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /"waiter"/);
  assert.match(warnings[0]!.message, /awaits worker/);
  worker.cancel();
  await Promise.allSettled([worker, waiter]);
  assertNoTasks();
});

test('no warning for a cancelled task that ends within the bound; its watchdog timer is cleared', async (t) => {
  withConfig(t, { debug: true, cancelWarningMs: 500 });
  const clock = install(t);
  const warnings = collectWarnings(t);
  const task = spawn(async () => {
    try {
      await sleep(10_000);
    } finally {
      await shield(() => sleep(100));
    }
  });
  await clock.advance(1);
  task.cancel();
  await new Promise((r) => setImmediate(r)); // the finally block starts its shielded sleep
  assert.equal(clock.pendingTimers, 2, 'the shielded sleep and the watchdog');
  await clock.advance(100);
  await task.catch(() => {});
  assert.equal(clock.pendingTimers, 0, 'the watchdog was cleared when the task ended');
  await clock.advance(1000);
  assert.deepEqual(warnings, []);
  assertNoTasks();
});

test('no warning and no watchdog when debug mode is off', async (t) => {
  withConfig(t, { debug: false, cancelWarningMs: 100 });
  const clock = install(t);
  const warnings = collectWarnings(t);
  const f = deferred<void>();
  const task = spawn(() => f.promise);
  task.cancel();
  assert.equal(clock.pendingTimers, 0);
  await clock.advance(10_000);
  assert.deepEqual(warnings, []);
  f.resolve();
  await task;
  assertNoTasks();
});

test('on the real clock the debug watchdog is unref’d: it never keeps the process alive', async (t) => {
  withConfig(t, { debug: true, cancelWarningMs: 1 });
  const warnings = collectWarnings(t);
  const before = activeResources();
  const f = deferred<void>();
  const task = spawn(() => f.promise, { name: 'real-clock-stubborn' });
  const warned = once(process, 'warning');
  task.cancel();
  assertNoNewTimers(before); // an unref'd timer is not an active resource
  // Nothing else keeps this process alive while we wait for the unref'd
  // watchdog (which is the point): hold the loop open with a timer of our own.
  const keepAlive = setTimeout(() => {}, 60_000);
  try {
    await warned;
  } finally {
    clearTimeout(keepAlive);
  }
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.code, 'LOOPWISE_CANCEL_IGNORED');
  assert.match(warnings[0]!.message, /"real-clock-stubborn"/);
  f.resolve();
  await task;
  assertNoNewTimers(before);
  assertNoTasks();
});

test('the debug watchdog is cleared on the clock that armed it, even when the clock was swapped meanwhile', async (t) => {
  withConfig(t, { debug: true, cancelWarningMs: 60_000 });
  // Armed on the real clock, cleared while a TestClock is installed.
  const f = deferred<void>();
  const task = spawn(() => f.promise, { name: 'armed-on-real' });
  task.cancel();
  const clock = TestClock.install();
  try {
    f.resolve();
    await task;
    assert.equal(clock.pendingTimers, 0, 'the TestClock never had this timer: its count must not change');
  } finally {
    clock.uninstall();
  }
  // Armed on a TestClock, cleared after it was uninstalled.
  const virtual = TestClock.install();
  const f2 = deferred<void>();
  let task2: Task<void> | undefined;
  try {
    task2 = spawn(() => f2.promise, { name: 'armed-on-virtual' });
    task2.cancel();
    assert.equal(virtual.pendingTimers, 1, 'the watchdog');
  } finally {
    virtual.uninstall();
  }
  f2.resolve();
  await task2;
  assert.equal(virtual.pendingTimers, 0, 'the virtual watchdog was cleared on its own clock');
  assertNoTasks();
});
