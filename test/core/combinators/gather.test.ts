/**
 * gather: results in input order; the first failure cancels the other
 * branches and gather settles only after all of them; settle mode is
 * Promise.allSettled without cancelling; outer cancellation wins.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentTask, Event, gather, scope, shield, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../../helpers/leaks.js';

type Coded = { code?: string; name?: string; message?: string };

function install(t: { after(fn: () => void): void }): TestClock {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  return clock;
}

/**
 * Cancelled siblings run their cleanup in no promised order: checks that the
 * log holds `branches` (in any order across branches) and then `last`.
 */
function assertSettledThen(log: string[], branches: string[], last: string): void {
  assert.equal(log.at(-1), last, `expected ${last} last in ${JSON.stringify(log)}`);
  assert.deepEqual(log.slice(0, -1).sort(), [...branches].sort());
}

function done(clock: TestClock): void {
  assert.equal(clock.pendingTimers, 0, 'virtual timers left behind');
  assertNoTasks();
}

test('gather resolves results in input order, not completion order', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = gather([
    async () => {
      await sleep(30);
      log.push('a');
      return 'a';
    },
    async () => {
      await sleep(10);
      log.push('b');
      return 2;
    },
    () => 'sync',
    () => Promise.resolve(true),
  ]);
  await clock.advance(30);
  const out: [string, number, string, boolean] = await p;
  assert.deepEqual(out, ['a', 2, 'sync', true]);
  assert.deepEqual(log, ['b', 'a'], 'the branches ran concurrently');
  assert.equal(clock.now(), 30);
  done(clock);
});

test('gather([]) resolves []', async () => {
  assert.deepEqual(await gather([]), []);
  assert.deepEqual(await gather([], { settle: true }), []);
  assertNoTasks();
});

test('the first failure cancels the other branches and gather rejects with it after they settled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const boom = new Error('boom');
  const p = gather([
    async () => {
      try {
        await sleep(60_000);
        log.push('a:finished');
      } catch (e) {
        log.push(`a:${(e as Coded).code}`);
        throw e;
      } finally {
        log.push('a:finally');
      }
    },
    async () => {
      await sleep(10);
      throw boom;
    },
    async () => {
      try {
        await new Event().wait();
      } finally {
        log.push('c:finally');
      }
    },
  ]).then(
    () => log.push('gather:resolved'),
    (e: unknown) => {
      assert.equal(e, boom, 'the very error the branch threw');
      log.push('gather:rejected');
    },
  );
  await clock.advance(10);
  await p;
  assertSettledThen(log, ['a:LOOPWISE_CANCELLED', 'a:finally', 'c:finally'], 'gather:rejected');
  assert.ok(log.indexOf('a:LOOPWISE_CANCELLED') < log.indexOf('a:finally'));
  done(clock);
});

test('gather waits for a cancelled branch whose cleanup takes time', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = gather([
    async () => {
      try {
        await sleep(60_000);
      } finally {
        await shield(() => sleep(100));
        log.push('slow-cleanup:done');
      }
    },
    async () => {
      await sleep(10);
      throw new Error('boom');
    },
  ]).catch((e: Error) => log.push(`gather:${e.message}`));
  await clock.advance(10);
  assert.deepEqual(log, [], 'gather has not settled while a branch is still cleaning up');
  await clock.advance(99);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['slow-cleanup:done', 'gather:boom']);
  done(clock);
});

test('several failures reject with an AggregateError in the order they happened', async (t) => {
  const clock = install(t);
  const first = new Error('first');
  const cleanup = new Error('cleanup failed');
  const p = gather([
    async () => {
      try {
        await sleep(60_000);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw cleanup;
      }
    },
    async () => {
      await sleep(5);
      throw first;
    },
  ]);
  const caught = p.catch((e: unknown) => e);
  await clock.advance(5);
  const e = await caught;
  assert.ok(e instanceof AggregateError, `expected AggregateError, got ${String(e)}`);
  assert.deepEqual(e.errors, [first, cleanup]);
  done(clock);
});

test('gather(fns, { settle: true }) has the allSettled shape and does not cancel siblings', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const bad = new Error('bad');
  const p = gather(
    [
      async () => {
        await sleep(10);
        throw bad;
      },
      async () => {
        await sleep(20);
        log.push('b:finished');
        return 'b';
      },
      () => 3,
    ],
    { settle: true },
  );
  await clock.advance(20);
  const out = await p;
  assert.deepEqual(out, [
    { status: 'rejected', reason: bad },
    { status: 'fulfilled', value: 'b' },
    { status: 'fulfilled', value: 3 },
  ]);
  assert.deepEqual(log, ['b:finished']);
  done(clock);
});

test('a branch receives its signal only if it declares a parameter; the signal aborts when the branch is cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = gather([
    function (this: unknown) {
      // eslint-disable-next-line prefer-rest-params
      log.push(`undeclared:${arguments.length}`);
      return 0;
    },
    async (signal: AbortSignal) => {
      log.push(`declared:${signal instanceof AbortSignal}:${signal.aborted}`);
      signal.addEventListener('abort', () => log.push(`aborted:${(signal.reason as Coded).code}`));
      await sleep(60_000);
    },
    async () => {
      await sleep(1);
      throw new Error('x');
    },
  ]).catch((e: Error) => log.push(`gather:${e.message}`));
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['undeclared:0', 'declared:true:false', 'aborted:LOOPWISE_CANCELLED', 'gather:x']);
  done(clock);
});

test('a timeout around gather cancels every branch and rejects with TimeoutError after they settled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(50, () =>
    gather([
      async () => {
        try {
          await sleep(60_000);
        } finally {
          log.push('a:finally');
        }
      },
      async () => {
        try {
          await sleep(100);
        } finally {
          log.push('b:finally');
        }
      },
      () => 'instant',
    ]),
  ).catch((e: Coded) => log.push(`${e.name}:${e.code}`));
  await clock.advance(49);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assertSettledThen(log, ['a:finally', 'b:finally'], 'TimeoutError:LOOPWISE_TIMEOUT');
  done(clock);
});

test('a cancelled scope around gather absorbs its CancelledError; a cancelled task ends cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const inScope = scope(async (s) => {
    const g = gather([
      async () => {
        try {
          await sleep(60_000);
        } finally {
          log.push('scope-branch:finally');
        }
      },
    ]).catch((e: Coded) => {
      log.push(`scope-gather:${e.code}`);
      throw e;
    });
    await sleep(5);
    s.cancel('enough');
    return g;
  });
  const task = spawn(() =>
    gather([
      async () => {
        try {
          await sleep(60_000);
        } finally {
          log.push('task-branch:finally');
        }
      },
    ]),
  );
  await clock.advance(5);
  assert.equal(await inScope, undefined);
  task.cancel('stop');
  const e = await task.then(
    () => undefined,
    (x: unknown) => x as Coded & { reason: unknown },
  );
  assert.equal(e?.code, 'LOOPWISE_CANCELLED');
  assert.equal(e?.reason, 'stop');
  assert.equal(task.state, 'cancelled');
  assert.deepEqual(log, ['scope-branch:finally', 'scope-gather:LOOPWISE_CANCELLED', 'task-branch:finally']);
  done(clock);
});

test('gather in an already cancelled scope rejects at once and starts no branch', async () => {
  const log: string[] = [];
  const before = activeResources();
  const r = await scope(async (s) => {
    s.cancel();
    try {
      await gather([() => log.push('branch ran')]);
      log.push('resolved');
    } catch (e) {
      log.push(`rejected:${(e as Coded).code}`);
    }
    return 'body done';
  });
  assert.equal(r, 'body done');
  assert.deepEqual(log, ['rejected:LOOPWISE_CANCELLED']);
  assertNoNewTimers(before);
  assertNoTasks();
});

test('gather validates its arguments synchronously', () => {
  assert.throws(() => gather('x' as never), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /fns/ });
  assert.throws(() => gather([() => 1, 2] as never), { name: 'TypeError', message: /fns\[1\]/ });
  assert.throws(() => gather([], { settle: 'yes' } as never), { name: 'TypeError', message: /opts\.settle/ });
  assert.throws(() => gather([], 5 as never), { name: 'TypeError', message: /opts/ });
  assertNoTasks();
});

test('a branch that throws synchronously is a failure like any other', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = gather([
    async () => {
      try {
        await sleep(60_000);
      } finally {
        log.push('other:finally');
      }
    },
    () => {
      throw new Error('sync throw');
    },
  ]).catch((e: Error) => log.push(`gather:${e.message}`));
  await p;
  assert.deepEqual(log, ['other:finally', 'gather:sync throw']);
  done(clock);
});

test('settle mode reports a branch that cancelled itself as rejected instead of rejecting the whole gather', async (t) => {
  const clock = install(t);
  const p = gather(
    [
      async () => {
        currentTask()!.cancel('changed my mind');
        await sleep(10);
      },
      async () => {
        await sleep(20);
        return 'b';
      },
    ],
    { settle: true },
  ).then(
    (v) => ({ value: v }),
    (e: Coded) => ({ error: e.code }),
  );
  await clock.advance(20);
  const r = await p;
  assert.ok('value' in r, `gather(settle) rejected with ${JSON.stringify(r)}`);
  assert.equal(r.value[0].status, 'rejected');
  assert.equal((r.value[0] as PromiseRejectedResult).reason.code, 'LOOPWISE_CANCELLED');
  assert.deepEqual(r.value[1], { status: 'fulfilled', value: 'b' });
  done(clock);
});
