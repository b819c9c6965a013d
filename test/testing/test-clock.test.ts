/**
 * TestClock: virtual time for loopwise's timers. install/now/advance/runAll/
 * uninstall, ordering of firings, woken code running between firings,
 * autojump, and the boundary with the real clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpoint, now, sleep, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

type Coded = { code?: string; name?: string };

function install(t: { after(fn: () => void): void }, opts?: { now?: number; autojump?: boolean }): TestClock {
  const clock = TestClock.install(opts);
  t.after(() => clock.uninstall());
  return clock;
}

test('install/now/advance/uninstall: loopwise now() reads virtual time while installed', async (t) => {
  const clock = install(t);
  assert.equal(clock.now(), 0);
  assert.equal(now(), 0);
  await clock.advance(1234);
  assert.equal(clock.now(), 1234);
  assert.equal(now(), 1234);
  await clock.advance(0);
  assert.equal(now(), 1234);
  clock.uninstall();
  assert.notEqual(now(), 1234, 'the real clock is back');
  clock.uninstall(); // idempotent
  const again = TestClock.install(); // possible again once uninstalled
  again.uninstall();
  assertNoTasks();
});

test('install({ now }) starts virtual time there', async (t) => {
  const clock = install(t, { now: 1e12 });
  assert.equal(clock.now(), 1e12);
  assert.equal(now(), 1e12);
  const p = sleep(500);
  await clock.advance(500);
  await p;
  assert.equal(now(), 1e12 + 500);
  clock.uninstall();
  assert.ok(now() < 1e12, 'performance.now() again');
});

test('install rejects bad options', () => {
  assert.throws(() => TestClock.install({ now: NaN }), { name: 'TypeError', message: /now/ });
  assert.throws(() => TestClock.install({ now: 'x' as never }), { name: 'TypeError', message: /now/ });
  assert.throws(() => TestClock.install({ autojump: 'yes' as never }), { name: 'TypeError', message: /autojump/ });
  assert.throws(() => TestClock.install(5 as never), { name: 'TypeError', message: /opts/ });
  // none of the failed calls left a clock installed
  TestClock.install().uninstall();
});

test('installing a second clock throws LOOPWISE_CLOCK_INSTALLED and leaves the first in charge', async (t) => {
  const clock = install(t, { now: 100 });
  assert.throws(() => TestClock.install(), { code: 'LOOPWISE_CLOCK_INSTALLED' });
  assert.throws(() => TestClock.install({ now: 5 }), { code: 'LOOPWISE_CLOCK_INSTALLED' });
  assert.equal(now(), 100);
  const p = sleep(10);
  await clock.advance(10);
  await p;
  assert.equal(now(), 110);
});

test('[Symbol.dispose] uninstalls, so `using` scopes a clock to a block', async () => {
  let inside = -1;
  {
    using clock = TestClock.install({ now: 42 });
    inside = now();
    await clock.advance(8);
    assert.equal(now(), 50);
  }
  assert.equal(inside, 42);
  assert.notEqual(now(), 50);
  const again = TestClock.install();
  again[Symbol.dispose]();
  again[Symbol.dispose]();
  TestClock.install().uninstall();
});

test('pendingTimers counts live virtual timers: added by sleep/timeout, removed when they fire or are cleared', async (t) => {
  const clock = install(t);
  assert.equal(clock.pendingTimers, 0);
  const a = spawn(() => sleep(100));
  const b = spawn(() => sleep(200));
  assert.equal(clock.pendingTimers, 2);
  const c = timeout(1000, () => sleep(50)); // a deadline and a sleep
  assert.equal(clock.pendingTimers, 4);
  await clock.advance(50);
  await c; // its sleep fired, its deadline was cleared
  assert.equal(clock.pendingTimers, 2);
  b.cancel();
  await b.catch(() => {});
  assert.equal(clock.pendingTimers, 1, 'cancelling a sleep clears its timer');
  await clock.advance(50);
  await a;
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('timers fire in deadline order, ties in creation order', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const sleeper = (name: string, ms: number) =>
    spawn(async () => {
      await sleep(ms);
      log.push(`${name}@${now()}`);
    });
  const tasks = [sleeper('a', 30), sleeper('b', 10), sleeper('c', 20), sleeper('d', 10), sleeper('e', 30), sleeper('f', 10)];
  await clock.advance(15);
  assert.deepEqual(log, ['b@10', 'd@10', 'f@10']);
  assert.equal(clock.now(), 15, 'advance ends exactly at its target');
  await clock.advance(15);
  await Promise.all(tasks);
  assert.deepEqual(log, ['b@10', 'd@10', 'f@10', 'c@20', 'a@30', 'e@30']);
  assertNoTasks();
});

test('a timer due exactly at the target of advance fires; one due 1 ms later does not', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const a = spawn(async () => {
    await sleep(100);
    log.push('100');
  });
  const b = spawn(async () => {
    await sleep(101);
    log.push('101');
  });
  await clock.advance(100);
  assert.deepEqual(log, ['100']);
  await clock.advance(1);
  await a;
  await b;
  assert.deepEqual(log, ['100', '101']);
});

/**
 * Runs a task that wakes at 10, runs `steps` (awaits that schedule no timer),
 * then sleeps 5 more, beside a task that wakes at 20; returns the log after
 * advance(30). Cancels both afterwards, so a failure does not hang the file.
 */
async function wokenCodeRace(clock: TestClock, steps: () => Promise<void>): Promise<string[]> {
  const log: string[] = [];
  const a = spawn(async () => {
    await sleep(10);
    log.push(`a@${now()}`);
    await steps();
    await sleep(5); // due at 15, before b's timer at 20, if made before b fired
    log.push(`a2@${now()}`);
  });
  const b = spawn(async () => {
    await sleep(20);
    log.push(`b@${now()}`);
  });
  await clock.advance(30);
  a.cancel();
  b.cancel();
  await a.catch(() => {});
  await b.catch(() => {});
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
  return log;
}

test('code woken by a timer runs through its microtask awaits and a checkpoint before the next timer fires', async (t) => {
  const clock = install(t);
  const log = await wokenCodeRace(clock, async () => {
    await Promise.resolve();
    await checkpoint();
    await Promise.resolve();
    await null;
  });
  assert.deepEqual(log, ['a@10', 'a2@15', 'b@20']);
});

test('code woken by a timer runs through several checkpoints before the next timer fires', async (t) => {
  const clock = install(t);
  const log = await wokenCodeRace(clock, async () => {
    await checkpoint();
    await checkpoint();
    await checkpoint();
    await checkpoint();
  });
  assert.deepEqual(log, ['a@10', 'a2@15', 'b@20']);
});

test('code woken by a timer runs through a foreign event-loop turn (setImmediate) before the next timer fires', async (t) => {
  const clock = install(t);
  const log = await wokenCodeRace(clock, async () => {
    await new Promise<void>((r) => setImmediate(r));
    await Promise.resolve();
  });
  assert.deepEqual(log, ['a@10', 'a2@15', 'b@20']);
});

test('a timeout and the sleep it wraps: the deadline fires at its time, the sleep timer is cleared', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(30_000, () => sleep(60_000)).catch((e: Coded) => log.push(`${e.name}@${now()}`));
  await clock.advance(29_999);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['TimeoutError@30000']);
  assert.equal(clock.pendingTimers, 0);
});

test('advance rejects a bad ms', async (t) => {
  const clock = install(t);
  for (const bad of [-1, NaN, Infinity, -Infinity]) {
    await assert.rejects(async () => clock.advance(bad), { name: 'RangeError', message: /ms/ }, String(bad));
  }
  await assert.rejects(async () => clock.advance('10' as never), { name: 'TypeError', message: /ms/ });
  assert.equal(clock.now(), 0, 'time did not move');
});

test('runAll fires every timer in order and stops at the last one', async (t) => {
  const clock = install(t, { now: 1000 });
  const log: string[] = [];
  const tasks = [3000, 1000, 2000].map((ms) =>
    spawn(async () => {
      await sleep(ms);
      log.push(`${ms}@${now()}`);
      if (ms === 3000) {
        await sleep(500); // scheduled by woken code: runAll keeps going
        log.push(`tail@${now()}`);
      }
    }),
  );
  await clock.runAll();
  await Promise.all(tasks);
  assert.deepEqual(log, ['1000@2000', '2000@3000', '3000@4000', 'tail@4500']);
  assert.equal(clock.now(), 4500);
  assert.equal(clock.pendingTimers, 0);
  await clock.runAll(); // nothing to do
  assert.equal(clock.now(), 4500);
  assertNoTasks();
});

test('runAll stops a loop that keeps scheduling timers after its limit', async (t) => {
  const clock = install(t);
  let ticks = 0;
  const poller = spawn(async () => {
    for (;;) {
      await sleep(10);
      ticks++;
    }
  });
  await assert.rejects(clock.runAll(50), /50/);
  assert.ok(ticks >= 49 && ticks <= 51, `stopped near the limit (ticks ${ticks})`);
  assert.equal(clock.now(), ticks * 10);
  assert.equal(poller.state, 'running');
  poller.cancel();
  await poller.catch(() => {});
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('autojump: a 30 s timeout around a 60 s sleep rejects with TimeoutError with no advance call', async (t) => {
  const clock = install(t, { autojump: true });
  await assert.rejects(
    timeout(30_000, () => sleep(60_000)),
    (e: unknown) => (e as Coded).name === 'TimeoutError' && (e as Coded).code === 'LOOPWISE_TIMEOUT',
  );
  assert.equal(clock.now(), 30_000);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('autojump follows a chain of sleeps, each woken step running before the next jump', async (t) => {
  const clock = install(t, { autojump: true });
  const log: string[] = [];
  const a = spawn(async () => {
    for (const ms of [1000, 2000, 3000]) {
      await sleep(ms);
      log.push(`a@${now()}`);
      await checkpoint();
    }
  });
  const b = spawn(async () => {
    await sleep(2500);
    log.push(`b@${now()}`);
  });
  await a;
  await b;
  assert.deepEqual(log, ['a@1000', 'b@2500', 'a@3000', 'a@6000']);
  assert.equal(clock.now(), 6000);
  assertNoTasks();
});

test('a timer created before install stays on the real clock', async (t) => {
  const before = activeResources();
  const log: string[] = [];
  const real = spawn(async () => {
    await sleep(60_000);
    log.push('fired');
  });
  assert.equal((activeResources().get('Timeout') ?? 0) - (before.get('Timeout') ?? 0), 1, 'a real timer');
  const clock = install(t);
  assert.equal(clock.pendingTimers, 0, 'not moved onto the virtual clock');
  await clock.advance(120_000);
  await clock.runAll();
  assert.deepEqual(log, [], 'virtual time does not fire it');
  assert.equal(real.state, 'running');
  real.cancel();
  await real.catch(() => {});
  assertNoNewTimers(before); // cancelling cleared the real timer, on the real clock
  assertNoTasks();
});

test('after uninstall new timers are real again; the virtual clock no longer sees them', async () => {
  const before = activeResources();
  const clock = TestClock.install();
  const virtual = spawn(() => sleep(1000));
  assert.equal(clock.pendingTimers, 1);
  await clock.advance(1000);
  await virtual;
  clock.uninstall();
  const real = spawn(() => sleep(60_000));
  assert.equal(clock.pendingTimers, 0);
  assert.equal((activeResources().get('Timeout') ?? 0) - (before.get('Timeout') ?? 0), 1, 'a real timer');
  real.cancel();
  await real.catch(() => {});
  assertNoNewTimers(before);
  assertNoTasks();
});

test('a TestClock moves only loopwise timers: setTimeout stays real', async (t) => {
  const clock = install(t);
  const before = activeResources();
  let fired = false;
  const h = setTimeout(() => {
    fired = true;
  }, 60_000);
  await clock.advance(120_000);
  assert.equal(fired, false);
  clearTimeout(h);
  assertNoNewTimers(before);
});
