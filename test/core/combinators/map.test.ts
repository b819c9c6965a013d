/**
 * map: bounded concurrency over sync and async iterables, results in input
 * order; the first failure stops new items and cancels the ones in flight;
 * an async source is closed (return()) when map stops early.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpoint, map, scope, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { assertNoTasks } from '../../helpers/leaks.js';

type Coded = { code?: string; name?: string; message?: string };

function install(t: { after(fn: () => void): void }): TestClock {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  return clock;
}

function done(clock: TestClock): void {
  assert.equal(clock.pendingTimers, 0, 'virtual timers left behind');
  assertNoTasks();
}

/** Counts calls in flight and remembers the highest count. */
class InFlight {
  now = 0;
  max = 0;
  enter(): void {
    this.now++;
    if (this.now > this.max) this.max = this.now;
  }
  leave(): void {
    this.now--;
  }
}

async function* asyncItems<T>(items: T[]): AsyncGenerator<T> {
  for (const x of items) {
    await checkpoint();
    yield x;
  }
}

test('map resolves results in input order for arrays, Sets, generators and async iterables', async (t) => {
  const clock = install(t);
  const delays = [30, 10, 20, 0, 5];
  const fn = async (ms: number) => {
    if (ms > 0) await sleep(ms);
    return ms * 2;
  };
  function* gen(): Generator<number> {
    yield* delays;
  }
  const ps = [map(delays, fn), map(new Set(delays), fn), map(gen(), fn), map(asyncItems(delays), fn)];
  await clock.runAll();
  for (const p of ps) assert.deepEqual(await p, [60, 20, 40, 0, 10]);
  assert.equal(clock.now(), 30, 'unbounded by default: the sleeps overlap');
  done(clock);
});

test('map of an empty source resolves []', async () => {
  assert.deepEqual(await map([], () => 1), []);
  assert.deepEqual(await map(asyncItems<number>([]), () => 1), []);
  assertNoTasks();
});

test('map calls fn(item, index, signal); the signal is an AbortSignal when declared', async () => {
  const seen: string[] = [];
  const out = await map(['a', 'b', 'c'], (item, index, signal) => {
    seen.push(`${item}${index}:${signal instanceof AbortSignal}:${signal.aborted}`);
    return item.toUpperCase();
  });
  assert.deepEqual(out, ['A', 'B', 'C']);
  assert.deepEqual(seen, ['a0:true:false', 'b1:true:false', 'c2:true:false']);
  const seenAsync: string[] = [];
  await map(asyncItems(['x', 'y']), (item, index, signal) => {
    seenAsync.push(`${item}${index}:${signal instanceof AbortSignal}`);
  });
  assert.deepEqual(seenAsync, ['x0:true', 'y1:true']);
  assertNoTasks();
});

for (const [label, source] of [
  ['an array', (xs: number[]) => xs],
  ['an async iterable', (xs: number[]) => asyncItems(xs)],
] as const) {
  test(`map over ${label} never has more than concurrency calls in flight, and uses all of them`, async (t) => {
    const clock = install(t);
    const c = new InFlight();
    const delays = [50, 10, 40, 20, 30, 10, 60, 5, 25, 15];
    const p = map(
      source(delays),
      async (ms) => {
        c.enter();
        try {
          await sleep(ms);
          return ms;
        } finally {
          c.leave();
        }
      },
      { concurrency: 3 },
    );
    await clock.runAll();
    assert.deepEqual(await p, delays);
    assert.equal(c.max, 3);
    assert.equal(c.now, 0);
    done(clock);
  });
}

test('map with the default concurrency runs every item at once', async (t) => {
  const clock = install(t);
  const c = new InFlight();
  const p = map(Array.from({ length: 25 }, (_, i) => i), async (i) => {
    c.enter();
    await sleep(10);
    c.leave();
    return i;
  });
  await clock.advance(10);
  assert.equal((await p).length, 25);
  assert.equal(c.max, 25);
  assert.equal(clock.now(), 10);
  done(clock);
});

test('concurrency: 1 runs the items one after another, in order', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = map(
    [3, 1, 2],
    async (ms, i) => {
      log.push(`start${i}@${clock.now()}`);
      await sleep(ms);
    },
    { concurrency: 1 },
  );
  await clock.runAll();
  await p;
  assert.deepEqual(log, ['start0@0', 'start1@3', 'start2@4']);
  done(clock);
});

for (const [label, source] of [
  ['an array', (xs: number[]) => xs],
  ['an async iterable', (xs: number[]) => asyncItems(xs)],
] as const) {
  test(`the first failure over ${label} stops new items and cancels the ones in flight`, async (t) => {
    const clock = install(t);
    const log: string[] = [];
    const p = map(
      source([0, 1, 2, 3, 4, 5]),
      async (i) => {
        log.push(`start${i}`);
        try {
          if (i === 1) {
            await sleep(5);
            throw new Error('item 1 failed');
          }
          await sleep(60_000);
        } catch (e) {
          log.push(`${i}:${(e as Coded).code ?? (e as Error).message}`);
          throw e;
        }
      },
      { concurrency: 2 },
    ).catch((e: Error) => log.push(`map:${e.message}`));
    await clock.advance(5);
    await p;
    assert.deepEqual(log, ['start0', 'start1', '1:item 1 failed', '0:LOOPWISE_CANCELLED', 'map:item 1 failed']);
    done(clock);
  });
}

test('map: several failures give an AggregateError', async (t) => {
  const clock = install(t);
  const first = new Error('first');
  const cleanup = new Error('cleanup');
  const p = map([0, 1], async (i) => {
    if (i === 0) {
      try {
        await sleep(60_000);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw cleanup;
      }
    }
    await sleep(1);
    throw first;
  }).catch((e: unknown) => e);
  await clock.advance(1);
  const e = await p;
  assert.ok(e instanceof AggregateError, `expected AggregateError, got ${String(e)}`);
  assert.deepEqual(e.errors, [first, cleanup]);
  done(clock);
});

test('bad concurrency throws synchronously, naming opts.concurrency', () => {
  for (const bad of [0, 1.5, -1, NaN, 'x', {}]) {
    let returned: unknown = 'nothing';
    assert.throws(
      () => {
        returned = map([1], (x) => x, { concurrency: bad as number });
      },
      (e: unknown) => (e instanceof RangeError || e instanceof TypeError) && /opts\.concurrency/.test((e as Error).message),
      `concurrency ${String(bad)}`,
    );
    assert.equal(returned, 'nothing');
  }
  assert.throws(() => map(5 as never, (x) => x), { name: 'TypeError', message: /items/ });
  assert.throws(() => map([1], 'f' as never), { name: 'TypeError', message: /fn/ });
  assert.throws(() => map([1], (x) => x, 3 as never), { name: 'TypeError', message: /opts/ });
});

test('concurrency: Infinity is accepted', async () => {
  assert.deepEqual(await map([1, 2], (x) => x + 1, { concurrency: Infinity }), [2, 3]);
  assertNoTasks();
});

test('an async source has return() called when map stops early on a failure', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  let next = 0;
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]() {
      return {
        next: async () => {
          log.push(`next${next}`);
          return { value: next++, done: false };
        },
        return: async () => {
          log.push('return');
          return { value: undefined, done: true };
        },
      };
    },
  };
  const p = map(
    source,
    async (i) => {
      await sleep(10);
      if (i === 2) throw new Error('stop at 2');
      return i;
    },
    { concurrency: 1 },
  ).catch((e: Error) => log.push(`map:${e.message}`));
  await clock.runAll();
  await p;
  assert.equal(log.at(-1), 'map:stop at 2');
  assert.equal(log.filter((x) => x === 'return').length, 1, `return() called once: ${JSON.stringify(log)}`);
  assert.ok(log.indexOf('return') < log.indexOf('map:stop at 2'), 'the source is closed before map settles');
  assert.ok(next <= 4, `no unbounded pulling from the source after the failure (pulled ${next})`);
  done(clock);
});

test('an async generator source has its finally run when map stops early', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  async function* infinite(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      log.push('source:finally');
    }
  }
  const p = map(
    infinite(),
    async (i) => {
      await sleep(1);
      if (i === 3) throw new Error('enough');
      return i;
    },
    { concurrency: 2 },
  ).catch((e: Error) => log.push(`map:${e.message}`));
  await clock.runAll();
  await p;
  assert.deepEqual(log, ['source:finally', 'map:enough']);
  done(clock);
});

test('a timeout around map over a source whose next() never settles fires at its deadline and closes the source', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const stuck: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<number>>(() => {}),
      return: async () => {
        log.push('return');
        return { value: undefined, done: true };
      },
    }),
  };
  const p = timeout(100, () => map(stuck, (x) => x)).catch((e: Coded) => log.push(`${e.name}@${clock.now()}`));
  await clock.advance(100);
  await p;
  assert.deepEqual(log, ['return', 'TimeoutError@100']);
  done(clock);
});

test('an async source is not closed with return() when it ran to its end', async () => {
  let returned = 0;
  let i = 0;
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => (i < 3 ? { value: i++, done: false } : { value: undefined, done: true }),
      return: async () => {
        returned++;
        return { value: undefined, done: true };
      },
    }),
  };
  assert.deepEqual(await map(source, (x) => x * 10), [0, 10, 20]);
  assert.equal(returned, 0);
  assertNoTasks();
});

for (const [label, source] of [
  ['an array', (xs: number[]) => xs],
  ['an async iterable', (xs: number[]) => asyncItems(xs)],
] as const) {
  test(`a timeout around map over ${label} cancels the calls in flight and rejects with TimeoutError`, async (t) => {
    const clock = install(t);
    const log: string[] = [];
    const p = timeout(25, () =>
      map(
        source([10, 20, 30, 40]),
        async (ms, i) => {
          try {
            await sleep(ms);
            log.push(`done${i}`);
          } catch (e) {
            log.push(`${i}:${(e as Coded).code}`);
            throw e;
          }
        },
        { concurrency: 2 },
      ),
    ).catch((e: Coded) => log.push(e.name ?? '?'));
    await clock.advance(25);
    await p;
    // 0 finishes at 10, 2 starts at 10 (due 40), 1 finishes at 20, 3 starts at 20 (due 60): both cancelled at 25.
    assert.deepEqual(log.slice(0, 2), ['done0', 'done1']);
    assert.equal(log.at(-1), 'TimeoutError');
    assert.deepEqual(log.slice(2, -1).sort(), ['2:LOOPWISE_CANCELLED', '3:LOOPWISE_CANCELLED']);
    done(clock);
  });
}

test('a cancelled scope around map resolves undefined; a cancelled task around it ends cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const r = scope(async (s) => {
    const m = map([1, 2], async () => sleep(100));
    await sleep(10);
    s.cancel();
    return m;
  });
  const task = spawn(() => map([1, 2], () => sleep(100)));
  await clock.advance(10);
  assert.equal(await r, undefined);
  task.cancel();
  await task.catch((e: Coded) => log.push(`task:${e.code}`));
  assert.equal(task.state, 'cancelled');
  assert.deepEqual(log, ['task:LOOPWISE_CANCELLED']);
  done(clock);
});

test('map in an already cancelled scope rejects at once without calling fn', async () => {
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    await map([1], () => log.push('called')).catch((e: Coded) => log.push(`array:${e.code}`));
    await map(asyncItems([1]), () => log.push('called')).catch((e: Coded) => log.push(`async:${e.code}`));
  });
  assert.deepEqual(log, ['array:LOOPWISE_CANCELLED', 'async:LOOPWISE_CANCELLED']);
  assertNoTasks();
});
