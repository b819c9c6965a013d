/**
 * Tasks: spawn, the Task handle (id, name, state, signal, then/catch/finally,
 * cancel), awaiting a task as a checkpoint, and where a detached task sits in
 * the cancel tree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import {
  allTasks,
  cancellable,
  checkpoint,
  currentSignal,
  currentTask,
  scope,
  shield,
  sleep,
  spawn,
  taskTree,
  timeout,
  type Task,
  type TaskTreeNode,
} from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { assertNoTasks } from '../helpers/leaks.js';

function codeOf(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function install(t: { after(fn: () => void): void }): TestClock {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  return clock;
}

function names(n: TaskTreeNode): string[] {
  return n.children.map((c) => c.name);
}

test('spawn returns a running Task with a unique id and a default name Task-<id>; awaiting it gives its value', async () => {
  const a = spawn(async () => {
    await checkpoint();
    return 'a';
  });
  const b = spawn(() => 'b');
  assert.equal(a.state, 'running');
  assert.equal(typeof a.id, 'number');
  assert.notEqual(a.id, b.id);
  assert.equal(b.id, a.id + 1);
  assert.equal(a.name, `Task-${a.id}`);
  assert.equal(Object.prototype.toString.call(a), '[object Task]');
  assert.equal(await a, 'a');
  assert.equal(await b, 'b');
  assert.equal(a.state, 'fulfilled');
  assert.equal(b.state, 'fulfilled');
  assertNoTasks();
});

test('a custom name is kept', async () => {
  const t = spawn(() => 1, { name: 'loader' });
  assert.equal(t.name, 'loader');
  await t;
  assertNoTasks();
});

test('then/catch/finally behave as on a promise', async () => {
  const ok = spawn(async () => 2);
  const bad = spawn(async () => {
    throw new Error('bad');
  });
  const caught = bad.catch((e: Error) => e.message); // observed at once (else: unhandledRejection)
  const log: string[] = [];
  assert.equal(await ok.then((v) => v * 10), 20);
  assert.equal(await caught, 'bad');
  assert.equal(await bad.then(undefined, (e: Error) => `then2:${e.message}`), 'then2:bad');
  assert.equal(
    await ok.finally(() => log.push('finally ok')),
    2,
  );
  await assert.rejects(
    bad.finally(() => log.push('finally bad')),
    { message: 'bad' },
  );
  assert.deepEqual(log, ['finally ok', 'finally bad']);
  assert.equal(bad.state, 'rejected');
  assertNoTasks();
});

test('a task whose function throws synchronously is rejected (spawn does not throw)', async () => {
  const t = spawn(() => {
    throw new RangeError('sync');
  });
  assert.equal(t.state, 'running', 'settles asynchronously, like a promise');
  await assert.rejects(t, { name: 'RangeError', message: 'sync' });
  assert.equal(t.state, 'rejected');
  assertNoTasks();
});

test('the task function receives the signal only if it declares a parameter', async () => {
  const withParam = spawn((signal: AbortSignal) => signal);
  const without = spawn((...args: unknown[]) => args.length);
  assert.equal(await without, 0);
  const s = await withParam;
  assert.ok(s instanceof AbortSignal);
  assert.equal(s, withParam.signal);
  assertNoTasks();
});

test('inside a task, currentTask() is the task and currentSignal() is its signal', async () => {
  const t: Task<[unknown, boolean]> = spawn(async () => {
    await checkpoint();
    return [currentTask(), currentSignal() === t.signal];
  });
  const [inside, sameSignal] = await t;
  assert.equal(inside, t);
  assert.equal(sameSignal, true);
  assert.equal(currentTask(), undefined, 'no current task at the root');
  assert.equal(currentSignal().aborted, false);
  assertNoTasks();
});

test('cancel(): the task ends cancelled, rejects CancelledError carrying the reason; its signal aborts with that error', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(async (signal) => {
    signal.addEventListener('abort', () => log.push('abort event'), { once: true });
    try {
      await sleep(1000);
    } finally {
      log.push('finally');
    }
  });
  await clock.advance(10);
  task.cancel('shutting down');
  assert.equal(task.signal.aborted, true, 'the signal aborts synchronously');
  const reason = task.signal.reason as Error & { code: string; reason: unknown };
  assert.equal(reason.name, 'CancelledError');
  assert.equal(reason.code, 'LOOPWISE_CANCELLED');
  assert.equal(reason.reason, 'shutting down');
  const err = await task.then(
    () => null,
    (e: unknown) => e,
  );
  assert.equal(err, reason, 'the task rejects with the same CancelledError its signal carries');
  assert.match((err as Error).message, /shutting down/);
  assert.equal(task.state, 'cancelled');
  assert.deepEqual(log, ['abort event', 'finally']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('cancel() is idempotent: a second call changes nothing; after the task settled it is a no-op', async (t) => {
  install(t);
  const task = spawn(() => sleep(1000));
  task.cancel('first');
  task.cancel('second');
  const e = (await task.catch((x: unknown) => x)) as { reason: unknown };
  assert.equal(e.reason, 'first');
  assert.equal(task.state, 'cancelled');
  const done = spawn(() => 'value');
  await done;
  done.cancel('too late');
  assert.equal(done.state, 'fulfilled');
  assert.equal(done.signal.aborted, false);
  assert.equal(await done, 'value');
  const failed = spawn(async () => {
    throw new Error('f');
  });
  await failed.catch(() => {});
  failed.cancel();
  assert.equal(failed.state, 'rejected');
  assertNoTasks();
});

test('a task cancelled before its first checkpoint runs until that checkpoint, which throws', async () => {
  const log: string[] = [];
  const task = spawn(async () => {
    log.push('started');
    await Promise.resolve();
    log.push('after foreign await');
    await checkpoint();
    log.push('not reached');
  });
  task.cancel();
  await task.catch((e: unknown) => log.push(`rejected:${codeOf(e)}`));
  assert.deepEqual(log, ['started', 'after foreign await', 'rejected:LOOPWISE_CANCELLED']);
  assert.equal(task.state, 'cancelled');
});

test('cancellation is level-triggered: every later checkpoint in the task throws the same CancelledError', async (t) => {
  const clock = install(t);
  const other = spawn(() => sleep(1000), { name: 'other' });
  const errors: unknown[] = [];
  const task = spawn(async () => {
    const attempts: Array<() => Promise<unknown>> = [
      () => sleep(1000),
      () => sleep(0),
      () => checkpoint(),
      () => cancellable(Promise.resolve(1)),
      () => cancellable(async () => 1),
      () => other.then(),
      () => timeout(1000, () => checkpoint()),
      () => scope(() => checkpoint()),
    ];
    for (const attempt of attempts) {
      try {
        await attempt();
        errors.push('no throw');
      } catch (e) {
        errors.push(e);
      }
    }
    // Async cleanup that must wait goes in a shield.
    return shield(async () => {
      await sleep(5);
      return 'cleaned up';
    });
  });
  task.cancel('stop');
  await clock.advance(5);
  assert.equal(await task, 'cleaned up', 'a body that handles its cancellation may still return a value');
  assert.equal(task.state, 'fulfilled');
  assert.equal(errors.length, 8);
  const first = errors[0] as { code: string; reason: unknown };
  assert.equal(first.code, 'LOOPWISE_CANCELLED');
  assert.equal(first.reason, 'stop');
  errors.forEach((e, i) => assert.equal(e, first, `attempt ${i} throws the task's CancelledError`));
  assert.equal(other.state, 'running', 'awaiting a task never cancels it');
  other.cancel();
  await other.catch(() => {});
  assertNoTasks();
});

test('a cancelled task that throws another error ends rejected with that error', async () => {
  const task = spawn(async () => {
    try {
      await sleep(1000);
    } catch {
      throw new TypeError('converted');
    }
  });
  task.cancel();
  await assert.rejects(task, { name: 'TypeError', message: 'converted' });
  assert.equal(task.state, 'rejected');
  assertNoTasks();
});

test('awaiting a task is a checkpoint: cancelling the awaiter rejects the await in the same tick, the awaited task runs on', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const inner = spawn(
    async () => {
      await sleep(100);
      log.push('inner finished');
      return 'inner value';
    },
    { name: 'inner' },
  );
  const outer = spawn(
    async () => {
      try {
        await inner;
      } catch (e) {
        log.push(`outer await:${codeOf(e)}`);
        throw e;
      }
    },
    { name: 'outer' },
  );
  await clock.advance(10);
  outer.cancel();
  const race = await Promise.race([
    outer.then(
      () => 'outer fulfilled',
      (e: unknown) => `outer rejected:${codeOf(e)}`,
    ),
    new Promise((r) => setImmediate(() => r('a macrotask came first'))),
  ]);
  assert.equal(race, 'outer rejected:LOOPWISE_CANCELLED');
  assert.equal(outer.state, 'cancelled');
  assert.equal(inner.state, 'running');
  await clock.advance(90);
  assert.equal(await inner, 'inner value');
  assert.deepEqual(log, ['outer await:LOOPWISE_CANCELLED', 'inner finished']);
  assertNoTasks();
});

test('a task that rethrows the CancelledError of a task it awaited ends rejected, not cancelled', async (t) => {
  install(t);
  const inner = spawn(() => sleep(1000));
  const outer = spawn(async () => {
    await inner;
  });
  await new Promise((r) => setImmediate(r));
  inner.cancel('inner only');
  const e = (await outer.catch((x: unknown) => x)) as { code: string; reason: unknown };
  assert.equal(e.code, 'LOOPWISE_CANCELLED');
  assert.equal(e.reason, 'inner only');
  assert.equal(inner.state, 'cancelled');
  assert.equal(outer.state, 'rejected', "the outer task's own scope was never cancelled");
  assertNoTasks();
});

test('awaiting a task from an already cancelled scope throws at once without waiting', async (t) => {
  install(t);
  const slow = spawn(() => sleep(1000));
  const r = await scope(async (s) => {
    s.cancel();
    try {
      await slow;
      return 'waited';
    } catch (e) {
      return `threw:${codeOf(e)}`;
    }
  });
  assert.equal(r, 'threw:LOOPWISE_CANCELLED');
  assert.equal(slow.state, 'running');
  slow.cancel();
  await slow.catch(() => {});
  assertNoTasks();
});

test('awaiting an already settled task gives its outcome (fulfilled, rejected, cancelled)', async () => {
  const ok = spawn(() => 1);
  const bad = spawn(async () => {
    throw new Error('e');
  });
  const gone = spawn(() => sleep(1000));
  gone.cancel();
  await Promise.allSettled([ok, bad, gone]);
  const inside = await spawn(async () => {
    const out: unknown[] = [await ok];
    out.push(await bad.catch((e: Error) => e.message));
    out.push(await gone.catch((e: unknown) => codeOf(e)));
    return out;
  });
  assert.deepEqual(inside, [1, 'e', 'LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('spawn makes the task a child of the calling scope: cancelling the parent task cancels it', async (t) => {
  const clock = install(t);
  let child: Task<void> | undefined;
  const parent = spawn(
    async () => {
      child = spawn(() => sleep(1000), { name: 'child' });
      assert.deepEqual(names(taskTree(currentTask())), ['child']);
      await sleep(1000);
    },
    { name: 'parent' },
  );
  await clock.advance(1);
  assert.deepEqual(names(taskTree()), ['parent']);
  parent.cancel();
  await Promise.allSettled([parent, child!]);
  assert.equal(parent.state, 'cancelled');
  assert.equal(child!.state, 'cancelled');
  assertNoTasks();
});

test('nobody waits for a spawned task: the parent finishes first and the task moves up to the nearest live ancestor', async (t) => {
  const clock = install(t);
  let child: Task<void> | undefined;
  const grandparent = spawn(
    async () => {
      await spawn(
        async () => {
          await scope(async () => {
            child = spawn(() => sleep(1000), { name: 'child' });
          });
          // The scope has ended: the child now hangs under the parent task.
          assert.deepEqual(names(taskTree(currentTask())), ['child']);
        },
        { name: 'parent' },
      );
      // The parent has ended: the child hangs under the grandparent.
      assert.deepEqual(names(taskTree(currentTask())), ['child']);
      await sleep(1000);
    },
    { name: 'grandparent' },
  );
  await clock.advance(1);
  assert.equal(child!.state, 'running');
  grandparent.cancel();
  await Promise.allSettled([grandparent, child!]);
  assert.equal(child!.state, 'cancelled', 'cancelling the grandparent still reaches it');
  assertNoTasks();
});

test('a task spawned inside a timeout is cancelled when that timeout fires', async (t) => {
  const clock = install(t);
  let inner: Task<void> | undefined;
  const p = timeout(10, async () => {
    inner = spawn(() => sleep(1000));
    await sleep(1000);
  }).catch((e: { code: string }) => e.code);
  await clock.advance(10);
  assert.equal(await p, 'LOOPWISE_TIMEOUT');
  await inner!.catch(() => {});
  assert.equal(inner!.state, 'cancelled');
  assertNoTasks();
});

test('a task detached at the root outlives its caller and is listed until it ends', async (t) => {
  const clock = install(t);
  const job = spawn(() => sleep(100), { name: 'background' });
  assert.deepEqual(names(taskTree()), ['background']);
  const node = taskTree().children[0]!;
  assert.equal(node.kind, 'task');
  assert.equal(node.id, job.id);
  assert.equal(node.state, 'running');
  assert.deepEqual(node.awaiting, ['sleep(100)']);
  await clock.advance(100);
  await job;
  assertNoTasks();
});

test('a task cancelled while awaiting a Node API given its signal ends cancelled with the CancelledError, not Node’s AbortError', async () => {
  let seen: unknown;
  const task = spawn(async (signal) => {
    try {
      await nodeSleep(60_000, undefined, { signal });
    } catch (e) {
      seen = e;
      throw e;
    }
  });
  await new Promise((r) => setImmediate(r));
  task.cancel('stop');
  const e = (await task.catch((x: unknown) => x)) as { name: string; code: string; reason: unknown };
  const abort = seen as Error & { code: string; cause: unknown };
  assert.equal(abort.name, 'AbortError', 'inside, the code sees Node’s own error');
  assert.equal(abort.code, 'ABORT_ERR');
  assert.equal(abort.cause, e, 'whose cause is the CancelledError');
  assert.equal(e.name, 'CancelledError');
  assert.equal(e.code, 'LOOPWISE_CANCELLED');
  assert.equal(e.reason, 'stop');
  assert.equal(task.state, 'cancelled');
  assertNoTasks();
});

test('an AbortError not caused by the task’s cancellation is a failure', async () => {
  const ac = new AbortController();
  const task = spawn(() => nodeSleep(60_000, undefined, { signal: ac.signal }));
  const seen = task.catch((e: unknown) => e);
  ac.abort(new Error('user abort'));
  const e = (await seen) as Error & { cause: unknown };
  assert.equal(e.name, 'AbortError');
  assert.equal((e.cause as Error).message, 'user abort');
  assert.equal(task.state, 'rejected');
  assertNoTasks();
});

test('a task spawned from a callback that outlived its scope (setImmediate inside an ended scope) joins the nearest live ancestor', async (t) => {
  install(t);
  let late: Task<void> | undefined;
  const parent = spawn(
    async () => {
      await scope(async () => {
        // The callback keeps the scope's async context, but runs after the scope has ended.
        setImmediate(() => {
          late = spawn(() => sleep(1000), { name: 'late' });
        });
      });
      await sleep(1000);
    },
    { name: 'parent' },
  );
  try {
    while (late === undefined) await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      allTasks().map((x) => x.name).sort(),
      ['late', 'parent'],
      'a running task is listed',
    );
    parent.cancel();
    await Promise.allSettled([parent, late]);
    assert.equal(late.state, 'cancelled', 'cancelling the parent reaches it');
  } finally {
    late?.cancel();
    parent.cancel();
    await Promise.allSettled([parent, late]);
  }
  assertNoTasks();
});
