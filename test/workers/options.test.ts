/**
 * Options: bad values throw synchronously naming the option (and start no
 * thread); minThreads/idleTimeoutMs shrink an idle pool that grows again on
 * demand; the pool name.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { WorkerPool, type WorkerPoolOptions } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, liveWorkers, release, shared, T, until, waitFor } from './helpers.js';

after(assertNoWorkers);

const bad: [string, unknown, WorkerPoolOptions | undefined, RegExp, string][] = [
  ['threads 0', fixture('basic.mjs'), { threads: 0 }, /opts\.threads/, 'RangeError'],
  ['threads 1.5', fixture('basic.mjs'), { threads: 1.5 }, /opts\.threads/, 'RangeError'],
  ['threads "2"', fixture('basic.mjs'), { threads: '2' as unknown as number }, /opts\.threads/, 'TypeError'],
  ['minThreads > threads', fixture('basic.mjs'), { threads: 2, minThreads: 3 }, /opts\.minThreads/, 'RangeError'],
  ['minThreads -1', fixture('basic.mjs'), { minThreads: -1 }, /opts\.minThreads/, 'RangeError'],
  ['maxQueue -1', fixture('basic.mjs'), { maxQueue: -1 }, /opts\.maxQueue/, 'RangeError'],
  ['maxQueue NaN', fixture('basic.mjs'), { maxQueue: NaN }, /opts\.maxQueue/, 'RangeError'],
  ['cancelGraceMs -1', fixture('basic.mjs'), { cancelGraceMs: -1 }, /opts\.cancelGraceMs/, 'RangeError'],
  ['idleTimeoutMs -1', fixture('basic.mjs'), { idleTimeoutMs: -1 }, /opts\.idleTimeoutMs/, 'RangeError'],
  ['concurrentTasksPerWorker 0', fixture('basic.mjs'), { concurrentTasksPerWorker: 0 }, /opts\.concurrentTasksPerWorker/, 'RangeError'],
  ['name 5', fixture('basic.mjs'), { name: 5 as unknown as string }, /opts\.name/, 'TypeError'],
  ['opts null', fixture('basic.mjs'), null as unknown as WorkerPoolOptions, /opts/, 'TypeError'],
  ['module 42', 42, { threads: 1 }, /module/, 'TypeError'],
  ['module ""', '', { threads: 1 }, /module/, 'TypeError'],
  ['module https:', 'https://example.com/x.mjs', { threads: 1 }, /module/, 'TypeError'],
];

for (const [what, module, opts, message, name] of bad) {
  test(`bad option (${what}) throws ${name} synchronously, naming it, and starts no thread`, T, () => {
    assert.throws(() => new WorkerPool(module as string, opts), (e: any) => {
      assert.equal(e.name, name);
      assert.match(e.message, message);
      assert.match(e.code, /^LOOPWISE_INVALID_ARG_/);
      return true;
    });
    assert.equal(liveWorkers(), 0);
  });
}

test('the module may be a URL, a file: URL string, an absolute or a relative path', T, async (t) => {
  const url = fixture('basic.mjs');
  const { fileURLToPath } = await import('node:url');
  const { relative } = await import('node:path');
  for (const m of [url, url.href, fileURLToPath(url), relative(process.cwd(), fileURLToPath(url))]) {
    const pool = new WorkerPool(m, { threads: 1 });
    closeAfter(t, pool);
    assert.equal(await pool.run('add', [1, 1]), 2, String(m));
    assert.equal(pool.name, 'basic.mjs');
  }
  const named = new WorkerPool(url, { threads: 1, minThreads: 0, name: 'math' });
  closeAfter(t, named);
  assert.equal(named.name, 'math');
});

test('minThreads: 0 with a small idleTimeoutMs: the pool shrinks to 0 threads when idle and grows again on demand', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 2, minThreads: 0, idleTimeoutMs: 10 });
  closeAfter(t, pool, mem);
  assert.equal(pool.stats().threads, 0, 'no thread before the first job');
  const a = pool.run('block', [mem, 1, 3]);
  const b = pool.run('block', [mem, 2, 3]);
  await waitFor(mem, 1, 'a job on one thread');
  await waitFor(mem, 2, 'a job on the other thread');
  assert.equal(pool.stats().threads, 2, 'grew to threads under load');
  release(mem, 3);
  await Promise.all([a, b]);
  await until(() => pool.stats().threads === 0, 'the idle pool shrinks to 0 threads');
  await until(() => liveWorkers() === 0, 'the idle threads have exited');
  assert.equal(await pool.run('add', [2, 3]), 5, 'grows again on demand');
  assert.equal(pool.stats().threads, 1);
  await until(() => pool.stats().threads === 0, 'shrinks again');
});

test('minThreads: 1 keeps one thread when idle, even when several threads go idle together', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 3, minThreads: 1, idleTimeoutMs: 10 });
  closeAfter(t, pool, mem);
  // Three threads busy at once, released together: their idle timers fire together.
  const jobs = [1, 2, 3].map((i) => pool.run<number>('block', [mem, i, 4]));
  for (const i of [1, 2, 3]) await waitFor(mem, i, `job ${i}`);
  const tids = [1, 2, 3].map((i) => Atomics.load(mem, i));
  release(mem, 4);
  await Promise.all(jobs);
  await until(() => liveWorkers() <= 1, 'the idle threads above minThreads to exit');
  assert.equal(liveWorkers(), 1, 'one thread kept alive');
  assert.equal(pool.stats().threads, 1);
  const tid = await pool.run<number>('whoami');
  assert.ok(tids.includes(tid), `the next job runs on a kept warm thread (${tids}), not a new one (${tid})`);
});
