/**
 * WorkerPool basics: run, the typed proxy, transfer, default export, unknown
 * exports, jobSignal() outside a job, maxQueue, checkpoint behaviour.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { scope } from 'loopwise';
import { jobSignal } from 'loopwise/worker';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, rejection, release, shared, stateSoon, T, waitFor } from './helpers.js';

after(assertNoWorkers);

test('run calls an exported function with its arguments on a worker thread', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 2 });
  closeAfter(t, pool);
  assert.equal(await pool.run('add', [1, 2]), 3);
  assert.equal(await pool.run('addAsync', [40, 2]), 42);
  const tid = await pool.run<number>('whoami');
  assert.ok(Number.isInteger(tid) && tid >= 1, `a worker threadId, got ${tid}`);
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.run<number>('add', [i, i])));
  assert.deepEqual(many, Array.from({ length: 50 }, (_, i) => 2 * i));
});

test('the default export is called as "default"', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1 });
  closeAfter(t, pool);
  assert.equal(await pool.run('default', [21]), 42);
  const m = pool.proxy<typeof import('../fixtures/workers/basic.mjs')>();
  assert.equal(await m.default(5), 10);
});

test('proxy(): typed calls with no round trip; `then` is undefined so awaiting the proxy runs no job', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1 });
  closeAfter(t, pool);
  const m = pool.proxy<typeof import('../fixtures/workers/basic.mjs')>();
  // Usable at once, before the worker has even loaded the module.
  const sum: Promise<number> = m.add(2, 3);
  const sumAsync: Promise<number> = m.addAsync(1, 1);
  assert.equal(await sum, 5);
  assert.equal(await sumAsync, 2);
  assert.equal((m as unknown as { then?: unknown }).then, undefined);
  const before = pool.stats().completed;
  const awaited = await pool.proxy<typeof import('../fixtures/workers/basic.mjs')>();
  assert.equal(typeof awaited.add, 'function');
  assert.equal(pool.stats().completed + pool.stats().failed, before, 'awaiting the proxy started no job');
  assert.equal(m.add, m.add, 'methods are stable');
  // A symbol key (inspection, coercion) is not a job either.
  assert.equal((m as unknown as Record<symbol, unknown>)[Symbol.toPrimitive], undefined);
});

test('transfer moves an ArrayBuffer: the worker reads it, the main side is detached', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1 });
  closeAfter(t, pool);
  await pool.run('add', [0, 0]); // the worker is ready: the job is posted at once
  const buf = new Uint8Array([7, 8, 9]).buffer;
  const p = pool.run<{ byteLength: number; first: number }>('inspect', [buf], { transfer: [buf] });
  assert.deepEqual(await p, { byteLength: 3, first: 7 });
  assert.equal(buf.byteLength, 0, 'detached on the main side');
  // Without transfer it is copied.
  const kept = new Uint8Array([1, 2]).buffer;
  assert.deepEqual(await pool.run('inspect', [kept]), { byteLength: 2, first: 1 });
  assert.equal(kept.byteLength, 2);
});

test('an unknown export rejects with LOOPWISE_UNKNOWN_EXPORT naming it, before and after the pool knows the exports', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1 });
  closeAfter(t, pool);
  // Before the worker has reported its exports (called right after construction).
  const early = await rejection(pool.run('nope', []));
  assert.equal(early.code, 'LOOPWISE_UNKNOWN_EXPORT');
  assert.match(early.message, /'nope'/);
  assert.equal(await pool.run('add', [1, 1]), 2);
  // After: rejected on the main thread, listing what exists.
  const late = await rejection(pool.run('missing', []));
  assert.equal(late.code, 'LOOPWISE_UNKNOWN_EXPORT');
  assert.match(late.message, /'missing'/);
  assert.match(late.message, /add/);
  // An exported non-function is not callable.
  const notFn = await rejection(pool.run('notAFunction', []));
  assert.equal(notFn.code, 'LOOPWISE_UNKNOWN_EXPORT');
  assert.match(notFn.message, /notAFunction/);
  // Through the proxy, a name the types do not know.
  const loose = pool.proxy<Record<string, (...a: unknown[]) => unknown>>();
  assert.equal((await rejection(loose.whatever!())).code, 'LOOPWISE_UNKNOWN_EXPORT');
  assert.equal(await pool.run('add', [2, 2]), 4, 'the pool works on');
});

test('run validates its arguments synchronously', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1 });
  closeAfter(t, pool);
  assert.throws(() => pool.run('' as string), { name: 'TypeError', message: /fn/ });
  assert.throws(() => pool.run(42 as unknown as string), { name: 'TypeError', message: /fn/ });
  assert.throws(() => pool.run('add', 'x' as unknown as unknown[]), { name: 'TypeError', message: /args/ });
  assert.throws(() => pool.run('add', [], { transfer: 'x' as never }), { name: 'TypeError', message: /opts\.transfer/ });
  assert.throws(() => pool.run('add', [], { signal: {} as AbortSignal }), { name: 'TypeError', message: /opts\.signal/ });
  assert.equal(await pool.run('add', [1, 2]), 3);
});

test('arguments that cannot be cloned reject that job only (DataCloneError)', T, async (t) => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 1 });
  closeAfter(t, pool);
  await pool.run('add', [0, 0]);
  const e = await rejection(pool.run('add', [() => 1, 2]));
  assert.equal(e.name, 'DataCloneError');
  // Queued behind a job, the clone fails at dispatch: same outcome.
  const first = pool.run('addAsync', [1, 1]);
  const queued = rejection(pool.run('add', [Symbol('x'), 2]));
  assert.equal(await first, 2);
  assert.equal((await queued).name, 'DataCloneError');
  assert.equal(await pool.run('add', [3, 4]), 7);
  assert.equal(pool.stats().threads, 1);
});

test('jobSignal() outside a job is inert: never aborted, throwIfAborted() does not throw', T, async (t) => {
  // On the main thread (the same module called directly, e.g. in a unit test).
  const s = jobSignal();
  assert.equal(s.aborted, false);
  assert.doesNotThrow(() => s.throwIfAborted());
  assert.ok(s.signal instanceof AbortSignal);
  assert.equal(s.signal.aborted, false);
  // In a worker, at module import time (outside any job).
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool);
  assert.deepEqual(await pool.run('signalAtImport'), { aborted: false, isAbortSignal: true, signalAborted: false });
});

test('maxQueue: 1 with the only thread busy: the second job queues, the third rejects at once with LOOPWISE_QUEUE_FULL', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, maxQueue: 1 });
  closeAfter(t, pool, mem);
  const busy = pool.run('block', [mem, 1, 2]);
  await waitFor(mem, 1, 'the blocking job to start');
  const second = pool.run('record', [mem, 3]);
  const third = pool.run('record', [mem, 3]);
  const s3 = await stateSoon(third);
  assert.equal(s3.status, 'rejected');
  assert.equal((s3 as { reason: { code: string; name: string; maxQueue: number } }).reason.code, 'LOOPWISE_QUEUE_FULL');
  assert.equal((s3 as { reason: { name: string } }).reason.name, 'QueueFullError');
  assert.equal((await stateSoon(second)).status, 'pending');
  assert.equal(pool.stats().queued, 1);
  release(mem, 2);
  await busy;
  await second;
  assert.equal(Atomics.load(mem, 3), 1, 'only the accepted job ran');
  // Room again.
  assert.equal(await pool.run('add', [1, 1]), 2);
});

test('maxQueue: 0 means "no waiting beyond the threads": jobs for threads that are still starting are accepted', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 2, maxQueue: 0 });
  closeAfter(t, pool, mem);
  // Right after construction: both threads exist but are loading the module.
  const first = await Promise.allSettled([pool.run('add', [1, 1]), pool.run('add', [2, 2])]);
  assert.deepEqual(
    first.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code)),
    [2, 4],
    'a fresh pool with maxQueue: 0 must accept as many jobs as it has threads',
  );
  // Both threads busy: no room to wait.
  const a = pool.run('block', [mem, 1, 3]);
  const b = pool.run('block', [mem, 2, 3]);
  await waitFor(mem, 1, 'job a');
  await waitFor(mem, 2, 'job b');
  assert.equal((await rejection(pool.run('add', [1, 1]))).code, 'LOOPWISE_QUEUE_FULL');
  release(mem, 3);
  await Promise.all([a, b]);
  assert.equal(await pool.run('add', [1, 1]), 2);
});

test('pool.run is a checkpoint: in an already cancelled scope it rejects at once and starts nothing', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  await pool.run('add', [0, 0]);
  let seen: any;
  const r = await scope((s) => {
    s.cancel();
    return pool.run('record', [mem, 3]).catch((e) => {
      seen = e;
      throw e;
    });
  });
  assert.equal(r, undefined);
  assert.equal(seen.code, 'LOOPWISE_CANCELLED');
  const ac = new AbortController();
  const reason = new Error('mine');
  ac.abort(reason);
  assert.equal(await rejection(pool.run('record', [mem, 3], { signal: ac.signal })), reason);
  assert.equal(await pool.run('add', [1, 1]), 2);
  assert.equal(Atomics.load(mem, 3), 0, 'never started');
});
