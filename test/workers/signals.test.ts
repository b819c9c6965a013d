/**
 * The pool's watch lists of callers' signals (one abort listener per signal,
 * jobs linked through it): many jobs sharing one signal, a user signal that
 * is also the scope's, listeners gone once the jobs settle.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, test } from 'node:test';
import { currentSignal, spawn } from 'loopwise';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, rejection, shared, T, waitFor } from './helpers.js';

after(assertNoWorkers);

test('one signal shared by many jobs: one listener; aborting it cancels the queued and the running ones', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const tid = await pool.run<number>('whoami');
  const ac = new AbortController();
  const done = pool.run('add', [1, 1], { signal: ac.signal }); // settles before the abort
  assert.equal(await done, 2);
  const running = pool.run('coop', [mem, 1, 2, 'throw'], { signal: ac.signal });
  await waitFor(mem, 1, 'the cooperative job');
  const queued = Array.from({ length: 500 }, (_, i) => pool.run('record', [mem, 3 + (i % 10)], { signal: ac.signal }));
  const other = pool.run<number>('add', [2, 3]); // not on this signal
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1, 'one listener for 501 jobs');
  const reason = new Error('stop them all');
  ac.abort(reason);
  for (const p of queued) assert.equal(await rejection(p), reason);
  assert.equal(await rejection(running), reason);
  assert.equal(Atomics.load(mem, 2), 1, 'the running job stopped by itself');
  for (let i = 3; i < 13; i++) assert.equal(Atomics.load(mem, i), 0, 'no queued job started');
  assert.equal(await other, 5, 'the job on no signal ran');
  assert.equal(await pool.run('whoami'), tid, 'no termination');
  assert.equal(pool.stats().cancelled, 501);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('listeners leave a signal once its jobs settle, and come back for new ones', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 2 });
  closeAfter(t, pool);
  const ac = new AbortController();
  const ps = Array.from({ length: 50 }, (_, i) => pool.run<number>('add', [i, 1], { signal: ac.signal }));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  await Promise.all(ps);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  assert.equal(await pool.run('add', [1, 2], { signal: ac.signal }), 3);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('opts.signal that is the calling scope\'s own signal: cancelling the task cancels each job once', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 2, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  let outcomes: PromiseSettledResult<unknown>[] = [];
  const task = spawn(async () => {
    const s = currentSignal();
    const a = pool.run('coop', [mem, 1, 2, 'throw'], { signal: s });
    const b = pool.run('add', [1, 1], { signal: s });
    assert.equal(getEventListeners(s, 'abort').length, 1, 'one listener for the two jobs and their two signals');
    outcomes = await Promise.allSettled([a, b]);
  });
  await waitFor(mem, 1, 'the cooperative job');
  task.cancel();
  await Promise.allSettled([task]);
  // `add` sat in the worker's port behind the CPU loop: cancelled before it started.
  assert.deepEqual(
    outcomes.map((o) => (o.status === 'rejected' ? o.reason.code : o.status)),
    ['LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED'],
  );
  assert.equal(Atomics.load(mem, 2), 1, 'the CPU job stopped by itself');
  const st = pool.stats();
  assert.equal(st.cancelled, 2, 'each job counted once');
  assert.equal(st.completed, 0);
  assert.equal(await pool.run('add', [2, 2]), 4);
});
