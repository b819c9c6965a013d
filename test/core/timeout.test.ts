/**
 * timeout / deadline / moveOnAfter: deadlines as cancel scopes. Only the
 * scope whose own deadline fired converts the cancellation; a body that
 * ignores the cancellation is waited for; every timer is cleared.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import { cancellable, checkpoint, currentSignal, deadline, moveOnAfter, now, scope, shield, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

function codeOf(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function install(t: { after(fn: () => void): void }, opts?: { now?: number }): TestClock {
  const clock = TestClock.install(opts);
  t.after(() => clock.uninstall());
  return clock;
}

function foreign<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

test('timeout fires at its deadline, not before', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const done = timeout(30_000, () => sleep(60_000)).catch((e: Error) => log.push(e.name));
  await clock.advance(29_999);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await done;
  assert.deepEqual(log, ['TimeoutError']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('TimeoutError has name, code, ms and a message with the budget', async (t) => {
  const clock = install(t);
  const p = timeout(250, () => sleep(1000)).catch((e: unknown) => e);
  await clock.advance(250);
  const e = (await p) as Error & { code: string; ms: number };
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'TimeoutError');
  assert.equal(e.code, 'LOOPWISE_TIMEOUT');
  assert.equal(e.ms, 250);
  assert.match(e.message, /250 ms/);
});

test('a body finishing in time returns its value and clears the deadline timer', async (t) => {
  const clock = install(t);
  const p = timeout(100, async () => {
    await sleep(99);
    return 'in time';
  });
  assert.equal(clock.pendingTimers, 2);
  await clock.advance(99);
  assert.equal(await p, 'in time');
  assert.equal(clock.pendingTimers, 0, 'the deadline timer is cleared when the scope ends');
  assertNoTasks();
});

test('the body sees a CancelledError whose reason is the very TimeoutError timeout throws', async (t) => {
  const clock = install(t);
  let seen: unknown;
  const p = timeout(10, async (signal) => {
    try {
      await sleep(100);
    } catch (e) {
      seen = e;
      assert.equal(signal.reason, e, 'the signal carries the same CancelledError');
      throw e;
    }
  }).catch((e: unknown) => e);
  await clock.advance(10);
  const thrown = await p;
  const c = seen as { name: string; code: string; reason: unknown };
  assert.equal(c.name, 'CancelledError');
  assert.equal(c.code, 'LOOPWISE_CANCELLED');
  assert.equal(c.reason, thrown);
  assert.equal(codeOf(thrown), 'LOOPWISE_TIMEOUT');
});

test('the body receives the scope’s signal only when it declares a parameter; currentSignal() inside is that signal', async (t) => {
  const clock = install(t);
  let declared: AbortSignal | undefined;
  let inside: AbortSignal | undefined;
  const p = timeout(10, async (signal) => {
    declared = signal;
    inside = currentSignal();
    await sleep(100);
  }).catch(() => {});
  // A body that declares no parameter gets no signal (none is even made).
  const args = await timeout(10, (...a: unknown[]) => a.filter((x) => x !== undefined).length);
  assert.equal(args, 0);
  assert.ok(declared instanceof AbortSignal);
  assert.equal(inside, declared);
  assert.equal(declared.aborted, false);
  await clock.advance(10);
  await p;
  assert.equal(declared.aborted, true);
  assert.equal(getEventListeners(declared, 'abort').length, 0);
});

test('timeout(0) cancels at once: the first checkpoint throws; a body with none keeps its value', async () => {
  const log: string[] = [];
  const r = await timeout(0, async () => {
    log.push('body runs');
    await checkpoint();
    log.push('not reached');
  }).catch((e: { code: string; ms: number }) => `${e.code}:${e.ms}`);
  assert.equal(r, 'LOOPWISE_TIMEOUT:0');
  assert.deepEqual(log, ['body runs']);
  assert.equal(await timeout(0, () => 'kept'), 'kept');
  assertNoTasks();
});

test('timeout(Infinity) never fires and arms no timer', async (t) => {
  const clock = install(t);
  const p = timeout(Infinity, async () => {
    await sleep(1e9);
    return 'done';
  });
  assert.equal(clock.pendingTimers, 1, 'only the sleep');
  await clock.advance(1e9);
  assert.equal(await p, 'done');
});

test('a body error thrown before the deadline propagates unchanged', async (t) => {
  install(t);
  await assert.rejects(
    timeout(100, async () => {
      throw new TypeError('own error');
    }),
    { name: 'TypeError', message: 'own error' },
  );
});

test('a body that turns the cancellation into another error after the deadline: that error propagates, not TimeoutError', async (t) => {
  const clock = install(t);
  const p = timeout(10, async () => {
    try {
      await sleep(100);
    } catch {
      throw new Error('converted');
    }
  }).catch((e: Error) => `${e.name}:${e.message}`);
  await clock.advance(10);
  assert.equal(await p, 'Error:converted');
});

test('a body that ignores cancellation (awaits a foreign promise): timeout waits for it, then returns its value', async (t) => {
  const clock = install(t);
  const f = foreign<number>();
  const log: string[] = [];
  const p = timeout(10, async (signal) => {
    const v = await f.promise;
    log.push(`body resumed, aborted=${signal.aborted}`);
    return v * 2;
  }).then((v) => log.push(`resolved:${v}`));
  await clock.advance(10);
  await clock.advance(10_000);
  assert.deepEqual(log, [], 'still waiting for the body');
  f.resolve(21);
  await p;
  assert.deepEqual(log, ['body resumed, aborted=true', 'resolved:42']);
  assert.equal(clock.pendingTimers, 0);
});

test('cancellable() makes the same foreign promise interruptible by the timeout', async (t) => {
  const clock = install(t);
  const f = foreign<number>();
  const p = timeout(10, () => cancellable(f.promise)).catch((e: { code: string }) => e.code);
  await clock.advance(10);
  assert.equal(await p, 'LOOPWISE_TIMEOUT');
  f.resolve(1);
});

test('an enclosing cancellation that reaches a timeout is a CancelledError there, not a TimeoutError', async (t) => {
  const clock = install(t);
  const task = spawn(() => timeout(1000, () => sleep(2000)));
  await clock.advance(10);
  task.cancel('outer');
  const e = (await task.catch((x: unknown) => x)) as { name: string; reason: unknown };
  assert.equal(e.name, 'CancelledError');
  assert.equal(e.reason, 'outer');
  assert.equal(task.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('an outer deadline firing while the inner body runs is not converted by the inner timeout', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = moveOnAfter(10, async () => {
    try {
      await timeout(50, () => sleep(100));
    } catch (e) {
      log.push(`inner rejected with ${(e as Error).name}`);
      throw e;
    }
    return 'not reached';
  });
  await clock.advance(10);
  assert.equal(await p, undefined);
  assert.deepEqual(log, ['inner rejected with CancelledError']);
  assert.equal(clock.pendingTimers, 0);
});

test('both deadlines due at the same instant: the outer one cancels first, so only the outer converts', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(10, async () => {
    await timeout(10, () => sleep(100)).catch((e: Error) => {
      log.push(`inner:${e.name}`);
      throw e;
    });
  }).catch((e: { name: string; ms: number }) => `${e.name}:${e.ms}`);
  await clock.advance(10);
  assert.equal(await p, 'TimeoutError:10');
  assert.deepEqual(log, ['inner:CancelledError']);
});

test('moveOnAfter resolves undefined when its time runs out, the value otherwise', async (t) => {
  const clock = install(t);
  const slow = moveOnAfter(10, async () => {
    await sleep(20);
    return 'slow';
  });
  const fast = moveOnAfter(10, async () => {
    await sleep(5);
    return 'fast';
  });
  await clock.advance(10);
  assert.equal(await slow, undefined);
  assert.equal(await fast, 'fast');
  assert.equal(clock.pendingTimers, 0);
});

test('moveOnAfter does not swallow the body’s own errors', async (t) => {
  install(t);
  await assert.rejects(
    moveOnAfter(10, async () => {
      throw new Error('own');
    }),
    { message: 'own' },
  );
});

test('deadline(at) uses the loopwise clock; TimeoutError.ms is at - start', async (t) => {
  const clock = install(t, { now: 1000 });
  assert.equal(now(), 1000);
  const at = now() + 300;
  const log: string[] = [];
  const p = deadline(at, () => sleep(1000)).catch((e: { name: string; ms: number }) => log.push(`${e.name}:${e.ms}`));
  await clock.advance(299);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['TimeoutError:300']);
});

test('two deadline() calls share one budget', async (t) => {
  const clock = install(t);
  const at = now() + 100;
  const log: string[] = [];
  const p = (async () => {
    await deadline(at, () => sleep(60));
    log.push('step one');
    await deadline(at, () => sleep(60));
    log.push('step two');
  })().catch((e: { name: string }) => log.push(e.name));
  await clock.advance(100);
  await p;
  assert.deepEqual(log, ['step one', 'TimeoutError']);
});

test('a deadline already in the past cancels at once', async (t) => {
  install(t, { now: 500 });
  const r = await deadline(100, () => checkpoint()).catch((e: { code: string }) => e.code);
  assert.equal(r, 'LOOPWISE_TIMEOUT');
  assert.equal(await deadline(Infinity, () => 'never due'), 'never due');
});

test('a timeout around a shield: the shield completes, then the timeout is seen', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(10, async () => {
    await shield(async () => {
      await sleep(40);
      log.push('shielded done');
    });
    await sleep(1);
  }).catch((e: { code: string }) => log.push(e.code));
  await clock.advance(40);
  await p;
  assert.deepEqual(log, ['shielded done', 'LOOPWISE_TIMEOUT']);
});

test('deadlines longer than 2^31-1 ms are honoured on the TestClock (not clamped)', async (t) => {
  const clock = install(t);
  const ms = 2 ** 31 + 5000;
  const log: string[] = [];
  const p = timeout(ms, () => sleep(2 ** 40)).catch((e: { name: string; ms: number }) => log.push(`${e.name}:${e.ms}`));
  await clock.advance(1);
  await clock.advance(ms - 2);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, [`TimeoutError:${ms}`]);
});

test('a long real-clock timeout keeps one ref’d timer handle, cleared when the body finishes', async () => {
  const before = activeResources();
  const f = foreign<string>();
  const p = timeout(2 ** 31 + 1, () => cancellable(f.promise));
  const during = activeResources();
  assert.equal((during.get('Timeout') ?? 0) - (before.get('Timeout') ?? 0), 1, 'a ref’d handle keeps the process alive');
  f.resolve('ok');
  assert.equal(await p, 'ok');
  assertNoNewTimers(before);
});

test('nested scopes: a scope() cancelled inside a timeout resolves undefined; the timeout goes on', async (t) => {
  const clock = install(t);
  const p = timeout(100, async () => {
    const r = await scope(async (s) => {
      s.cancel();
      await sleep(1000);
    });
    await sleep(10);
    return `scope gave ${String(r)}`;
  });
  await clock.advance(10);
  assert.equal(await p, 'scope gave undefined');
});

test('a body that awaits a Node API with the scope’s signal: the deadline aborts it and timeout throws TimeoutError', async (t) => {
  const clock = install(t);
  let seen: unknown;
  const p = timeout(25, async (signal) => {
    try {
      await nodeSleep(60_000, 'never', { signal });
    } catch (e) {
      seen = e;
      throw e;
    }
  }).catch((e: unknown) => e);
  await clock.advance(25);
  const e = (await p) as { name: string; ms: number };
  assert.equal((seen as Error).name, 'AbortError');
  assert.equal(e.name, 'TimeoutError');
  assert.equal(e.ms, 25);
  const moved = moveOnAfter(5, (signal) => nodeSleep(60_000, 'never', { signal }));
  await clock.advance(5);
  assert.equal(await moved, undefined);
  assertNoTasks();
});

test('a body that catches its cancellation and returns a fallback keeps that value (no TimeoutError invented)', async (t) => {
  const clock = install(t);
  const p = timeout(10, async () => {
    try {
      await sleep(100);
      return 'fresh';
    } catch {
      return 'fallback';
    }
  });
  await clock.advance(10);
  assert.equal(await p, 'fallback');
  assertNoTasks();
});
