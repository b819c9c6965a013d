/**
 * Queue: an async FIFO, optionally bounded (maxsize 0 = unbounded, as
 * asyncio), FIFO-fair on both ends, cancel-safe, closable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue, scope, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

type Coded = { code?: string; name?: string };

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function drain<T>(q: Queue<T>): T[] {
  const out: T[] = [];
  while (q.size > 0) out.push(q.tryGet() as T);
  return out;
}

test('maxsize must be an integer >= 0; 0 (the default) is unbounded', async () => {
  for (const bad of [-1, 1.5, NaN]) {
    assert.throws(() => new Queue({ maxsize: bad }), { name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: /maxsize/ }, String(bad));
  }
  assert.throws(() => new Queue({ maxsize: 'x' as never }), { name: 'TypeError', message: /maxsize/ });
  assert.throws(() => new Queue(3 as never), { name: 'TypeError', message: /opts/ });
  for (const q of [new Queue<number>(), new Queue<number>({ maxsize: 0 }), new Queue<number>({})]) {
    for (let i = 0; i < 1000; i++) assert.equal(q.tryPut(i), true);
    await q.put(1000); // does not wait
    assert.equal(q.size, 1001);
  }
});

test('items come out in the order they went in', async () => {
  const before = activeResources();
  const q = new Queue<number>();
  await q.put(1);
  q.tryPut(2);
  await q.put(3);
  assert.equal(q.size, 3);
  assert.deepEqual([await q.get(), q.tryGet(), await q.get()], [1, 2, 3]);
  assert.equal(q.size, 0);
  assertNoNewTimers(before);
});

test('tryGet on an empty queue is undefined; tryPut on a full one is false and adds nothing', () => {
  const q = new Queue<string>({ maxsize: 2 });
  assert.equal(q.tryGet(), undefined);
  assert.equal(q.tryPut('a'), true);
  assert.equal(q.tryPut('b'), true);
  assert.equal(q.tryPut('c'), false);
  assert.equal(q.size, 2);
  assert.deepEqual(drain(q), ['a', 'b']);
});

test('put waits while the queue is full; putters are served in FIFO order', async () => {
  const q = new Queue<string>({ maxsize: 1 });
  await q.put('first');
  const log: string[] = [];
  const putters = ['p1', 'p2', 'p3'].map((v) =>
    spawn(async () => {
      await q.put(v);
      log.push(`put:${v}`);
    }),
  );
  await turn();
  assert.deepEqual(log, []);
  assert.equal(q.size, 1);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    got.push(await q.get());
    await turn();
    assert.ok(q.size <= 1, 'never more than maxsize items');
  }
  await Promise.all(putters);
  assert.deepEqual(got, ['first', 'p1', 'p2', 'p3']);
  assert.deepEqual(log, ['put:p1', 'put:p2', 'put:p3']);
  assertNoTasks();
});

test('get waits while empty; getters are served in FIFO order with direct hand-off', async () => {
  const q = new Queue<number>({ maxsize: 1 });
  const got: string[] = [];
  const getters = ['g1', 'g2', 'g3'].map((name) =>
    spawn(async () => {
      got.push(`${name}:${await q.get()}`);
    }),
  );
  await turn();
  assert.equal(q.tryPut(10), true, 'tryPut succeeds on a maxsize-1 queue: the waiting getter takes the item');
  assert.equal(q.size, 0, 'handed straight to the getter, never queued');
  await q.put(20);
  assert.equal(q.size, 0);
  assert.equal(q.tryPut(30), true);
  await Promise.all(getters);
  assert.deepEqual(got, ['g1:10', 'g2:20', 'g3:30']);
  assertNoTasks();
});

test('a cancelled getter takes no item; the next getter gets it', async () => {
  const q = new Queue<string>();
  const log: string[] = [];
  const getter = (name: string) =>
    spawn(async () => {
      try {
        log.push(`${name}:${await q.get()}`);
      } catch (e) {
        log.push(`${name}:${(e as Coded).code}`);
        throw e;
      }
    });
  const a = getter('a');
  const b = getter('b');
  await turn();
  a.cancel();
  await a.catch(() => {});
  await q.put('x');
  await b;
  assert.deepEqual(log, ['a:LOOPWISE_CANCELLED', 'b:x']);
  assert.equal(q.size, 0);
  assertNoTasks();
});

test("a cancelled putter's item is never enqueued", async () => {
  const q = new Queue<string>({ maxsize: 1 });
  q.tryPut('kept');
  const log: string[] = [];
  const putter = (v: string) =>
    spawn(async () => {
      try {
        await q.put(v);
        log.push(`put:${v}`);
      } catch (e) {
        log.push(`${v}:${(e as Coded).code}`);
        throw e;
      }
    });
  const a = putter('cancelled-item');
  const b = putter('b');
  await turn();
  a.cancel();
  await a.catch(() => {});
  assert.equal(await q.get(), 'kept');
  await b;
  assert.equal(await q.get(), 'b');
  assert.equal(q.size, 0);
  assert.deepEqual(log, ['cancelled-item:LOOPWISE_CANCELLED', 'put:b']);
  assertNoTasks();
});

test('close(): waiting getters and putters reject with QueueClosedError', async () => {
  const full = new Queue<number>({ maxsize: 1 });
  full.tryPut(1);
  const empty = new Queue<number>();
  const log: string[] = [];
  const putter = spawn(() => full.put(2).catch((e: Coded) => log.push(`put:${e.name}:${e.code}`)));
  const getter = spawn(() => empty.get().catch((e: Coded) => log.push(`get:${e.name}:${e.code}`)));
  await turn();
  full.close();
  empty.close();
  await putter;
  await getter;
  assert.deepEqual(log.sort(), ['get:QueueClosedError:LOOPWISE_QUEUE_CLOSED', 'put:QueueClosedError:LOOPWISE_QUEUE_CLOSED']);
  assert.deepEqual(drain(full), [1], "the waiting putter's item was not added");
  assertNoTasks();
});

test('after close(): put and tryPut fail, get drains what is left and then rejects', async () => {
  const q = new Queue<string>();
  q.tryPut('a');
  q.tryPut('b');
  q.close();
  assert.equal(q.closed, true);
  q.close(); // idempotent
  assert.throws(() => q.tryPut('c'), { name: 'QueueClosedError', code: 'LOOPWISE_QUEUE_CLOSED' });
  await assert.rejects(async () => q.put('c'), { code: 'LOOPWISE_QUEUE_CLOSED' });
  assert.equal(q.size, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(q.tryGet(), 'b');
  await assert.rejects(q.get(), { name: 'QueueClosedError', code: 'LOOPWISE_QUEUE_CLOSED' });
  assert.equal(q.tryGet(), undefined);
});

test('put on a closed queue returns a rejected promise rather than throwing synchronously', () => {
  const q = new Queue<number>();
  q.close();
  let p: Promise<void> | undefined;
  assert.doesNotThrow(() => {
    p = q.put(1);
  }, 'an async method reports failure through its promise');
  return assert.rejects(p!, { code: 'LOOPWISE_QUEUE_CLOSED' });
});

test('for await over a queue yields every item and ends after close and drain', async () => {
  const q = new Queue<number>({ maxsize: 2 });
  const got: number[] = [];
  const consumer = spawn(async () => {
    for await (const x of q) got.push(x);
    return 'ended';
  });
  for (let i = 0; i < 5; i++) await q.put(i);
  q.close();
  assert.equal(await consumer, 'ended');
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  assertNoTasks();
});

test('for await over a queue closed while the consumer waits ends cleanly', async () => {
  const q = new Queue<number>();
  const consumer = spawn(async () => {
    const got: number[] = [];
    for await (const x of q) got.push(x);
    return got;
  });
  await turn();
  q.close();
  assert.deepEqual(await consumer, []);
});

test('get/put in an already cancelled scope reject at once and change nothing', async () => {
  const q = new Queue<string>();
  q.tryPut('there');
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    await q.get().then(
      (v) => log.push(`got:${v}`),
      (e: Coded) => log.push(`get:${e.code}`),
    );
    await q.put('new').then(
      () => log.push('put'),
      (e: Coded) => log.push(`put:${e.code}`),
    );
  });
  assert.deepEqual(log, ['get:LOOPWISE_CANCELLED', 'put:LOOPWISE_CANCELLED']);
  assert.deepEqual(drain(q), ['there']);
});

test('a waiting get or put rejects in the same tick its scope is cancelled', async () => {
  const empty = new Queue<number>();
  const full = new Queue<number>({ maxsize: 1 });
  full.tryPut(0);
  const log: string[] = [];
  const g = spawn(() =>
    empty.get().catch((e: Coded) => {
      log.push(`get:${e.code}`);
      throw e;
    }),
  );
  const p = spawn(() =>
    full.put(1).catch((e: Coded) => {
      log.push(`put:${e.code}`);
      throw e;
    }),
  );
  await turn();
  setImmediate(() => log.push('next turn'));
  g.cancel();
  p.cancel();
  await g.catch(() => {});
  await p.catch(() => {});
  log.push('joined');
  await turn();
  assert.deepEqual(log, ['get:LOOPWISE_CANCELLED', 'put:LOOPWISE_CANCELLED', 'joined', 'next turn']);
  assert.deepEqual(drain(full), [0]);
  assertNoTasks();
});

test('a timeout around get rejects with TimeoutError and a later item is not lost', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const q = new Queue<string>();
  const p = timeout(500, () => q.get()).catch((e: Coded) => e.name);
  await clock.advance(500);
  assert.equal(await p, 'TimeoutError');
  q.tryPut('later');
  assert.equal(q.size, 1, 'the timed-out getter did not take it');
  assert.equal(await q.get(), 'later');
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});
