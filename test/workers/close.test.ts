/**
 * close(): refuses new runs, waits for queued and running jobs; force ends
 * them with LOOPWISE_POOL_CLOSED; asyncDispose; no worker left alive; a
 * process that used a pool ends by itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, liveWorkers, rejection, release, shared, T, track, turn, waitFor } from './helpers.js';

after(assertNoWorkers);

const STARTED = 1;
const RELEASE = 2;
const STARTS = 3;

test('close() refuses new runs, waits for the running and queued jobs, then no worker is alive', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const running = track(pool.run('block', [mem, STARTED, RELEASE]));
  await waitFor(mem, STARTED, 'the running job');
  const queued = track(pool.run('record', [mem, STARTS]));
  const closed = track(pool.close());
  const refused = await rejection(pool.run('add', [1, 2]));
  assert.equal(refused.code, 'LOOPWISE_POOL_CLOSED');
  assert.equal(refused.name, 'PoolClosedError');
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(closed.outcome.status, 'pending', 'close waits for the running job');
  assert.equal(queued.outcome.status, 'pending');
  release(mem, RELEASE);
  await closed.settled;
  assert.equal(closed.outcome.status, 'fulfilled');
  assert.equal(running.outcome.status, 'fulfilled');
  assert.equal(queued.outcome.status, 'fulfilled', 'the queued job ran before close resolved');
  assert.equal(Atomics.load(mem, STARTS), 1);
  assert.equal(liveWorkers(), 0, 'every thread has exited when close() resolves');
  assert.equal(pool.stats().threads, 0);
  assert.equal((await rejection(pool.run('add', [1, 2]))).code, 'LOOPWISE_POOL_CLOSED');
  await pool.close(); // idempotent
});

test('close({ force: true }) rejects queued jobs and ends running ones with LOOPWISE_POOL_CLOSED', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const running = track(pool.run('block', [mem, STARTED, RELEASE, 4, 20_000]));
  await waitFor(mem, STARTED, 'the running job');
  const queued = [track(pool.run('record', [mem, STARTS])), track(pool.run('record', [mem, STARTS]))];
  await pool.close({ force: true });
  for (const p of [running, ...queued]) {
    await p.settled;
    assert.equal(p.outcome.status, 'rejected');
    assert.equal((p.outcome as { reason: { code: string } }).reason.code, 'LOOPWISE_POOL_CLOSED');
  }
  assert.equal(Atomics.load(mem, STARTS), 0, 'queued jobs never started');
  assert.equal(Atomics.load(mem, 4), 0, 'the running job was ended, not finished');
  assert.equal(liveWorkers(), 0);
});

test('close({ force: true }) while a plain close() is draining ends the jobs and settles both', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const running = track(pool.run('block', [mem, STARTED, RELEASE, -1, 20_000]));
  await waitFor(mem, STARTED, 'the running job');
  const queued = track(pool.run('record', [mem, STARTS]));
  const gentle = track(pool.close());
  await turn();
  await pool.close({ force: true });
  for (let i = 0; i < 200 && gentle.outcome.status === 'pending'; i++) await turn();
  assert.equal(gentle.outcome.status, 'fulfilled', 'the plain close() resolves too');
  await running.settled;
  await queued.settled;
  assert.equal((running.outcome as { reason: { code: string } }).reason.code, 'LOOPWISE_POOL_CLOSED');
  assert.equal((queued.outcome as { reason: { code: string } }).reason.code, 'LOOPWISE_POOL_CLOSED');
  assert.equal(liveWorkers(), 0);
});

test('two close() calls while jobs run both resolve once the jobs are done', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1 });
  closeAfter(t, pool, mem);
  const running = pool.run('block', [mem, STARTED, RELEASE]);
  await waitFor(mem, STARTED, 'the running job');
  const first = track(pool.close());
  const second = track(pool[Symbol.asyncDispose]());
  release(mem, RELEASE);
  await running;
  await second.settled;
  // The first close must settle too (bounded wait: turns, not time).
  for (let i = 0; i < 200 && first.outcome.status === 'pending'; i++) await turn();
  assert.equal(first.outcome.status, 'fulfilled', 'the first close() never resolved');
  assert.equal(second.outcome.status, 'fulfilled');
  assert.equal(liveWorkers(), 0);
});

test('await using closes the pool at the end of the block', T, async () => {
  let kept: WorkerPool;
  {
    await using pool = new WorkerPool(fixture('basic.mjs'), { threads: 2 });
    kept = pool;
    assert.equal(await pool.run('add', [2, 2]), 4);
    assert.equal(pool.stats().threads, 2);
  }
  assert.equal(liveWorkers(), 0);
  assert.equal((await rejection(kept.run('add', [1, 1]))).code, 'LOOPWISE_POOL_CLOSED');
});

test('close() right after run() (threads still loading) still runs the queued jobs', T, async () => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 2 });
  const jobs = [pool.run('add', [1, 1]), pool.run('add', [2, 2]), pool.run('addAsync', [3, 3])];
  await pool.close();
  assert.deepEqual(await Promise.all(jobs), [2, 4, 6]);
  assert.equal(liveWorkers(), 0);
});

test('close() right after construction (threads still loading) ends every thread', T, async () => {
  const pool = new WorkerPool(fixture('basic.mjs'), { threads: 2 });
  await pool.close();
  assert.equal(liveWorkers(), 0);
  assert.equal(pool.stats().threads, 0);
});

for (const mode of ['close', 'dispose', 'idle'] as const) {
  test(`a process that used a pool ends by itself (${mode})`, T, () => {
    const script = fileURLToPath(fixture('exits-by-itself.mjs'));
    const r = spawnSync(process.execPath, [script, mode], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.signal, null, `the child was killed after 20 s: it did not exit by itself\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { sums: number[]; workers: number };
    assert.deepEqual(out.sums, [3, 7, 11]);
    if (mode !== 'idle') assert.equal(out.workers, 0, 'no worker alive after close');
  });
}
