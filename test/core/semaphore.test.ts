/**
 * Semaphore: a bounded, FIFO-fair, cancel-safe counting semaphore.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpoint, map, scope, Semaphore, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

type Coded = { code?: string; name?: string };

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('new Semaphore rejects anything but an integer >= 1, naming permits', () => {
  for (const bad of [0, 1.5, -1, NaN, Infinity]) {
    assert.throws(() => new Semaphore(bad), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: /permits/ }, String(bad));
  }
  for (const bad of ['x', undefined, null, '2']) {
    assert.throws(() => new Semaphore(bad as never), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /permits/ }, String(bad));
  }
  assert.equal(new Semaphore(1).available, 1);
  assert.equal(new Semaphore(7).available, 7);
});

test('acquire takes permits while available, then waits; release gives them back', async () => {
  const before = activeResources();
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  assert.equal(sem.available, 1);
  const b = await sem.acquire();
  assert.equal(sem.available, 0);
  let third = false;
  const c = spawn(async () => {
    const h = await sem.acquire();
    third = true;
    return h;
  });
  await turn();
  assert.equal(third, false);
  assert.equal(sem.waiting, 1);
  a[Symbol.dispose]();
  const hc = await c;
  assert.equal(third, true);
  assert.equal(sem.available, 0, 'the permit went straight to the waiter');
  b[Symbol.dispose]();
  hc[Symbol.dispose]();
  assert.equal(sem.available, 2);
  assertNoNewTimers(before);
  assertNoTasks();
});

test('`using` gives the permit back at the end of the block, also on throw', async () => {
  const sem = new Semaphore(3);
  {
    using _a = await sem.acquire();
    using _b = await sem.acquire();
    assert.equal(sem.available, 1);
  }
  assert.equal(sem.available, 3);
  await assert.rejects(async () => {
    using _ = await sem.acquire();
    throw new Error('inside');
  }, /inside/);
  assert.equal(sem.available, 3);
});

test('permits are granted in FIFO order; a release does not let a newcomer barge', async () => {
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  const order: string[] = [];
  const holders = new Map<string, Disposable>();
  const waiters = ['w1', 'w2', 'w3', 'w4'].map((name) =>
    spawn(async () => {
      holders.set(name, await sem.acquire());
      order.push(name);
    }),
  );
  await turn();
  assert.equal(sem.waiting, 4);
  b[Symbol.dispose]();
  const newcomer = spawn(async () => {
    holders.set('new', await sem.acquire());
    order.push('new');
  });
  await turn();
  assert.deepEqual(order, ['w1']);
  a[Symbol.dispose]();
  await turn();
  assert.deepEqual(order, ['w1', 'w2']);
  holders.get('w1')![Symbol.dispose]();
  holders.get('w2')![Symbol.dispose]();
  await turn();
  assert.deepEqual(order, ['w1', 'w2', 'w3', 'w4']);
  holders.get('w3')![Symbol.dispose]();
  await Promise.all([...waiters, newcomer]);
  assert.deepEqual(order, ['w1', 'w2', 'w3', 'w4', 'new']);
  for (const name of ['w4', 'new']) holders.get(name)![Symbol.dispose]();
  assert.equal(sem.available, 2);
  assert.equal(sem.waiting, 0);
  assertNoTasks();
});

test('disposing twice releases once', async () => {
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  a[Symbol.dispose]();
  a[Symbol.dispose]();
  assert.equal(sem.available, 1);
  b[Symbol.dispose]();
  assert.equal(sem.available, 2);
});

test('release() beyond the permits acquired throws NotAcquiredError', async () => {
  const sem = new Semaphore(2);
  assert.throws(() => sem.release(), { name: 'NotAcquiredError', code: 'LOOPWISE_NOT_ACQUIRED' });
  await sem.acquire();
  sem.release();
  assert.equal(sem.available, 2);
  assert.throws(() => sem.release(), { code: 'LOOPWISE_NOT_ACQUIRED' });
  assert.equal(sem.available, 2);
});

test('run(fn) holds a permit while fn runs and gives it back on return and throw', async () => {
  const sem = new Semaphore(2);
  const seen: number[] = [];
  assert.equal(
    await sem.run(async () => {
      seen.push(sem.available);
      await checkpoint();
      return 'v';
    }),
    'v',
  );
  await assert.rejects(
    sem.run(() => {
      seen.push(sem.available);
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(seen, [1, 1]);
  assert.equal(sem.available, 2);
  assert.throws(() => sem.run(null as never), { name: 'TypeError', message: /fn/ });
});

test('run() bounds concurrency: never more than the permits in flight', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const sem = new Semaphore(3);
  let inFlight = 0;
  let max = 0;
  const p = map([50, 10, 40, 20, 30, 10, 60, 5], (ms) =>
    sem.run(async () => {
      inFlight++;
      max = Math.max(max, inFlight);
      await sleep(ms);
      inFlight--;
    }),
  );
  await clock.runAll();
  await p;
  assert.equal(max, 3);
  assert.equal(sem.available, 3);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('a cancelled waiter leaves the line without taking a permit', async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  const log: string[] = [];
  const waiter = (name: string) =>
    spawn(async () => {
      try {
        using _ = await sem.acquire();
        log.push(`${name}:got`);
      } catch (e) {
        log.push(`${name}:${(e as Coded).code}`);
        throw e;
      }
    });
  const a = waiter('a');
  const b = waiter('b');
  await turn();
  a.cancel();
  await a.catch(() => {});
  assert.equal(sem.waiting, 1);
  assert.equal(sem.available, 0);
  held[Symbol.dispose]();
  await b;
  assert.deepEqual(log, ['a:LOOPWISE_CANCELLED', 'b:got']);
  assert.equal(sem.available, 1);
  assert.equal(sem.waiting, 0);
  assertNoTasks();
});

test('a permit handed over in the same tick its waiter is cancelled is owned by the waiter', async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  const outcome: string[] = [];
  const w = spawn(async () => {
    const h = await sem.acquire();
    outcome.push(`acquired:${sem.available}`);
    return h;
  });
  await turn();
  held[Symbol.dispose]();
  w.cancel();
  const h = await w; // no checkpoint after the acquire: the task returns the permit it owns
  assert.deepEqual(outcome, ['acquired:0']);
  assert.equal(sem.available, 0, 'the permit is held by the waiter, not back in the pool');
  h[Symbol.dispose]();
  assert.equal(sem.available, 1, 'and it is not lost');
  assertNoTasks();
});

test('acquire in an already cancelled scope rejects at once, taking nothing', async () => {
  const sem = new Semaphore(2);
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    await sem.acquire().then(
      () => log.push('acquired'),
      (e: Coded) => log.push(`rejected:${e.code}`),
    );
  });
  assert.deepEqual(log, ['rejected:LOOPWISE_CANCELLED']);
  assert.equal(sem.available, 2);
});

test('a waiting acquire rejects in the same tick its scope is cancelled', async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  const log: string[] = [];
  const w = spawn(() =>
    sem.acquire().catch((e: Coded) => {
      log.push(`rejected:${e.code}`);
      throw e;
    }),
  );
  await turn();
  setImmediate(() => log.push('next turn'));
  w.cancel();
  await w.catch(() => {});
  log.push('joined');
  await turn();
  assert.deepEqual(log, ['rejected:LOOPWISE_CANCELLED', 'joined', 'next turn']);
  assert.equal(sem.waiting, 0);
  held[Symbol.dispose]();
  assert.equal(sem.available, 1);
  assertNoTasks();
});

test('a timeout around a waiting acquire rejects with TimeoutError; the permit count is unchanged', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  const p = timeout(30_000, () => sem.acquire()).catch((e: Coded) => e.code);
  await clock.advance(30_000);
  assert.equal(await p, 'LOOPWISE_TIMEOUT');
  assert.equal(sem.waiting, 0);
  assert.equal(sem.available, 0);
  held[Symbol.dispose]();
  assert.equal(sem.available, 1);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});
