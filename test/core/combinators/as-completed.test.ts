/**
 * asCompleted: yields results in completion order with bounded concurrency;
 * a failing branch ends the loop after the rest are cancelled and awaited;
 * leaving the loop (break, throw) cancels and awaits the rest before the loop
 * statement completes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asCompleted, scope, shield, sleep, spawn, timeout, type Thunk } from 'loopwise';
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

function after<T>(ms: number, value: T, log?: string[]): Thunk<T> {
  return async () => {
    try {
      await sleep(ms);
      return value;
    } catch (e) {
      log?.push(`${String(value)}:${(e as Coded).code}`);
      throw e;
    } finally {
      log?.push(`${String(value)}:finally`);
    }
  };
}

test('asCompleted yields results in completion order', async (t) => {
  const clock = install(t);
  const got: string[] = [];
  const loop = (async () => {
    for await (const v of asCompleted([after(30, 'a'), after(10, 'b'), after(20, 'c'), () => 'sync'])) got.push(`${v}@${clock.now()}`);
  })();
  await clock.runAll();
  await loop;
  assert.deepEqual(got, ['sync@0', 'b@10', 'c@20', 'a@30']);
  done(clock);
});

test('asCompleted([]) yields nothing', async () => {
  const got: unknown[] = [];
  for await (const v of asCompleted([])) got.push(v);
  assert.deepEqual(got, []);
  assertNoTasks();
});

test('asCompleted never runs more than concurrency branches at once', async (t) => {
  const clock = install(t);
  let inFlight = 0;
  let max = 0;
  const delays = [40, 10, 30, 20, 50, 5, 15];
  const fns = delays.map((ms) => async () => {
    inFlight++;
    max = Math.max(max, inFlight);
    try {
      await sleep(ms);
      return ms;
    } finally {
      inFlight--;
    }
  });
  const got: number[] = [];
  const loop = (async () => {
    for await (const v of asCompleted(fns, { concurrency: 2 })) got.push(v);
  })();
  await clock.runAll();
  await loop;
  assert.equal(max, 2);
  assert.deepEqual([...got].sort((a, b) => a - b), [...delays].sort((a, b) => a - b));
  // 40 and 10 start; 10 ends@10 -> 30 starts (ends@40); 40 ends@40, 30 ends@40 ...
  assert.deepEqual(got.slice(0, 1), [10]);
  done(clock);
});

test('a failing branch ends the loop with its error after the rest were cancelled and awaited', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const bad = new Error('bad');
  const loop = (async () => {
    try {
      for await (const v of asCompleted([
        after(5, 'first', log),
        async () => {
          await sleep(10);
          throw bad;
        },
        after(60_000, 'slow', log),
      ])) {
        log.push(`got:${v}`);
      }
      log.push('loop:completed');
    } catch (e) {
      log.push(e === bad ? 'loop:bad' : `loop:other:${String(e)}`);
    }
  })();
  await clock.advance(10);
  await loop;
  assert.deepEqual(log, ['first:finally', 'got:first', 'slow:LOOPWISE_CANCELLED', 'slow:finally', 'loop:bad']);
  done(clock);
});

test('break cancels the rest and awaits them before the loop statement completes', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const loop = (async () => {
    for await (const v of asCompleted<unknown>([
      after(10, 'a', log),
      async () => {
        try {
          await sleep(60_000);
        } finally {
          await shield(() => sleep(100)); // a slow cleanup is still awaited
          log.push('b:cleaned');
        }
      },
      after(60_000, 'c', log),
    ])) {
      log.push(`got:${v}`);
      break;
    }
    log.push('after-loop');
  })();
  await clock.advance(10);
  assert.ok(!log.includes('after-loop'), 'the loop is still waiting for the cancelled branches');
  await clock.advance(100);
  await loop;
  assert.deepEqual(log.slice(0, 2), ['a:finally', 'got:a']);
  assert.equal(log.at(-1), 'after-loop');
  assert.deepEqual(log.slice(2, -1).sort(), ['b:cleaned', 'c:LOOPWISE_CANCELLED', 'c:finally'].sort());
  done(clock);
});

test('an error thrown in the loop body cancels the rest and propagates', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const oops = new Error('oops');
  const loop = (async () => {
    for await (const v of asCompleted([after(1, 'a', log), after(60_000, 'b', log)])) {
      log.push(`got:${v}`);
      throw oops;
    }
  })().catch((e: unknown) => log.push(e === oops ? 'loop:oops' : `loop:${String(e)}`));
  await clock.advance(1);
  await loop;
  assert.deepEqual(log, ['a:finally', 'got:a', 'b:LOOPWISE_CANCELLED', 'b:finally', 'loop:oops']);
  done(clock);
});

test('a branch that fails while being cancelled after break is not lost', async (t) => {
  const clock = install(t);
  const cleanup = new Error('cleanup failed');
  const loop = (async () => {
    for await (const _ of asCompleted([
      after(1, 'a'),
      async () => {
        try {
          await sleep(60_000);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw cleanup;
        }
      },
    ])) {
      break;
    }
    return 'completed';
  })().catch((e: unknown) => e);
  await clock.advance(1);
  assert.equal(await loop, cleanup);
  done(clock);
});

test('a timeout around the loop cancels the branches and rejects with TimeoutError', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(15, async () => {
    for await (const v of asCompleted([after(10, 'a', log), after(60_000, 'b', log)])) log.push(`got:${v}`);
  }).catch((e: Coded) => log.push(e.name ?? '?'));
  await clock.advance(15);
  await p;
  assert.deepEqual(log, ['a:finally', 'got:a', 'b:LOOPWISE_CANCELLED', 'b:finally', 'TimeoutError']);
  done(clock);
});

test('a timeout around the loop fires while the body is busy between results', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(15, async () => {
    for await (const v of asCompleted([after(10, 'a', log), after(60_000, 'b', log)])) {
      log.push(`got:${v}`);
      await sleep(60_000); // the body itself is cancelled here
    }
  }).catch((e: Coded) => log.push(e.name ?? '?'));
  await clock.advance(15);
  await p;
  assert.deepEqual(log.slice(0, 2), ['a:finally', 'got:a']);
  assert.deepEqual(log.slice(2), ['b:LOOPWISE_CANCELLED', 'b:finally', 'TimeoutError']);
  done(clock);
});

test('a cancelled task running the loop ends cancelled, with no branch left running', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(async () => {
    for await (const v of asCompleted([after(60_000, 'a', log), after(60_000, 'b', log)])) log.push(`got:${v}`);
  });
  await clock.advance(5);
  task.cancel();
  await task.catch((e: Coded) => log.push(`task:${e.code}`));
  assert.equal(task.state, 'cancelled');
  assert.equal(log.at(-1), 'task:LOOPWISE_CANCELLED');
  assert.deepEqual(log.slice(0, -1).sort(), ['a:LOOPWISE_CANCELLED', 'a:finally', 'b:LOOPWISE_CANCELLED', 'b:finally']);
  done(clock);
});

test('asCompleted in an already cancelled scope starts no branch', async () => {
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    try {
      for await (const v of asCompleted([() => log.push('branch ran')])) log.push(`got:${v}`);
    } catch (e) {
      log.push(`loop:${(e as Coded).code}`);
    }
  });
  assert.deepEqual(log, ['loop:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('asCompleted validates its arguments synchronously', () => {
  for (const bad of [0, 1.5, -1, 'x']) {
    assert.throws(() => asCompleted([() => 1], { concurrency: bad as number }), /opts\.concurrency/, `concurrency ${String(bad)}`);
  }
  assert.throws(() => asCompleted('x' as never), { name: 'TypeError', message: /fns/ });
  assert.throws(() => asCompleted([5] as never), { name: 'TypeError', message: /fns\[0\]/ });
});

test('failures of branches that finished while the loop body was busy are not lost', async (t) => {
  const clock = install(t);
  const e1 = new Error('e1');
  const e2 = new Error('e2');
  const loop = (async () => {
    for await (const v of asCompleted<unknown>([
      after(5, 'first'),
      async () => {
        await sleep(10);
        throw e1;
      },
      async () => {
        await sleep(20);
        throw e2;
      },
    ])) {
      assert.equal(v, 'first');
      await sleep(100); // both branches fail while the body is here
    }
  })().catch((e: unknown) => e);
  await clock.runAll();
  const e = await loop;
  assert.ok(e instanceof AggregateError, `expected an AggregateError of both failures, got ${String(e)}`);
  assert.deepEqual(e.errors, [e1, e2]);
  done(clock);
});
