/**
 * race (first to settle wins) and any (first to fulfil wins): the losers are
 * cancelled and awaited before the call settles; an error a loser throws while
 * being cancelled is not lost; outer cancellation wins over the branches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { any, Event, race, scope, shield, sleep, spawn, timeout } from 'loopwise';
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

function assertSettledThen(log: string[], branches: string[], last: string): void {
  assert.equal(log.at(-1), last, `expected ${last} last in ${JSON.stringify(log)}`);
  assert.deepEqual(log.slice(0, -1).sort(), [...branches].sort());
}

/** A branch that sleeps `ms`, logging how it ended. */
function sleeper<T>(log: string[], name: string, ms: number, value: T): () => Promise<T> {
  return async () => {
    try {
      await sleep(ms);
      return value;
    } catch (e) {
      log.push(`${name}:${(e as Coded).code}`);
      throw e;
    }
  };
}

// ---------------------------------------------------------------- race

test('race: the first branch to fulfil wins; the losers are cancelled and awaited first', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = race([sleeper(log, 'slow', 100, 'slow'), sleeper(log, 'fast', 10, 'fast'), sleeper(log, 'mid', 50, 'mid')]).then((v) =>
    log.push(`race:${v}`),
  );
  await clock.advance(10);
  await p;
  assertSettledThen(log, ['slow:LOOPWISE_CANCELLED', 'mid:LOOPWISE_CANCELLED'], 'race:fast');
  done(clock);
});

test('race: the first branch to reject wins; race rejects with its error', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const bad = new Error('bad');
  const p = race([
    sleeper(log, 'slow', 100, 'slow'),
    async () => {
      await sleep(10);
      throw bad;
    },
  ]).then(
    () => log.push('race:resolved'),
    (e: unknown) => log.push(e === bad ? 'race:bad' : `race:other:${String(e)}`),
  );
  await clock.advance(10);
  await p;
  assert.deepEqual(log, ['slow:LOOPWISE_CANCELLED', 'race:bad']);
  done(clock);
});

test('race waits for a loser whose cleanup takes time', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = race<unknown>([
    async () => {
      try {
        await sleep(60_000);
      } finally {
        await shield(() => sleep(200));
        log.push('loser:cleaned');
      }
    },
    async () => {
      await sleep(1);
      return 'winner';
    },
  ]).then((v) => log.push(`race:${v}`));
  await clock.advance(1);
  assert.deepEqual(log, []);
  await clock.advance(199);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['loser:cleaned', 'race:winner']);
  done(clock);
});

test('race: a synchronous value wins at once', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  assert.equal(await race([sleeper(log, 'slow', 10, 'slow'), () => 'now']), 'now');
  assert.deepEqual(log, ['slow:LOOPWISE_CANCELLED']);
  done(clock);
});

test('race([]) throws RangeError synchronously', () => {
  let returned: unknown = 'nothing';
  assert.throws(
    () => {
      returned = race([]);
    },
    (e: unknown) => e instanceof RangeError && (e as Coded).code === 'LOOPWISE_INVALID_ARG_VALUE' && /fns/.test((e as Error).message),
  );
  assert.equal(returned, 'nothing');
  assert.throws(() => race('x' as never), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE' });
  assert.throws(() => race([() => 1, null] as never), { name: 'TypeError', message: /fns\[1\]/ });
});

test('race: an error a loser throws while being cancelled is not lost', async (t) => {
  const clock = install(t);
  const cleanup = new Error('cleanup failed');
  const p = race([
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
      return 'winner';
    },
  ]).then(
    (v) => ({ value: v }),
    (e: unknown) => ({ error: e }),
  );
  await clock.advance(5);
  assert.deepEqual(await p, { error: cleanup });
  done(clock);
});

test('race: a rejected winner and a failing loser give an AggregateError, the winner first', async (t) => {
  const clock = install(t);
  const win = new Error('winner failed');
  const cleanup = new Error('cleanup failed');
  const p = race([
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
      throw win;
    },
  ]).catch((e: unknown) => e);
  await clock.advance(5);
  const e = await p;
  assert.ok(e instanceof AggregateError, `expected AggregateError, got ${String(e)}`);
  assert.deepEqual(e.errors, [win, cleanup]);
  done(clock);
});

test('race: a branch gets its signal only if it declares one, and it aborts when the branch loses', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = race([
    function (this: unknown) {
      // eslint-disable-next-line prefer-rest-params
      log.push(`undeclared:${arguments.length}`);
      return new Event().wait().then(() => 'never');
    },
    async (signal: AbortSignal) => {
      signal.addEventListener('abort', () => log.push(`aborted:${(signal.reason as Coded).code}`));
      await sleep(60_000);
      return 'loser';
    },
    async () => {
      await sleep(3);
      return 'winner';
    },
  ]);
  await clock.advance(3);
  assert.equal(await p, 'winner');
  assert.deepEqual(log, ['undeclared:0', 'aborted:LOOPWISE_CANCELLED']);
  done(clock);
});

test('race: a timeout around it rejects with TimeoutError after every branch settled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(20, () => race([sleeper(log, 'a', 100, 'a'), sleeper(log, 'b', 200, 'b')])).catch((e: Coded) =>
    log.push(`${e.name}`),
  );
  await clock.advance(20);
  await p;
  assertSettledThen(log, ['a:LOOPWISE_CANCELLED', 'b:LOOPWISE_CANCELLED'], 'TimeoutError');
  done(clock);
});

test('race and any reject at once in an already cancelled scope, starting no branch', async () => {
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    await race([() => log.push('race branch')]).catch((e: Coded) => log.push(`race:${e.code}`));
    await any([() => log.push('any branch')]).catch((e: Coded) => log.push(`any:${e.code}`));
  });
  assert.deepEqual(log, ['race:LOOPWISE_CANCELLED', 'any:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

// ---------------------------------------------------------------- any

test('any: the first branch to fulfil wins, earlier rejections are ignored; losers cancelled and awaited', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = any([
    async () => {
      await sleep(5);
      throw new Error('early failure');
    },
    sleeper(log, 'slow', 100, 'slow'),
    sleeper(log, 'ok', 20, 'ok'),
  ]).then((v) => log.push(`any:${v}`));
  await clock.advance(19);
  assert.deepEqual(log, [], 'an early rejection does not settle any');
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['slow:LOOPWISE_CANCELLED', 'any:ok']);
  done(clock);
});

test('any: when all fail it rejects with an AggregateError of the errors in input order', async (t) => {
  const clock = install(t);
  const errs = [new Error('e0'), new Error('e1'), new Error('e2')];
  const p = any([
    async () => {
      await sleep(30);
      throw errs[0];
    },
    async () => {
      await sleep(10);
      throw errs[1];
    },
    () => {
      throw errs[2];
    },
  ]).catch((e: unknown) => e);
  await clock.advance(30);
  const e = await p;
  assert.ok(e instanceof AggregateError, `expected AggregateError, got ${String(e)}`);
  assert.deepEqual(e.errors, errs);
  done(clock);
});

test('any([]) returns a promise that rejects with an empty AggregateError', async () => {
  const p = any([]);
  assert.ok(p instanceof Promise);
  const e = await p.catch((x: unknown) => x);
  assert.ok(e instanceof AggregateError, `expected AggregateError, got ${String(e)}`);
  assert.deepEqual(e.errors, []);
  assertNoTasks();
});

test('any: an error a loser throws while being cancelled is not lost', async (t) => {
  const clock = install(t);
  const cleanup = new Error('cleanup failed');
  const p = any([
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
      return 'winner';
    },
  ]).then(
    (v) => ({ value: v }),
    (e: unknown) => ({ error: e }),
  );
  await clock.advance(5);
  assert.deepEqual(await p, { error: cleanup });
  done(clock);
});

test('any: two losers failing while cancelled give an AggregateError of both', async (t) => {
  const clock = install(t);
  const c1 = new Error('c1');
  const c2 = new Error('c2');
  const failing = (err: Error) => async () => {
    try {
      await sleep(60_000);
    } finally {
      // eslint-disable-next-line no-unsafe-finally
      throw err;
    }
  };
  const p = any([failing(c1), failing(c2), () => 'winner']).catch((e: unknown) => e);
  await clock.advance(0);
  const e = await p;
  assert.ok(e instanceof AggregateError, `expected AggregateError, got ${String(e)}`);
  assert.deepEqual([...e.errors].sort((a: Error, b: Error) => a.message.localeCompare(b.message)), [c1, c2]);
  done(clock);
});

test('any: a cancelled task around it ends cancelled after the branches settled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(() => any([sleeper(log, 'a', 100, 'a'), sleeper(log, 'b', 100, 'b')]));
  await clock.advance(10);
  task.cancel('stop');
  const e = await task.then(
    () => null,
    (x: unknown) => x as Coded,
  );
  log.push(`task:${e?.code}`);
  assert.equal(task.state, 'cancelled');
  assertSettledThen(log, ['a:LOOPWISE_CANCELLED', 'b:LOOPWISE_CANCELLED'], 'task:LOOPWISE_CANCELLED');
  done(clock);
});

test('any: a timeout around it rejects with TimeoutError, not AggregateError', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(20, () => any([sleeper(log, 'a', 100, 'a')])).catch((e: Coded) => log.push(`${e.name}`));
  await clock.advance(20);
  await p;
  assert.deepEqual(log, ['a:LOOPWISE_CANCELLED', 'TimeoutError']);
  done(clock);
});

test('any validates its arguments synchronously', () => {
  assert.throws(() => any(undefined as never), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE' });
  assert.throws(() => any([1] as never), { name: 'TypeError', message: /fns\[0\]/ });
});
