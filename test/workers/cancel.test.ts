/**
 * Cancelling pool jobs: queued (dropped at once, never started), running and
 * cooperative (rejects once the job stopped, the warm worker is kept),
 * running and not cooperative (terminated after cancelGraceMs and replaced),
 * cancelled within the grace period, many aborts in a row, jobSignal().signal,
 * and a pool job inside a failing group. Hand-shakes through shared memory.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { group, scope, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { WorkerPool } from 'loopwise/workers';
import { getEventListeners } from 'node:events';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';
import { assertNoWorkers, closeAfter, fixture, liveWorkers, rejection, release, shared, stateSoon, T, track, turn, waitFor } from './helpers.js';

after(assertNoWorkers);

// Shared-memory cells used by the tests below (0 is the fixtures' nap cell).
const BLOCK_STARTED = 1;
const BLOCK_RELEASE = 2;
const STARTS = 3;
const JOB_STARTED = 4;
const JOB_STOPPED = 5;
const JOB_RELEASE = 6;

type Canceller = 'task' | 'signal' | 'timeout';

/**
 * Runs `fn(args)` on `pool` under the chosen kind of cancellation and returns
 * the call's promise and a function that cancels it.
 */
function cancellableRun(pool: WorkerPool, kind: Canceller, fn: string, args: unknown[], clock?: TestClock): { p: Promise<unknown>; cancel: () => Promise<void> } {
  if (kind === 'task') {
    const task = spawn(() => pool.run(fn, args), { name: `run-${fn}` });
    return {
      p: task.then((v) => v),
      cancel: async () => task.cancel(),
    };
  }
  if (kind === 'signal') {
    const ac = new AbortController();
    return { p: pool.run(fn, args, { signal: ac.signal }), cancel: async () => ac.abort(new Error('aborted by the caller')) };
  }
  const p = timeout(1_000, () => pool.run(fn, args));
  return { p, cancel: () => clock!.advance(1_000) };
}

function expectedError(kind: Canceller, e: any): void {
  if (kind === 'task') {
    assert.equal(e.name, 'CancelledError');
    assert.equal(e.code, 'LOOPWISE_CANCELLED');
  } else if (kind === 'signal') {
    assert.equal(e.message, 'aborted by the caller', 'the signal reason, as given');
  } else {
    assert.equal(e.name, 'TimeoutError');
    assert.equal(e.code, 'LOOPWISE_TIMEOUT');
  }
}

for (const kind of ['task', 'signal', 'timeout'] as const) {
  test(`a queued job cancelled by its ${kind} rejects at once, never starts, and later jobs start`, T, async (t) => {
    const clock = kind === 'timeout' ? TestClock.install() : undefined;
    t.after(() => clock?.uninstall());
    const mem = shared();
    const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
    closeAfter(t, pool, mem);
    const blocker = pool.run('block', [mem, BLOCK_STARTED, BLOCK_RELEASE]);
    await waitFor(mem, BLOCK_STARTED, 'the blocking job to start');
    const { p, cancel } = cancellableRun(pool, kind, 'record', [mem, STARTS], clock);
    const watched = track(p);
    const queued = pool.run('record', [mem, STARTS]);
    await turn();
    assert.equal(pool.stats().queued, 2);
    await cancel();
    await turn();
    const s = watched.outcome;
    assert.equal(s.status, 'rejected', 'rejected at once, while the only thread is still busy');
    expectedError(kind, (s as { reason: unknown }).reason);
    assert.equal(pool.stats().queued, 1, 'it left the queue');
    release(mem, BLOCK_RELEASE);
    await blocker;
    await queued;
    assert.equal(Atomics.load(mem, STARTS), 1, 'the cancelled job never started; the next one did');
    assert.equal(await pool.run('add', [1, 2]), 3);
    const st = pool.stats();
    assert.equal(st.cancelled, 1);
    assert.equal(st.queued, 0);
    assertNoTasks();
  });

  test(`a running cooperative job cancelled by its ${kind} rejects only after it stopped, and keeps its worker`, T, async (t) => {
    const clock = kind === 'timeout' ? TestClock.install() : undefined;
    t.after(() => clock?.uninstall());
    const mem = shared();
    // A long grace: a termination here would show up as a different threadId.
    const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
    closeAfter(t, pool, mem);
    const { p, cancel } = cancellableRun(pool, kind, 'coop', [mem, JOB_STARTED, JOB_STOPPED, 'throw'], clock);
    const watched = track(p);
    const tid = await waitFor(mem, JOB_STARTED, 'the cooperative job to start');
    await turn();
    assert.equal(watched.outcome.status, 'pending');
    await cancel();
    const e = await rejection(p);
    assert.equal(Atomics.load(mem, JOB_STOPPED), 1, 'the job had stopped when the rejection was observed');
    expectedError(kind, e);
    assert.equal(await pool.run('whoami'), tid, 'the same warm worker runs the next job');
    const st = pool.stats();
    assert.equal(st.threads, 1);
    assert.equal(st.cancelled, 1);
    assert.equal(st.failed, 0);
    assertNoTasks();
  });
}

test('a cooperative job that returns normally after seeing the abort still rejects with CancelledError', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const task = spawn(() => pool.run('coop', [mem, JOB_STARTED, JOB_STOPPED, 'return']));
  const tid = await waitFor(mem, JOB_STARTED, 'the job to start');
  task.cancel();
  const e = await rejection(task);
  assert.equal(Atomics.load(mem, JOB_STOPPED), 1);
  assert.equal(e.code, 'LOOPWISE_CANCELLED');
  assert.equal(task.state, 'cancelled');
  assert.equal(await pool.run('whoami'), tid);
});

test('a non-cooperative job past cancelGraceMs: its worker is terminated and replaced, the call rejects with CancelledError, later jobs run', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20 });
  closeAfter(t, pool, mem);
  const task = spawn(() => pool.run('block', [mem, JOB_STARTED, JOB_RELEASE, JOB_STOPPED, 20_000]));
  const tid = await waitFor(mem, JOB_STARTED, 'the job to start');
  const queued = pool.run('whoami');
  task.cancel();
  await turn();
  assert.equal(task.state, 'running', 'not rejected before the job has stopped');
  const e = await rejection(task);
  assert.equal(e.name, 'CancelledError');
  assert.equal(e.code, 'LOOPWISE_CANCELLED');
  assert.equal(Atomics.load(mem, JOB_STOPPED), 0, 'killed, not finished');
  const next = await queued;
  assert.notEqual(next, tid, 'the queued job ran on the replacement');
  assert.equal(await pool.run('whoami'), next);
  assert.equal(pool.stats().threads, 1);
  assert.equal(pool.stats().cancelled, 1);
  assert.equal(liveWorkers(), 1, 'the terminated thread is gone');
});

test('cancelled during the grace period, the job then stops by itself: no termination, same worker', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const ac = new AbortController();
  const p = track(pool.run('block', [mem, JOB_STARTED, JOB_RELEASE, JOB_STOPPED], { signal: ac.signal }));
  const tid = await waitFor(mem, JOB_STARTED, 'the job to start');
  ac.abort(new Error('stop'));
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(p.outcome.status, 'pending', 'still running: the caller waits for it');
  release(mem, JOB_RELEASE);
  await p.settled;
  assert.equal(p.outcome.status, 'rejected');
  assert.equal((p.outcome as { reason: Error }).reason.message, 'stop');
  assert.equal(Atomics.load(mem, JOB_STOPPED), 1);
  assert.equal(await pool.run('whoami'), tid, 'not terminated');
  assert.equal(pool.stats().threads, 1);
});

test('many aborts in a row (queued, just dispatched, running) never leave the queue stuck (Piscina #805)', { timeout: 60_000 }, async (t) => {
  const mem = shared(64);
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 2, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  await Promise.all([pool.run('add', [0, 0]), pool.run('add', [0, 0])]);
  for (let round = 0; round < 20; round++) {
    const ac = new AbortController();
    const started = 10 + (round % 2);
    const stopped = 20 + (round % 2);
    Atomics.store(mem, started, 0);
    Atomics.store(mem, stopped, 0);
    const running = pool.run('coop', [mem, started, stopped, 'throw'], { signal: ac.signal });
    // These two are dispatched to the other thread / queued; abort some right away.
    const justSent = pool.run('coop', [mem, 30, 31, 'throw'], { signal: ac.signal });
    const queued = [0, 1, 2].map(() => pool.run('record', [mem, STARTS], { signal: ac.signal }));
    if (round % 2 === 0) await waitFor(mem, started, 'a running job');
    ac.abort();
    const all = await Promise.allSettled([running, justSent, ...queued]);
    assert.deepEqual(
      all.map((s) => s.status),
      ['rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
    );
  }
  assert.equal(Atomics.load(mem, STARTS), 0, 'no aborted queued job ever started');
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.run<number>('add', [i, 1])));
  assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => i + 1));
  const st = pool.stats();
  assert.equal(st.queued, 0);
  assert.equal(st.busy, 0);
  assert.equal(st.cancelled, 100);
  assert.equal(st.threads, 2);
});

test('jobSignal().signal is an AbortSignal that aborts an async job', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const task = spawn(() => pool.run('awaitAbort', [mem, JOB_STARTED, JOB_STOPPED]));
  const tid = await waitFor(mem, JOB_STARTED, 'the async job to start');
  task.cancel();
  const e = await rejection(task);
  assert.equal(e.code, 'LOOPWISE_CANCELLED');
  assert.equal(Atomics.load(mem, JOB_STOPPED), 1, 'the worker saw an aborted AbortSignal with reason LOOPWISE_JOB_ABORTED');
  assert.equal(await pool.run('whoami'), tid);
});

test('a group child running a pool job is cancelled when a sibling fails; the group rejects after the job stopped', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const log: string[] = [];
  const boom = new Error('sibling failed');
  const e = await rejection(
    group((g) => {
      g.spawn(async () => {
        try {
          await pool.run('coop', [mem, JOB_STARTED, JOB_STOPPED, 'throw']);
        } catch (err) {
          log.push(`job: ${(err as { code: string }).code} stopped=${Atomics.load(mem, JOB_STOPPED)}`);
          throw err;
        }
      });
      g.spawn(async () => {
        await waitFor(mem, JOB_STARTED, 'the pool job to start');
        throw boom;
      });
    }),
  );
  assert.equal(e, boom);
  assert.equal(Atomics.load(mem, JOB_STOPPED), 1);
  assert.deepEqual(log, ['job: LOOPWISE_CANCELLED stopped=1']);
  assert.equal(pool.stats().cancelled, 1);
  assert.equal(await pool.run('add', [1, 1]), 2);
  assertNoTasks();
});

test('a job cancelled on a worker that is still loading the module never starts', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const ac = new AbortController();
  const p = pool.run('record', [mem, STARTS], { signal: ac.signal });
  ac.abort();
  assert.equal((await stateSoon(p)).status, 'rejected');
  assert.equal(await pool.run('record', [mem, STARTS]), await pool.run('whoami'));
  assert.equal(Atomics.load(mem, STARTS), 1);
});

test('no listener is left on the caller\'s signal or scope, and no timer, after jobs fulfil, fail and are cancelled', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  await pool.run('add', [0, 0]);
  const before = activeResources();
  const ac = new AbortController();
  await scope(async (s) => {
    await pool.run('add', [1, 2], { signal: ac.signal });
    await rejection(pool.run('fail', ['x'], { signal: ac.signal }));
    const inner = new AbortController();
    const running = pool.run('coop', [mem, JOB_STARTED, JOB_STOPPED, 'throw'], { signal: inner.signal });
    const queued = pool.run('add', [1, 1], { signal: inner.signal });
    await waitFor(mem, JOB_STARTED, 'the job to start');
    inner.abort();
    await Promise.allSettled([running, queued]);
    assert.equal(getEventListeners(inner.signal, 'abort').length, 0, 'listeners left on a cancelled job\'s signal');
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'listeners left on the caller\'s signal');
    assert.equal(getEventListeners(s.signal, 'abort').length, 0, 'listeners left on the scope\'s signal');
  });
  assertNoNewTimers(before);
  assertNoTasks();
});
