/**
 * Workers that die (process.exit, an uncaught error in a timer, out of
 * memory) fail only their own job with LOOPWISE_WORKER_CRASHED; the pool
 * replaces them and the other thread's job completes. Modules that fail to
 * load are a clear LOOPWISE_WORKER_LOAD_FAILED and never a respawn loop.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, liveThreadIds, liveWorkers, rejection, release, shared, T, until, waitFor } from './helpers.js';

after(assertNoWorkers);

const OTHER_STARTED = 1;
const OTHER_RELEASE = 2;

const crashes = [
  {
    what: 'process.exit(3) in a job',
    fn: 'exit',
    args: [3],
    opts: {},
    check(e: any) {
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /exit code 3/);
    },
  },
  {
    what: 'an uncaught error in a timer while the job is pending',
    fn: 'throwInTimer',
    args: ['timer went off'],
    opts: {},
    check(e: any) {
      assert.match(e.message, /timer went off/);
      assert.match(e.reason, /uncaught error/);
      assert.equal(e.cause?.message, 'timer went off');
    },
  },
  {
    what: 'running out of memory under resourceLimits',
    fn: 'allocate',
    args: [],
    opts: { resourceLimits: { maxOldGenerationSizeMb: 16 } },
    check(e: any) {
      assert.match(e.reason, /memory/);
      assert.match(e.message, /memory/);
    },
  },
];

for (const c of crashes) {
  test(`${c.what}: that job rejects with LOOPWISE_WORKER_CRASHED, the other thread's job completes, the pool replaces the worker`, T, async (t) => {
    const mem = shared();
    const pool = new WorkerPool(fixture('crash.mjs'), { threads: 2, ...c.opts });
    closeAfter(t, pool, mem);
    // Both threads ready; then one holds a blocked job while the other crashes.
    await Promise.all([pool.run('add', [0, 0]), pool.run('add', [0, 0])]);
    const other = pool.run<number>('block', [mem, OTHER_STARTED, OTHER_RELEASE]);
    const otherTid = await waitFor(mem, OTHER_STARTED, 'the job on the other thread to start');
    const e = await rejection(pool.run(c.fn, c.args));
    assert.equal(e.name, 'WorkerCrashedError');
    assert.equal(e.code, 'LOOPWISE_WORKER_CRASHED');
    assert.equal(typeof e.exitCode, 'number');
    assert.equal(typeof e.reason, 'string');
    c.check(e);
    assert.equal(pool.stats().threads, 2, 'a replacement was started');
    release(mem, OTHER_RELEASE);
    assert.equal(await other, otherTid, 'the other job completed normally on its own thread');
    const later = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.run<number>('add', [i, i])));
    assert.deepEqual(later, [0, 2, 4, 6, 8, 10]);
    // Two jobs blocked at once: two live threads.
    const a = pool.run<number>('block', [mem, 3, 4]);
    const b = pool.run<number>('block', [mem, 5, 4]);
    await waitFor(mem, 3, 'a job on one thread');
    await waitFor(mem, 5, 'a job on the other thread');
    release(mem, 4);
    const tids = new Set([await a, await b]);
    assert.equal(tids.size, 2, 'two live threads run jobs');
    const st = pool.stats();
    assert.equal(st.threads, 2);
    assert.equal(st.failed, 1);
    assert.equal(liveWorkers(), 2);
  });
}

test('an uncaught error in a timer after the job returned fails no job; the pool replaces the worker', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('crash.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const tid = await pool.run<number>('whoami');
  assert.equal(await pool.run('throwAfterReturn', [mem, 1, 'late failure']), 'returned');
  release(mem, 1);
  // The replacement is started when the pool sees the exit; threadIds only grow.
  await until(() => !liveThreadIds().includes(tid) && liveThreadIds().some((x) => x > tid), 'the worker to die and be replaced');
  const next = await pool.run<number>('whoami');
  assert.notEqual(next, tid, 'a replacement runs the next job');
  const st = pool.stats();
  assert.equal(st.failed, 0);
  assert.equal(st.completed, 3);
  assert.equal(st.threads, 1);
});

test('a crash of a worker running pipelined jobs fails only the jobs that had started on it; the others are re-queued', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('crash.mjs'), { threads: 1, concurrentTasksPerWorker: 4 });
  closeAfter(t, pool, mem);
  await pool.run('add', [0, 0]);
  const running = pool.run('asyncBlock', [mem, 1, 2]);
  await waitFor(mem, 1, 'the async job to start');
  const crash = pool.run('exit', [5]);
  // Dispatched to the same worker behind the exit: they never start there.
  const notStarted = [pool.run('record', [mem, 3]), pool.run('record', [mem, 3])];
  assert.equal(pool.stats().queued, 0, 'all on the worker');
  const [r, c, ...rest] = await Promise.allSettled([running, crash, ...notStarted]);
  assert.deepEqual(
    rest.map((x) => (x.status === 'rejected' ? x.reason.code : x.status)),
    ['fulfilled', 'fulfilled'],
    'jobs that never started on the dead worker run on its replacement',
  );
  assert.equal(Atomics.load(mem, 3), 2);
  assert.equal(r.status, 'rejected');
  assert.equal((r as PromiseRejectedResult).reason.code, 'LOOPWISE_WORKER_CRASHED');
  assert.equal((c as PromiseRejectedResult).reason.code, 'LOOPWISE_WORKER_CRASHED');
  assert.equal((c as PromiseRejectedResult).reason.exitCode, 5);
  assert.equal(await pool.run('add', [1, 1]), 2);
});

test('a missing module file: the constructor throws LOOPWISE_WORKER_LOAD_FAILED naming the path', T, () => {
  const missing = fixture('does-not-exist.mjs');
  assert.throws(() => new WorkerPool(missing, { threads: 1 }), (e: any) => {
    assert.equal(e.code, 'LOOPWISE_WORKER_LOAD_FAILED');
    assert.equal(e.name, 'WorkerLoadError');
    assert.match(e.message, /does-not-exist\.mjs/);
    return true;
  });
  assert.throws(() => new WorkerPool(fileURLToPath(missing)), { code: 'LOOPWISE_WORKER_LOAD_FAILED', message: /does-not-exist\.mjs/ });
  assert.equal(liveWorkers(), 0, 'no thread was started');
});

test('a module that throws at import: every run rejects LOOPWISE_WORKER_LOAD_FAILED with the cause, no respawn loop', T, async (t) => {
  const pool = new WorkerPool(fixture('load-throws.mjs'), { threads: 2 });
  closeAfter(t, pool);
  const all = await Promise.allSettled([pool.run('anything'), pool.run('anything'), pool.run('other', [1])]);
  for (const r of all) {
    assert.equal(r.status, 'rejected');
    const e = (r as PromiseRejectedResult).reason;
    assert.equal(e.code, 'LOOPWISE_WORKER_LOAD_FAILED');
    assert.match(e.message, /load-throws\.mjs/);
    assert.match(e.message, /boom at import time/);
    assert.equal(e.cause?.message, 'boom at import time');
  }
  // Later runs fail at once the same way.
  const later = await rejection(pool.run('anything'));
  assert.equal(later.code, 'LOOPWISE_WORKER_LOAD_FAILED');
  await pool.close();
  assert.equal(liveWorkers(), 0, 'no worker is being respawned');
  assert.equal(pool.stats().threads, 0);
});

test('a module that calls process.exit at import: runs reject LOOPWISE_WORKER_LOAD_FAILED, no respawn loop', T, async (t) => {
  const pool = new WorkerPool(fixture('load-exits.mjs'), { threads: 1, minThreads: 0 });
  closeAfter(t, pool);
  const e = await rejection(pool.run('anything'));
  assert.equal(e.code, 'LOOPWISE_WORKER_LOAD_FAILED');
  assert.match(e.message, /load-exits\.mjs/);
  assert.match(e.message, /code 7/);
  assert.equal((await rejection(pool.run('anything'))).code, 'LOOPWISE_WORKER_LOAD_FAILED');
  await pool.close();
  assert.equal(liveWorkers(), 0);
});
