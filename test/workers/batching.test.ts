/**
 * Message batching of pipelined workers (concurrentTasksPerWorker > 1): the
 * jobs the pool starts on a worker while handling its replies travel in one
 * message, and a worker's replies of one event-loop turn in one message.
 * Batching must not change outcomes: a job whose arguments or result cannot
 * be cloned fails alone, transfers still move their buffers, a job cancelled
 * while it waits in the outbox never starts, every caller gets its own result.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, rejection, release, shared, T, waitFor } from './helpers.js';

after(assertNoWorkers);

test('many pipelined tiny jobs on two threads: every caller gets its own result', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 2, concurrentTasksPerWorker: 16 });
  closeAfter(t, pool);
  const n = 3000;
  const out = await Promise.all(Array.from({ length: n }, (_, i) => pool.run<number>(i % 3 === 0 ? 'addAsync' : 'add', [i, i])));
  assert.deepEqual(
    out,
    Array.from({ length: n }, (_, i) => 2 * i),
  );
  const st = pool.stats();
  assert.equal(st.completed, n);
  assert.equal(st.failed, 0);
});

test('queued jobs sent together: one whose arguments cannot be cloned fails alone', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 4 });
  closeAfter(t, pool, mem);
  await pool.run('add', [0, 0]);
  // Four jobs fill the four slots; the one running blocks the thread until released.
  const held = [pool.run('block', [mem, 1, 2]), pool.run('add', [1, 0]), pool.run('add', [2, 0]), pool.run('add', [3, 0])];
  await waitFor(mem, 1, 'the blocking job');
  // These wait in the pool's queue, then leave together when the slots free up.
  const queued = Promise.allSettled([pool.run('add', [10, 1]), pool.run('add', [() => 0, 1]), pool.run('add', [30, 1]), pool.run('add', [Symbol('s'), 1]), pool.run('add', [50, 1])]);
  assert.equal(pool.stats().queued, 5);
  release(mem, 2);
  const tid = await held[0];
  assert.deepEqual(await Promise.all(held.slice(1)), [1, 2, 3]);
  const out = await queued;
  assert.deepEqual(
    out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).name)),
    [11, 'DataCloneError', 31, 'DataCloneError', 51],
  );
  assert.equal(await pool.run('whoami'), tid, 'the same worker: nothing was terminated');
});

test('replies sent together: a result that cannot be cloned fails its job alone', T, async (t) => {
  const pool = new WorkerPool(fixture('errors.mjs'), { threads: 1, concurrentTasksPerWorker: 8 });
  closeAfter(t, pool);
  await pool.run('add', [0, 0]);
  const names = ['add', 'returnFunction', 'add', 'add', 'returnFunction', 'add', 'add', 'add', 'returnFunction', 'add', 'add', 'add'];
  const out = await Promise.allSettled(names.map((fn, i) => pool.run(fn, fn === 'add' ? [i, 100] : [])));
  assert.deepEqual(
    out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).name)),
    names.map((fn, i) => (fn === 'add' ? i + 100 : 'DataCloneError')),
  );
  const st = pool.stats();
  assert.equal(st.completed, 10, 'nine adds and the warm-up');
  assert.equal(st.failed, 3);
  assert.equal(st.threads, 1);
});

test('transfers of jobs sent together move every buffer; a buffer transferred by two jobs reaches the second detached, as unbatched', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1, concurrentTasksPerWorker: 4 });
  closeAfter(t, pool);
  await pool.run('add', [0, 0]);
  const bufs = Array.from({ length: 12 }, (_, i) => new Uint8Array([i, 1, 2]).buffer);
  const twice = new Uint8Array([99]).buffer;
  const jobs = bufs.map((b) => pool.run<{ byteLength: number; first: number }>('inspect', [b], { transfer: [b] }));
  const again = Promise.allSettled([pool.run('inspect', [twice], { transfer: [twice] }), pool.run('inspect', [twice], { transfer: [twice] })]);
  assert.deepEqual(
    await Promise.all(jobs),
    bufs.map((_, i) => ({ byteLength: 3, first: i })),
  );
  for (const b of bufs) assert.equal(b.byteLength, 0, 'detached on the main side');
  // In one message the two transfers of one buffer fail the batch (DataCloneError); posted one by one as
  // the fallback, the second goes as Node posts a detached buffer on its own: as if never batched. (Node 20
  // sends it as an empty buffer; Node 22 and later throw DataCloneError.)
  const settled = (await again).map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).name));
  assert.deepEqual(settled, [{ byteLength: 1, first: 99 }, unbatchedDetachedTransfer()]);
});

/** What posting an already-detached ArrayBuffer in a transfer list gives on this Node, without a pool. */
function unbatchedDetachedTransfer(): { byteLength: number; first: undefined } | string {
  const { port1, port2 } = new MessageChannel();
  const ab = new ArrayBuffer(1);
  port1.postMessage(ab, [ab]);
  try {
    port1.postMessage(ab, [ab]);
    return { byteLength: 0, first: undefined };
  } catch (e) {
    return (e as Error).name;
  } finally {
    port1.close();
    port2.close();
  }
}

test('a job cancelled while it waits in the outbox (started, not yet posted) never starts; the worker stays', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, concurrentTasksPerWorker: 2, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const tid = await pool.run<number>('whoami');
  const a = pool.run('block', [mem, 1, 2]);
  const b = pool.run('add', [1, 1]);
  await waitFor(mem, 1, 'the blocking job');
  const ac = new AbortController();
  const c = pool.run('record', [mem, 3], { signal: ac.signal });
  assert.equal(pool.stats().queued, 1);
  // The reply of `a` moves `c` into the outbox; `a`'s continuation runs before the outbox is posted.
  const aborted = a.then(() => {
    assert.equal(pool.stats().queued, 0, 'c left the queue for the outbox');
    ac.abort(new Error('changed my mind'));
  });
  release(mem, 2);
  await aborted;
  assert.equal(await b, 2);
  const e = await rejection(c);
  assert.equal(e.message, 'changed my mind');
  assert.equal(Atomics.load(mem, 3), 0, 'never started');
  assert.equal(await pool.run('whoami'), tid, 'no termination');
  assert.equal(pool.stats().cancelled, 1);
});
