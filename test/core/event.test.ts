/**
 * Event: a one-bit broadcast. set() wakes every waiter, wait() on a set
 * event resolves at once, clear() re-arms, a cancelled waiter is removed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Event, scope, spawn, taskTree, timeout, type TaskTreeNode } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

type Coded = { code?: string; name?: string };

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function awaitingOf(name: string): string[] | undefined {
  const find = (n: TaskTreeNode): TaskTreeNode | undefined => (n.name === name ? n : n.children.map(find).find((x) => x !== undefined));
  return find(taskTree())?.awaiting;
}

test('set/clear/isSet', () => {
  const ev = new Event();
  assert.equal(ev.isSet, false);
  ev.set();
  assert.equal(ev.isSet, true);
  ev.set();
  assert.equal(ev.isSet, true, 'set is idempotent');
  ev.clear();
  assert.equal(ev.isSet, false);
  ev.clear();
  assert.equal(ev.isSet, false);
});

test('set() wakes every waiter', async () => {
  const before = activeResources();
  const ev = new Event();
  const woke: string[] = [];
  const tasks = ['a', 'b', 'c'].map((name) =>
    spawn(async () => {
      await ev.wait();
      woke.push(name);
    }),
  );
  await turn();
  assert.deepEqual(woke, []);
  ev.set();
  await Promise.all(tasks);
  assert.deepEqual(woke, ['a', 'b', 'c']);
  assertNoNewTimers(before);
  assertNoTasks();
});

test('wait() on a set event resolves at once, before the next macrotask', async () => {
  const ev = new Event();
  ev.set();
  const log: string[] = [];
  setImmediate(() => log.push('next turn'));
  await ev.wait();
  log.push('waited');
  await turn();
  assert.deepEqual(log, ['waited', 'next turn']);
});

test('clear() re-arms: later waits wait for the next set', async () => {
  const ev = new Event();
  ev.set();
  ev.clear();
  let woke = false;
  const t = spawn(async () => {
    await ev.wait();
    woke = true;
  });
  await turn();
  assert.equal(woke, false);
  ev.set();
  await t;
  assert.equal(woke, true);
  assertNoTasks();
});

test('set then clear in the same tick still wakes the waiters that were waiting', async () => {
  const ev = new Event();
  const t = spawn(() => ev.wait());
  await turn();
  ev.set();
  ev.clear();
  await t;
  assert.equal(ev.isSet, false);
  assertNoTasks();
});

test('a cancelled waiter is removed and rejects; the others still wake', async () => {
  const ev = new Event();
  const log: string[] = [];
  const waiter = (name: string) =>
    spawn(
      async () => {
        try {
          await ev.wait();
          log.push(`${name}:woke`);
        } catch (e) {
          log.push(`${name}:${(e as Coded).code}`);
          throw e;
        }
      },
      { name },
    );
  const a = waiter('ev-a');
  const b = waiter('ev-b');
  await turn();
  assert.deepEqual(awaitingOf('ev-a'), ['Event.wait']);
  a.cancel();
  await a.catch(() => {});
  assert.equal(a.state, 'cancelled');
  assert.equal(awaitingOf('ev-a'), undefined, 'the cancelled task is gone from the tree');
  ev.set();
  await b;
  assert.deepEqual(log, ['ev-a:LOOPWISE_CANCELLED', 'ev-b:woke']);
  assertNoTasks();
});

test('wait() in an already cancelled scope rejects at once, even when the event is set', async () => {
  const ev = new Event();
  ev.set();
  const log: string[] = [];
  await scope(async (s) => {
    s.cancel();
    await ev.wait().then(
      () => log.push('resolved'),
      (e: Coded) => log.push(`rejected:${e.code}`),
    );
  });
  assert.deepEqual(log, ['rejected:LOOPWISE_CANCELLED']);
});

test('a waiting wait() rejects in the same tick its scope is cancelled', async () => {
  const ev = new Event();
  const log: string[] = [];
  const w = spawn(() =>
    ev.wait().catch((e: Coded) => {
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
  assertNoTasks();
});

test('a timeout around wait() rejects with TimeoutError at its deadline', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const ev = new Event();
  const log: string[] = [];
  const p = timeout(1000, () => ev.wait()).catch((e: Coded) => log.push(e.name ?? '?'));
  await clock.advance(999);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['TimeoutError']);
  ev.set(); // no stale waiter to wake
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});
