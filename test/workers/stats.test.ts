/**
 * stats(): counts that match what happened, sane percentiles and utilisation.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawn } from 'loopwise';
import { WorkerPool, type Percentiles } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, rejection, release, shared, T, waitFor } from './helpers.js';

after(assertNoWorkers);

function assertPercentiles(p: Percentiles, what: string): void {
  for (const k of ['mean', 'p50', 'p90', 'p99', 'max'] as const) {
    assert.equal(typeof p[k], 'number', `${what}.${k}`);
    assert.ok(Number.isFinite(p[k]) && p[k] >= 0, `${what}.${k} = ${p[k]}`);
  }
  assert.ok(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max, `${what} ordered: ${JSON.stringify(p)}`);
}

test('a new pool: zero counts, percentiles 0, utilization in [0, 1]', T, async (t) => {
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 2 });
  closeAfter(t, pool);
  const s = pool.stats();
  assert.equal(s.threads, 2);
  assert.equal(s.busy, 0);
  assert.equal(s.queued, 0);
  assert.equal(s.completed, 0);
  assert.equal(s.failed, 0);
  assert.equal(s.cancelled, 0);
  assert.ok(s.utilization >= 0 && s.utilization <= 1);
  assert.deepEqual(s.runTime, { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  assert.deepEqual(s.waitTime, { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
});

test('threads, busy, queued, completed, failed and cancelled match what happened', T, async (t) => {
  const mem = shared();
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 1, cancelGraceMs: 20_000 });
  closeAfter(t, pool, mem);
  const blocked = pool.run('block', [mem, 1, 2]);
  await waitFor(mem, 1, 'the blocking job');
  const queued = [pool.run('add', [1, 1]), pool.run('add', [2, 2])];
  const ac = new AbortController();
  const dropped = pool.run('add', [3, 3], { signal: ac.signal });
  let s = pool.stats();
  assert.equal(s.threads, 1);
  assert.equal(s.busy, 1);
  assert.equal(s.queued, 3);
  ac.abort();
  await rejection(dropped);
  assert.equal(pool.stats().queued, 2);
  assert.equal(pool.stats().cancelled, 1);
  release(mem, 2);
  await blocked;
  await Promise.all(queued);
  await rejection(pool.run('fail', ['on purpose'])); // the job throws: a failure
  await rejection(pool.run('add', [() => 0])); // not cloneable: a failure
  const task = spawn(() => pool.run('coop', [mem, 3, 4, 'throw']));
  await waitFor(mem, 3, 'the cooperative job');
  task.cancel();
  await rejection(task);
  s = pool.stats();
  assert.equal(s.completed, 3);
  assert.equal(s.failed, 2);
  assert.equal(s.cancelled, 2);
  assert.equal(s.busy, 0);
  assert.equal(s.queued, 0);
  assert.equal(s.threads, 1);
  assert.ok(s.utilization >= 0 && s.utilization <= 1, `utilization ${s.utilization}`);
  assertPercentiles(s.runTime, 'runTime');
  assertPercentiles(s.waitTime, 'waitTime');
  assert.ok(s.runTime.max > 0, 'run times were recorded');
  assert.ok(s.waitTime.max > 0, 'wait times were recorded');
});

test('stats under load with two threads stay consistent', T, async (t) => {
  const pool = new WorkerPool(fixture('control.mjs'), { threads: 2 });
  closeAfter(t, pool);
  const all = Array.from({ length: 200 }, (_, i) => pool.run<number>('add', [i, 1]));
  const mid = pool.stats();
  assert.ok(mid.queued + mid.busy <= 200);
  assert.ok(mid.busy <= 2);
  await Promise.all(all);
  const s = pool.stats();
  assert.equal(s.completed, 200);
  assert.equal(s.queued, 0);
  assert.equal(s.busy, 0);
  assert.ok(s.utilization >= 0 && s.utilization <= 1);
  assertPercentiles(s.runTime, 'runTime');
  assertPercentiles(s.waitTime, 'waitTime');
});
