/**
 * Nothing leaks: after 100 000 scopes of every kind (spawn/await, groups with
 * children, timeouts that fire and that do not, moveOnAfter, scope, shield,
 * cancelled tasks, cancellable), no task or scope is left in the tree, no
 * timer or immediate handle, no abort listener on any signal handed out, no
 * virtual timer, and the heap stays flat across a second batch.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import {
  allTasks,
  cancellable,
  checkpoint,
  currentSignal,
  currentTask,
  group,
  moveOnAfter,
  scope,
  shield,
  sleep,
  spawn,
  taskTree,
  timeout,
} from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

const N = 100_000;
const failure = new Error('planned failure');

/** Signals obtained during a run, sampled (keeping all would itself grow the heap). */
class Signals {
  readonly list: AbortSignal[] = [];
  take(i: number, s: AbortSignal): void {
    if (i % 4999 === 0) this.list.push(s);
  }
}

/** One scope of kind `i % 12`; every path settles before it returns. */
async function churn(i: number, sig: Signals): Promise<void> {
  switch (i % 12) {
    case 0: {
      const t = spawn((signal) => {
        sig.take(i, signal);
        return i;
      });
      assert.equal(await t, i);
      return;
    }
    case 1: {
      const v = await group((g) => {
        sig.take(i, g.signal);
        const a = g.spawn(() => 1);
        const b = g.spawn(async () => 2);
        return Promise.all([a, b]);
      });
      assert.deepEqual(v, [1, 2]);
      return;
    }
    case 2: {
      assert.equal(await timeout(60_000, (signal) => (sig.take(i, signal), 3)), 3);
      return;
    }
    case 3: {
      // A timeout that fires (a zero budget cancels at once).
      const code = await timeout(0, () => checkpoint()).catch((e: { code: string }) => e.code);
      assert.equal(code, 'LOOPWISE_TIMEOUT');
      return;
    }
    case 4: {
      assert.equal(await moveOnAfter(60_000, () => 4), 4);
      return;
    }
    case 5: {
      assert.equal(await moveOnAfter(0, () => sleep(1000)), undefined);
      return;
    }
    case 6: {
      const r = await scope(async (s) => {
        sig.take(i, s.signal);
        s.cancel();
        await sleep(1000);
      });
      assert.equal(r, undefined);
      return;
    }
    case 7: {
      assert.equal(await shield(() => (sig.take(i, currentSignal()), 7)), 7);
      return;
    }
    case 8: {
      const t = spawn(() => sleep(60_000));
      sig.take(i, t.signal);
      t.cancel();
      await t.catch(() => {});
      assert.equal(t.state, 'cancelled');
      return;
    }
    case 9: {
      const r = await group((g) => {
        g.spawn(() => sleep(60_000));
        g.spawn(async () => {
          throw failure;
        });
      }).catch((e: unknown) => e);
      assert.equal(r, failure);
      return;
    }
    case 10: {
      const v = await cancellable((signal) => {
        sig.take(i, signal);
        return Promise.resolve(10);
      });
      assert.equal(v, 10);
      return;
    }
    default: {
      // Cleanup in a shield under a cancelled task, a late value disposed.
      const t = spawn(async () => {
        try {
          await cancellable(new Promise<number>((r) => queueMicrotask(() => r(11))), { dispose: () => {} });
        } finally {
          await shield(() => 'cleaned');
        }
      });
      t.cancel();
      await t.catch(() => {});
      return;
    }
  }
}

async function batch(sig: Signals): Promise<void> {
  for (let i = 0; i < N; i++) await churn(i, sig);
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  assert.ok(g, 'tests run with --expose-gc');
  for (let i = 0; i < 3; i++) g();
}

function assertSignalsClean(sig: Signals): void {
  assert.ok(sig.list.length > 5, 'signals were sampled');
  for (const s of sig.list) assert.equal(getEventListeners(s, 'abort').length, 0, 'no abort listener left on a signal');
}

test('100 000 scopes of every kind at the root: nothing is left behind and the heap stays flat', async () => {
  const before = activeResources();
  const sig = new Signals();
  await batch(sig);
  // Settle what the last batch queued.
  await new Promise((r) => setImmediate(r));
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  await batch(sig);
  await new Promise((r) => setImmediate(r));
  gc();
  const heap2 = process.memoryUsage().heapUsed;
  assert.deepEqual(allTasks(), []);
  assert.deepEqual(taskTree().children, []);
  assertNoTasks();
  assertNoNewTimers(before);
  assertSignalsClean(sig);
  const growthMb = (heap2 - heap1) / 2 ** 20;
  assert.ok(growthMb < 5, `heap grew ${growthMb.toFixed(2)} MB over a second batch of ${N}`);
});

test('100 000 scopes of every kind under one task, on a TestClock: its subtree is empty and no virtual timer is pending', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  const before = activeResources();
  const sig = new Signals();
  const owner = spawn(
    async (signal) => {
      sig.list.push(signal);
      await batch(sig);
      const me = taskTree(currentTask());
      return { children: me.children.length, awaiting: me.awaiting.length };
    },
    { name: 'owner' },
  );
  assert.deepEqual(await owner, { children: 0, awaiting: 0 });
  await new Promise((r) => setImmediate(r));
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
  assertNoNewTimers(before);
  assertSignalsClean(sig);
});

test('a long-lived task awaiting in a loop does not grow its signal’s listener list', async () => {
  const owner = spawn(async (signal) => {
    signal.addEventListener('abort', () => {}); // the user's own listener
    for (let i = 0; i < 1000; i++) {
      await checkpoint();
      await cancellable((s) => Promise.resolve(s));
      await timeout(1000, () => 1);
    }
    return getEventListeners(signal, 'abort').length;
  });
  assert.equal(await owner, 1, 'only the listener the user added');
  assertNoTasks();
});
