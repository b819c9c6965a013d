/**
 * concurrentTasksPerWorker: async jobs interleave on one worker; cancelling
 * one pipelined job leaves the others alone; when a worker is terminated
 * because one job ignored its cancellation, its other running jobs fail with
 * LOOPWISE_WORKER_CRASHED and its not-started ones are re-queued.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawn } from 'loopwise';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, liveWorkers, rejection, release, shared, T, waitFor } from './helpers.js';

after(assertNoWorkers);

test('async jobs interleave on one worker (all four in flight at once)', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 4 });
  closeAfter(t, pool, mem);
  const results = await Promise.all([0, 1, 2, 3].map(() => pool.run<{ threadId: number; met: boolean }>('rendezvous', [mem, 1, 4])));
  assert.deepEqual(
    results.map((r) => r.met),
    [true, true, true, true],
    'each job saw the four in flight together',
  );
  assert.equal(new Set(results.map((r) => r.threadId)).size, 1, 'on one thread');
  assert.equal(pool.stats().completed, 4);
});

test('without pipelining, jobs on one thread do not overlap', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const a = pool.run('asyncBlock', [mem, 1, 2]);
  await waitFor(mem, 1, 'the first job');
  const b = pool.run('record', [mem, 3]);
  assert.equal(pool.stats().queued, 1, 'the second job waits for the thread');
  release(mem, 2);
  await a;
  await b;
  assert.equal(Atomics.load(mem, 3), 1);
});

test('cancelling one pipelined job does not affect the others on the same worker', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 4, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const others = [1, 2, 3].map((i) => pool.run<number>('asyncBlock', [mem, i, 10]));
  const task = spawn(() => pool.run('awaitAbort', [mem, 4, 5]));
  for (const i of [1, 2, 3, 4]) await waitFor(mem, i, `job ${i} to start`);
  const tid = Atomics.load(mem, 4);
  task.cancel();
  const e = await rejection(task);
  assert.equal(e.code, 'LOOPWISE_CANCELLED');
  assert.equal(Atomics.load(mem, 5), 1, 'the cancelled job stopped through its AbortSignal');
  assert.equal(pool.stats().busy, 1, 'the other three still run');
  release(mem, 10);
  assert.deepEqual(await Promise.all(others), [tid, tid, tid]);
  assert.equal(await pool.run('whoami'), tid, 'no termination');
  const st = pool.stats();
  assert.equal(st.cancelled, 1);
  assert.equal(st.completed, 4);
});

test('a pipelined job cancelled before the worker started it never starts', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 4, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  await pool.run('add', [0, 0]);
  // A sync job holds the thread; the next one sits in the worker's port.
  const blocker = pool.run('block', [mem, 1, 2]);
  await waitFor(mem, 1, 'the blocker');
  const ac = new AbortController();
  const sent = pool.run('record', [mem, 3], { signal: ac.signal });
  assert.equal(pool.stats().queued, 0, 'dispatched to the worker, not queued');
  ac.abort();
  release(mem, 2);
  await blocker;
  await rejection(sent);
  assert.equal(Atomics.load(mem, 3), 0, 'never started');
  assert.equal(await pool.run('add', [1, 1]), 2);
});

test('a job ignoring its cancellation gets its worker terminated: its running neighbours fail with LOOPWISE_WORKER_CRASHED, not-started ones are re-queued and complete', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 4, cancelGraceMs: 20 });
  closeAfter(t, pool, mem);
  await pool.run('add', [0, 0]);
  // 1. an async job that is running (waits without blocking the thread);
  const neighbour = pool.run('asyncBlock', [mem, 1, 2]);
  await waitFor(mem, 1, 'the async neighbour');
  const tid = Atomics.load(mem, 1);
  // 2. a sync job that ignores cancellation and holds the thread;
  const ac = new AbortController();
  const stubborn = pool.run('block', [mem, 3, 4, 5, 20_000], { signal: ac.signal });
  await waitFor(mem, 3, 'the stubborn job');
  // 3. two jobs dispatched to that worker but not started (the thread is held).
  const notStarted = [pool.run<number>('record', [mem, 6]), pool.run<number>('record', [mem, 6])];
  assert.equal(pool.stats().queued, 0, 'all four are on the worker');
  ac.abort(new Error('give up'));
  const e = await rejection(stubborn);
  assert.equal(e.message, 'give up', 'the cancelled job rejects with its own reason');
  assert.equal(Atomics.load(mem, 5), 0, 'it was killed');
  const n = await rejection(neighbour);
  assert.equal(n.code, 'LOOPWISE_WORKER_CRASHED');
  assert.match(n.message, /cancelGraceMs/);
  const ran = await Promise.all(notStarted);
  assert.equal(Atomics.load(mem, 6), 2, 'each re-queued job ran exactly once');
  assert.ok(ran.every((x) => x !== tid), 'on the replacement');
  const st = pool.stats();
  assert.equal(st.threads, 1);
  assert.equal(st.cancelled, 1);
  assert.equal(st.failed, 1);
  assert.equal(liveWorkers(), 1);
});

test('jobSignal() follows each interleaved async job across awaits: cancelling one is not seen by the other', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 2, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const ac = new AbortController();
  const a = pool.run('asyncPoll', [mem, 1, 2, 3], { signal: ac.signal });
  const b = pool.run<{ threadId: number; aborted: boolean }>('asyncPoll', [mem, 4, 5, 6]);
  await waitFor(mem, 1, 'job a');
  await waitFor(mem, 4, 'job b');
  assert.equal(Atomics.load(mem, 1), Atomics.load(mem, 4), 'both on one thread');
  ac.abort();
  await rejection(a);
  assert.equal(Atomics.load(mem, 2), 1, 'a saw its abort after an await');
  release(mem, 6);
  const rb = await b;
  assert.deepEqual(rb, { threadId: Atomics.load(mem, 4), aborted: false });
  assert.equal(Atomics.load(mem, 5), 0, 'b never saw an abort');
});
