/**
 * Lock: FIFO-fair, cancel-safe mutual exclusion. acquire() resolves a
 * Disposable; a cancelled waiter leaves the line without taking the lock; a
 * lock handed over in the same tick its waiter is cancelled is not lost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpoint, Lock, scope, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

type Coded = { code?: string; name?: string };

/** One macrotask turn: lets every woken task run its continuation. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('acquire resolves a Disposable; disposing releases; locked follows', async () => {
  const before = activeResources();
  const lock = new Lock();
  assert.equal(lock.locked, false);
  const held = await lock.acquire();
  assert.equal(typeof held[Symbol.dispose], 'function');
  assert.equal(lock.locked, true);
  held[Symbol.dispose]();
  assert.equal(lock.locked, false);
  {
    using _ = await lock.acquire();
    assert.equal(lock.locked, true);
  }
  assert.equal(lock.locked, false, '`using` released it at the end of the block');
  assertNoNewTimers(before);
  assertNoTasks();
});

test('`using` releases the lock when the block throws', async () => {
  const lock = new Lock();
  await assert.rejects(async () => {
    using _ = await lock.acquire();
    throw new Error('inside');
  }, /inside/);
  assert.equal(lock.locked, false);
});

test('the lock is granted in FIFO order and a newcomer cannot barge ahead of the line', async () => {
  const lock = new Lock();
  const first = await lock.acquire();
  const order: string[] = [];
  const tasks = ['w1', 'w2', 'w3'].map((name) =>
    spawn(async () => {
      using _ = await lock.acquire();
      order.push(name);
      await checkpoint();
    }),
  );
  await turn();
  assert.equal(lock.waiting, 3);
  first[Symbol.dispose]();
  // Released in the same tick as a newcomer's acquire: the oldest waiter gets it.
  const late = spawn(async () => {
    using _ = await lock.acquire();
    order.push('late');
  });
  await Promise.all([...tasks, late]);
  assert.deepEqual(order, ['w1', 'w2', 'w3', 'late']);
  assert.equal(lock.locked, false);
  assert.equal(lock.waiting, 0);
  assertNoTasks();
});

test('disposing twice releases once', async () => {
  const lock = new Lock();
  const a = await lock.acquire();
  const got: string[] = [];
  const b = spawn(async () => {
    const h = await lock.acquire();
    got.push('b');
    return h;
  });
  await turn();
  a[Symbol.dispose]();
  a[Symbol.dispose](); // must not release b's hold
  const hb = await b;
  assert.deepEqual(got, ['b']);
  assert.equal(lock.locked, true, 'still held by b');
  const c = spawn(async () => {
    using _ = await lock.acquire();
    got.push('c');
  });
  await turn();
  assert.deepEqual(got, ['b'], 'c still waits: the second dispose did not free the lock');
  hb[Symbol.dispose]();
  await c;
  assert.deepEqual(got, ['b', 'c']);
  assert.equal(lock.locked, false);
  assertNoTasks();
});

test('release() without a holder throws NotAcquiredError', async () => {
  const lock = new Lock();
  assert.throws(() => lock.release(), { name: 'NotAcquiredError', code: 'LOOPWISE_NOT_ACQUIRED' });
  await lock.acquire();
  lock.release();
  assert.equal(lock.locked, false);
  assert.throws(() => lock.release(), { code: 'LOOPWISE_NOT_ACQUIRED' });
});

test('run(fn) holds the lock while fn runs and releases it on return and on throw', async () => {
  const lock = new Lock();
  const seen: boolean[] = [];
  assert.equal(
    await lock.run(async () => {
      seen.push(lock.locked);
      await checkpoint();
      return 42;
    }),
    42,
  );
  assert.equal(lock.locked, false);
  await assert.rejects(
    lock.run(() => {
      seen.push(lock.locked);
      throw new Error('sync throw');
    }),
    /sync throw/,
  );
  assert.equal(lock.locked, false);
  await assert.rejects(
    lock.run(async () => {
      await checkpoint();
      throw new Error('async throw');
    }),
    /async throw/,
  );
  assert.equal(lock.locked, false);
  assert.deepEqual(seen, [true, true]);
  assert.throws(() => lock.run('f' as never), { name: 'TypeError', message: /fn/ });
});

test('run() serialises critical sections', async () => {
  const lock = new Lock();
  const log: string[] = [];
  const section = (name: string) =>
    lock.run(async () => {
      log.push(`${name}:in`);
      await checkpoint();
      await checkpoint();
      log.push(`${name}:out`);
    });
  await Promise.all([section('a'), section('b'), section('c')]);
  assert.deepEqual(log, ['a:in', 'a:out', 'b:in', 'b:out', 'c:in', 'c:out']);
});

test('a cancelled waiter leaves the line without taking the lock', async () => {
  const lock = new Lock();
  const held = await lock.acquire();
  const log: string[] = [];
  const waiter = (name: string) =>
    spawn(async () => {
      try {
        using _ = await lock.acquire();
        log.push(`${name}:got`);
      } catch (e) {
        log.push(`${name}:${(e as Coded).code}`);
        throw e;
      }
    });
  const a = waiter('a');
  const b = waiter('b');
  const c = waiter('c');
  await turn();
  assert.equal(lock.waiting, 3);
  b.cancel();
  await b.catch(() => {});
  assert.equal(lock.waiting, 2, 'the cancelled waiter left the line');
  held[Symbol.dispose]();
  await a;
  await c;
  assert.deepEqual(log, ['b:LOOPWISE_CANCELLED', 'a:got', 'c:got']);
  assert.equal(b.state, 'cancelled');
  assert.equal(lock.locked, false);
  assert.equal(lock.waiting, 0);
  assertNoTasks();
});

test('a lock handed over in the same tick its waiter is cancelled is owned by the waiter, never lost', async () => {
  const lock = new Lock();
  const held = await lock.acquire();
  const log: string[] = [];
  const w = spawn(async () => {
    const h = await lock.acquire(); // resolves: the lock was handed over before the cancel
    log.push(`acquired:${lock.locked}`);
    try {
      await checkpoint(); // the task is cancelled: this throws
      log.push('not reached');
    } finally {
      h[Symbol.dispose]();
      log.push('released');
    }
  });
  const next = spawn(async () => {
    using _ = await lock.acquire();
    log.push('next:got');
  });
  await turn();
  held[Symbol.dispose]();
  w.cancel();
  const outcome = await w.then(
    () => 'fulfilled',
    (e: Coded) => e.code,
  );
  await next;
  assert.equal(outcome, 'LOOPWISE_CANCELLED');
  assert.deepEqual(log, ['acquired:true', 'released', 'next:got']);
  assert.equal(lock.locked, false);
  assertNoTasks();
});

test('acquire in an already cancelled scope rejects at once, even when the lock is free', async () => {
  const lock = new Lock();
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    await lock.acquire().then(
      () => log.push('acquired'),
      (e: Coded) => log.push(`rejected:${e.code}`),
    );
    await lock.run(() => log.push('run body')).catch((e: Coded) => log.push(`run:${e.code}`));
  });
  assert.deepEqual(log, ['rejected:LOOPWISE_CANCELLED', 'run:LOOPWISE_CANCELLED']);
  assert.equal(lock.locked, false);
  assert.equal(lock.waiting, 0);
});

test('a waiting acquire rejects in the same tick its scope is cancelled', async () => {
  const lock = new Lock();
  const held = await lock.acquire();
  const log: string[] = [];
  const w = spawn(async () => {
    await lock.acquire().catch((e: Coded) => {
      log.push(`rejected:${e.code}`);
      throw e;
    });
  });
  await turn();
  setImmediate(() => log.push('next turn'));
  w.cancel();
  await w.catch(() => {});
  log.push('joined');
  await turn();
  assert.deepEqual(log, ['rejected:LOOPWISE_CANCELLED', 'joined', 'next turn']);
  assert.equal(lock.waiting, 0);
  held[Symbol.dispose]();
  assert.equal(lock.locked, false);
  assertNoTasks();
});

test('a timeout around a waiting acquire rejects with TimeoutError and the lock stays with its holder', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const lock = new Lock();
  const held = await lock.acquire();
  const p = timeout(100, () => lock.acquire()).catch((e: Coded) => e.name);
  await clock.advance(99);
  assert.equal(lock.waiting, 1);
  await clock.advance(1);
  assert.equal(await p, 'TimeoutError');
  assert.equal(lock.waiting, 0);
  assert.equal(lock.locked, true);
  held[Symbol.dispose]();
  assert.equal(lock.locked, false);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('a holder cancelled inside run() releases the lock to the next waiter', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const lock = new Lock();
  const log: string[] = [];
  const holder = spawn(() => lock.run(() => sleep(60_000)));
  const next = spawn(() => lock.run(() => log.push('next ran')));
  await clock.advance(10);
  assert.deepEqual(log, []);
  holder.cancel();
  const outcome: unknown = await holder.then(
    () => 'fulfilled',
    (e: Coded) => e.code,
  );
  await next;
  assert.equal(outcome, 'LOOPWISE_CANCELLED');
  assert.equal(holder.state, 'cancelled');
  assert.deepEqual(log, ['next ran']);
  assert.equal(lock.locked, false);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});
