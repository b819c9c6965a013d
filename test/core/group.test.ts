/**
 * group(): structured concurrency. Settles after the body and every child;
 * the first failure cancels the rest; errors raised while cancelling are
 * reported, not lost; closed groups refuse new children.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import { checkpoint, currentTask, group, scope, shield, sleep, spawn, taskTree, timeout, type CancelScope, type Group, type Task } from 'loopwise';
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

test('group resolves the body’s value; children’s values come from awaiting them', async (t) => {
  const clock = install(t);
  const p = group(async (g) => {
    const a = g.spawn(async () => {
      await sleep(20);
      return 'a';
    });
    const b = g.spawn(() => 'b');
    return [await a, await b];
  });
  await clock.advance(20);
  assert.deepEqual(await p, ['a', 'b']);
  assertNoTasks();
});

test('a synchronous body and an empty group work', async () => {
  assert.equal(await group(() => 7), 7);
  assert.equal(await group(async () => undefined), undefined);
  assertNoTasks();
});

test('children may spawn more children into the group; the group waits for all of them', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  let handle: Group | undefined;
  const p = group((g) => {
    handle = g;
    g.spawn(async () => {
      await sleep(10);
      g.spawn(async () => {
        await sleep(10);
        log.push('grandchild');
      });
      log.push('child');
    });
    return 'body returned at once';
  }).then((v) => log.push(v));
  await clock.advance(10);
  assert.deepEqual(log, ['child']);
  await clock.advance(10);
  await p;
  assert.deepEqual(log, ['child', 'grandchild', 'body returned at once']);
  assert.throws(() => handle!.spawn(() => 1), { name: 'GroupClosedError', code: 'LOOPWISE_GROUP_CLOSED', message: /already finished/ });
  assertNoTasks();
});

test('a child failing after the body returned still cancels its siblings and rejects the group', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = group((g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
      } catch (e) {
        log.push(`sibling:${codeOf(e)}`);
        throw e;
      }
    });
    g.spawn(async () => {
      await sleep(10);
      throw new Error('late child failure');
    });
    return 'value';
  }).catch((e: Error) => `rejected:${e.message}`);
  await clock.advance(10);
  assert.equal(await p, 'rejected:late child failure');
  assert.deepEqual(log, ['sibling:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('g.signal aborts when the group is cancelled by a failure; its reason is a CancelledError whose reason is that failure', async (t) => {
  const clock = install(t);
  const boom = new Error('boom');
  let signal: AbortSignal | undefined;
  const seen: unknown[] = [];
  const p = group(async (g) => {
    signal = g.signal;
    assert.equal(signal.aborted, false);
    signal.addEventListener('abort', () => seen.push(signal!.reason), { once: true });
    g.spawn(async () => {
      await sleep(5);
      throw boom;
    });
    await sleep(100);
  }).catch((e: unknown) => e);
  await clock.advance(5);
  assert.equal(await p, boom);
  assert.equal(signal!.aborted, true);
  const reason = signal!.reason as { name: string; code: string; reason: unknown };
  assert.equal(reason.name, 'CancelledError');
  assert.equal(reason.code, 'LOOPWISE_CANCELLED');
  assert.equal(reason.reason, boom);
  assert.deepEqual(seen, [reason]);
  assert.equal(getEventListeners(signal!, 'abort').length, 0);
  assertNoTasks();
});

test('the body awaiting a child that fails: the group rejects with the child’s error alone, not an aggregate', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = group(async (g) => {
    const child = g.spawn(async () => {
      await sleep(5);
      throw new Error('child error');
    });
    await child;
    log.push('not reached');
  }).catch((e: unknown) => e);
  await clock.advance(5);
  const e = (await p) as Error;
  assert.equal(e.name, 'Error');
  assert.equal(e.message, 'child error');
  assert.deepEqual(log, []);
  assertNoTasks();
});

test('a body that catches the group’s cancellation and returns a value does not hide the failure', async (t) => {
  const clock = install(t);
  const p = group(async (g) => {
    g.spawn(async () => {
      await sleep(5);
      throw new Error('child error');
    });
    try {
      await sleep(100);
    } catch {
      return 'swallowed';
    }
    return 'normal';
  }).then(
    (v) => `resolved:${v}`,
    (e: Error) => `rejected:${e.message}`,
  );
  await clock.advance(5);
  assert.equal(await p, 'rejected:child error');
  assertNoTasks();
});

test('errors thrown while cancelling are reported: a child whose finally throws joins the AggregateError', async (t) => {
  const clock = install(t);
  const first = new Error('first');
  const cleanup = new Error('cleanup failed');
  const p = group(async (g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw cleanup;
      }
    });
    g.spawn(async () => {
      await sleep(10);
      throw first;
    });
    await sleep(100);
  }).catch((e: unknown) => e);
  await clock.advance(10);
  const err = (await p) as AggregateError;
  assert.ok(err instanceof AggregateError, `got ${String(err)}`);
  assert.deepEqual(err.errors, [first, cleanup]);
  assert.match(err.message, /2/);
  assertNoTasks();
});

test('the body failing first, then a child’s cleanup failing: both, in that order', async (t) => {
  const clock = install(t);
  const bodyErr = new Error('body');
  const childErr = new Error('child cleanup');
  const p = group(async (g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
      } finally {
        await shield(() => sleep(3));
        // eslint-disable-next-line no-unsafe-finally
        throw childErr;
      }
    });
    await sleep(1);
    throw bodyErr;
  }).catch((e: unknown) => e);
  await clock.advance(4);
  assert.deepEqual((await p as AggregateError).errors, [bodyErr, childErr]);
  assertNoTasks();
});

test('outer cancellation: a child whose finally throws makes the group reject with that error, which the outer scope does not absorb', async (t) => {
  const clock = install(t);
  const cleanup = new Error('cleanup failed during outer cancellation');
  let handle: CancelScope | undefined;
  const p = scope(async (s) => {
    handle = s;
    await group(async (g) => {
      g.spawn(async () => {
        try {
          await sleep(100);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw cleanup;
        }
      });
      g.spawn(() => sleep(100));
      await sleep(100);
    });
  }).then(
    (v) => ({ resolved: v }),
    (e: unknown) => ({ rejected: e }),
  );
  await clock.advance(1);
  handle!.cancel();
  assert.deepEqual(await p, { rejected: cleanup });
  assertNoTasks();
});

test('a group inside a cancelled task: children are cancelled, the group rejects CancelledError, the task ends cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(() =>
    group(async (g) => {
      g.spawn(async () => {
        try {
          await sleep(100);
        } catch (e) {
          log.push(`child:${codeOf(e)}`);
          throw e;
        }
      });
      try {
        await sleep(100);
      } catch (e) {
        log.push(`body:${codeOf(e)}`);
        throw e;
      }
    }),
  );
  await clock.advance(1);
  task.cancel('bye');
  const e = (await task.catch((x: unknown) => x)) as { name: string; reason: unknown };
  assert.equal(e.name, 'CancelledError');
  assert.equal(e.reason, 'bye');
  assert.equal(task.state, 'cancelled');
  assert.deepEqual(log.sort(), ['body:LOOPWISE_CANCELLED', 'child:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('outer cancellation: the group still waits for its children’s shielded cleanup before it rejects', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(() =>
    group((g) => {
      g.spawn(async () => {
        try {
          await sleep(100);
        } finally {
          await shield(() => sleep(30));
          log.push('cleanup done');
        }
      });
    }),
  );
  const joined = task.catch((e: unknown) => log.push(`task:${codeOf(e)}`));
  await clock.advance(1);
  task.cancel();
  await clock.advance(29);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await joined;
  assert.deepEqual(log, ['cleanup done', 'task:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('nested groups: an inner child’s failure fails the inner group, then the outer one, cancelling outer siblings', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const boom = new Error('deep');
  const p = group(async (outer) => {
    outer.spawn(async () => {
      try {
        await sleep(100);
      } catch (e) {
        log.push(`outer sibling:${codeOf(e)}`);
        throw e;
      }
    });
    await group(async (inner) => {
      inner.spawn(async () => {
        await sleep(10);
        throw boom;
      });
      await sleep(100);
    });
  }).catch((e: unknown) => e);
  await clock.advance(10);
  assert.equal(await p, boom);
  assert.deepEqual(log, ['outer sibling:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('a self-cancelled child whose cleanup throws is a failure (the error is not lost)', async (t) => {
  install(t);
  const p = group(async (g) => {
    const c = g.spawn(async () => {
      try {
        await sleep(100);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw new Error('cleanup of a cancelled child');
      }
    });
    await checkpoint();
    c.cancel();
  }).catch((e: Error) => e.message);
  assert.equal(await p, 'cleanup of a cancelled child');
  assertNoTasks();
});

test('a child rejecting with a CancelledError from elsewhere (a task it awaited) is a failure of the group', async (t) => {
  install(t);
  const other = spawn(() => sleep(1000), { name: 'other' });
  const p = group(async (g) => {
    const c = g.spawn(async () => {
      await other;
    });
    await checkpoint();
    other.cancel('other went away');
    await shield(() => c.catch(() => {}));
    return c.state;
  }).then(
    (v) => `resolved:${v}`,
    (e: { code: string; reason: unknown }) => `rejected:${e.code}:${String(e.reason)}`,
  );
  const r = await scope(() => p);
  assert.equal(r, 'rejected:LOOPWISE_CANCELLED:other went away', 'the failure is not absorbed by a scope that was never cancelled');
  assertNoTasks();
});

test('a child spawned from a sibling’s cleanup while the group is cancelling starts cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  let late: Task<void> | undefined;
  const p = group((g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
      } finally {
        late = g.spawn(async (signal) => {
          log.push(`late aborted at start:${signal.aborted}`);
          await sleep(1);
          log.push('late slept');
        });
      }
    });
    g.spawn(async () => {
      await sleep(5);
      throw new Error('trigger');
    });
  }).catch((e: Error) => e.message);
  await clock.advance(5);
  assert.equal(await p, 'trigger');
  assert.equal(late!.state, 'cancelled');
  assert.deepEqual(log, ['late aborted at start:true']);
  assertNoTasks();
});

test('a plain spawn inside a group body is not joined; it moves up when the group ends', async (t) => {
  const clock = install(t);
  let detached: Task<string> | undefined;
  const v = await group(() => {
    detached = spawn(
      async () => {
        await sleep(50);
        return 'detached done';
      },
      { name: 'detached' },
    );
    return 'group done';
  });
  assert.equal(v, 'group done');
  assert.equal(detached!.state, 'running');
  assert.deepEqual(
    taskTree().children.map((c) => c.name),
    ['detached'],
    'moved up to the root',
  );
  await clock.advance(50);
  assert.equal(await detached!, 'detached done');
  assertNoTasks();
});

test('a plain spawn inside a group is cancelled if the group fails while it runs', async (t) => {
  const clock = install(t);
  let detached: Task<void> | undefined;
  const p = group(async (g) => {
    detached = spawn(() => sleep(1000));
    g.spawn(async () => {
      await sleep(5);
      throw new Error('x');
    });
    await sleep(1000);
  }).catch(() => 'failed');
  await clock.advance(5);
  assert.equal(await p, 'failed');
  await detached!.catch(() => {});
  assert.equal(detached!.state, 'cancelled');
  assertNoTasks();
});

test('group children show in taskTree under the group node, inside the spawning task', async (t) => {
  const clock = install(t);
  const outer = spawn(
    () =>
      group(async (g) => {
        g.spawn(() => sleep(10), { name: 'kid-a' });
        g.spawn(() => sleep(10), { name: 'kid-b' });
        const me = taskTree(currentTask());
        assert.equal(me.name, 'parent');
        assert.equal(me.children.length, 1);
        assert.equal(me.children[0]!.kind, 'group');
        assert.deepEqual(
          me.children[0]!.children.map((c) => c.name),
          ['kid-a', 'kid-b'],
        );
      }),
    { name: 'parent' },
  );
  await clock.advance(10);
  await outer;
  assertNoTasks();
});

test('group exit is a checkpoint: a body that returns after the enclosing deadline fired does not hide the timeout', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(50, () =>
    group((g) => {
      g.spawn(async () => {
        try {
          await sleep(100);
        } catch (e) {
          log.push(`child:${codeOf(e)}`);
          throw e;
        }
      });
      return 'v';
    }),
  ).then(
    (v) => `resolved:${v}`,
    (e: { name: string; ms: number }) => `${e.name}:${e.ms}`,
  );
  await clock.advance(50);
  assert.equal(await p, 'TimeoutError:50');
  assert.deepEqual(log, ['child:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('group exit is a checkpoint even when every child has finished: in a cancelled scope it throws the enclosing CancelledError', async () => {
  const log: string[] = [];
  const r = await scope(async (s) => {
    s.cancel('outer');
    try {
      await group((g) => {
        g.spawn(() => 'done at once');
        return 'v';
      });
      log.push('group resolved');
    } catch (e) {
      log.push(`group:${codeOf(e)}:${String((e as { reason: unknown }).reason)}`);
      throw e;
    }
  });
  assert.equal(r, undefined);
  assert.deepEqual(log, ['group:LOOPWISE_CANCELLED:outer']);
  assertNoTasks();
});

test('a group cancelled from outside whose body ends with Node’s AbortError (caused by the CancelledError) rejects with the CancelledError', async (t) => {
  install(t);
  let seenInBody: unknown;
  const task = spawn(() =>
    group(async (g) => {
      try {
        await nodeSleep(60_000, undefined, { signal: g.signal });
      } catch (e) {
        seenInBody = e;
        throw e;
      }
    }),
  );
  await new Promise((r) => setImmediate(r));
  task.cancel('stop');
  const e = (await task.catch((x: unknown) => x)) as { name: string; code: string; reason: unknown };
  assert.equal((seenInBody as Error).name, 'AbortError', 'the body itself sees Node’s AbortError');
  assert.equal(e.name, 'CancelledError');
  assert.equal(e.reason, 'stop');
  assert.equal(task.state, 'cancelled');
  assertNoTasks();
});
