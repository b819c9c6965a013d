/**
 * scope() and shield(): explicit cancel scopes, level-triggered
 * cancellation, and async cleanup under cancellation.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import { cancellable, checkpoint, currentSignal, group, scope, shield, sleep, spawn, taskTree, timeout, type CancelScope, type Task } from 'loopwise';
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

test('scope resolves the body’s value when nothing cancels it', async () => {
  assert.equal(await scope(() => 'v'), 'v');
  assert.equal(
    await scope(async (s) => {
      await checkpoint();
      return s.cancelled;
    }),
    false,
  );
  assertNoTasks();
});

test('s.cancel(): the scope resolves undefined; s.cancelled and s.signal reflect it, with the reason', async () => {
  let handle: CancelScope | undefined;
  const r = await scope(async (s) => {
    handle = s;
    assert.equal(s.signal.aborted, false);
    s.cancel('enough');
    assert.equal(s.cancelled, true);
    assert.equal(s.signal.aborted, true);
    await checkpoint();
    return 'not reached';
  });
  assert.equal(r, undefined);
  const reason = handle!.signal.reason as { name: string; code: string; reason: unknown; message: string };
  assert.equal(reason.name, 'CancelledError');
  assert.equal(reason.code, 'LOOPWISE_CANCELLED');
  assert.equal(reason.reason, 'enough');
  assert.match(reason.message, /enough/);
  assertNoTasks();
});

test('s.cancel() is idempotent: the first reason stays', async () => {
  let handle: CancelScope | undefined;
  await scope(async (s) => {
    handle = s;
    s.cancel('one');
    s.cancel('two');
    await checkpoint();
  });
  assert.equal((handle!.signal.reason as { reason: unknown }).reason, 'one');
  handle!.cancel('after the end'); // a no-op on a finished scope
  assert.equal((handle!.signal.reason as { reason: unknown }).reason, 'one');
});

test('cancellation is level-triggered: every checkpoint after the cancel throws at once, the same error, until control leaves', async () => {
  const errors: unknown[] = [];
  let syncWorkAfterCancel = false;
  const r = await scope(async (s) => {
    s.cancel();
    syncWorkAfterCancel = true; // plain code runs on: only checkpoints throw
    for (const cp of [() => checkpoint(), () => sleep(10), () => sleep(0), () => cancellable(Promise.resolve(1))]) {
      try {
        await cp();
      } catch (e) {
        errors.push(e);
      }
    }
    await checkpoint();
  });
  assert.equal(r, undefined);
  assert.equal(syncWorkAfterCancel, true);
  assert.equal(errors.length, 4);
  assert.equal(codeOf(errors[0]), 'LOOPWISE_CANCELLED');
  for (const e of errors) assert.equal(e, errors[0]);
  // Control has left the scope: checkpoints work again.
  await checkpoint();
  assertNoTasks();
});

test('a waiting checkpoint rejects in the same tick as the cancel (before any macrotask)', async (t) => {
  install(t);
  const r = await scope(async (s) => {
    const waiting = sleep(1000).then(
      () => 'fulfilled',
      (e: unknown) => `rejected:${codeOf(e)}`,
    );
    const macrotask = new Promise((res) => setImmediate(() => res('a macrotask ran first')));
    s.cancel();
    return Promise.race([waiting, macrotask]);
  });
  assert.equal(r, 'rejected:LOOPWISE_CANCELLED', 'the body never hit a checkpoint itself, so it keeps its value');
  assertNoTasks();
});

test('several waiters in one scope all reject when it is cancelled', async (t) => {
  install(t);
  let handle: CancelScope | undefined;
  const p = scope(async (s) => {
    handle = s;
    const results = await Promise.allSettled([sleep(10), sleep(20), checkpoint(), cancellable(new Promise(() => {}))]);
    return results.map((x) => (x.status === 'rejected' ? codeOf(x.reason) : 'fulfilled'));
  });
  handle!.cancel();
  assert.deepEqual(await p, ['LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED', 'LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('an inner scope inside a cancelled outer scope does not absorb the outer cancellation; the outer does', async () => {
  const log: string[] = [];
  const r = await scope(async (outer) => {
    outer.cancel();
    try {
      await scope(async (inner) => {
        log.push(`inner.cancelled=${inner.cancelled}`);
        await checkpoint();
      });
      log.push('inner resolved');
    } catch (e) {
      log.push(`inner rejected:${codeOf(e)}`);
      throw e;
    }
  });
  assert.equal(r, undefined);
  assert.deepEqual(log, ['inner.cancelled=true', 'inner rejected:LOOPWISE_CANCELLED']);
});

test('cancelling an inner scope does not touch the outer one', async () => {
  const log: string[] = [];
  const r = await scope(async (outer) => {
    const inner = await scope(async (s) => {
      s.cancel();
      await checkpoint();
    });
    log.push(`inner gave ${String(inner)}, outer.cancelled=${outer.cancelled}`);
    await checkpoint();
    return 'outer value';
  });
  assert.equal(r, 'outer value');
  assert.deepEqual(log, ['inner gave undefined, outer.cancelled=false']);
});

test('scope cancels the tasks spawned inside it, and currentSignal() there is the scope’s signal', async (t) => {
  install(t);
  let task: Task<void> | undefined;
  let sig: AbortSignal | undefined;
  await scope(async (s) => {
    sig = currentSignal();
    assert.equal(sig, s.signal);
    task = spawn(() => sleep(1000));
    await checkpoint();
    s.cancel();
    await checkpoint();
  });
  await task!.catch(() => {});
  assert.equal(task!.state, 'cancelled');
  assert.equal(sig!.aborted, true);
  assert.equal(getEventListeners(sig!, 'abort').length, 0);
  assertNoTasks();
});

test('a scope whose body rejects with its own error propagates that error even if cancelled', async () => {
  await assert.rejects(
    scope(async (s) => {
      s.cancel();
      throw new Error('own');
    }),
    { message: 'own' },
  );
});

test('shield: outer cancellation does not reach checkpoints inside; its signal does not abort', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  let outer: CancelScope | undefined;
  let shieldSignal: AbortSignal | undefined;
  const p = scope(async (s) => {
    outer = s;
    const v = await shield(async () => {
      shieldSignal = currentSignal();
      await sleep(20);
      await checkpoint();
      log.push(`inside: outer.cancelled=${s.cancelled}, shield signal aborted=${shieldSignal.aborted}`);
      return 'shielded value';
    });
    log.push(`shield returned ${v}`);
    await checkpoint();
    log.push('not reached');
  });
  await clock.advance(5);
  outer!.cancel();
  await clock.advance(15);
  assert.equal(await p, undefined);
  assert.deepEqual(log, ['inside: outer.cancelled=true, shield signal aborted=false', 'shield returned shielded value']);
  assertNoTasks();
});

test('shield entered inside an already cancelled scope still runs its checkpoints', async (t) => {
  const clock = install(t);
  const p = scope(async (s) => {
    s.cancel();
    return shield(async () => {
      await sleep(10);
      return 'done despite cancellation';
    });
  });
  await clock.advance(10);
  assert.equal(await p, 'done despite cancellation');
});

test('shield does not stop cancellation started inside it', async (t) => {
  const clock = install(t);
  const p = scope(() =>
    shield(async () => {
      const inner = await scope(async (s) => {
        s.cancel();
        await sleep(10);
      });
      const timed = await timeout(5, () => sleep(10)).catch((e: { code: string }) => e.code);
      return [inner, timed];
    }),
  );
  await clock.advance(5);
  assert.deepEqual(await p, [undefined, 'LOOPWISE_TIMEOUT']);
});

test('shield propagates its body’s errors and values unchanged', async () => {
  assert.equal(await shield(() => 3), 3);
  await assert.rejects(
    shield(async () => {
      throw new Error('from shield');
    }),
    { message: 'from shield' },
  );
});

test('a task spawned inside a shield is out of reach of the outer cancellation while the shield lasts', async (t) => {
  const clock = install(t);
  let inner: Task<string> | undefined;
  const outer = spawn(async () => {
    await shield(async () => {
      inner = spawn(async () => {
        await sleep(50);
        return 'survived';
      });
      await sleep(50);
    });
    await sleep(1000);
  });
  await clock.advance(1);
  outer.cancel();
  await clock.advance(48);
  assert.equal(inner!.state, 'running');
  assert.equal(inner!.signal.aborted, false);
  await clock.advance(1);
  assert.equal(await inner!, 'survived');
  await outer.catch(() => {});
  assert.equal(outer.state, 'cancelled');
  assertNoTasks();
});

test('once the shield has ended, its detached task hangs under the outer task, whose cancellation then reaches it', async (t) => {
  const clock = install(t);
  let inner: Task<string> | undefined;
  const outer = spawn(async () => {
    await shield(async () => {
      inner = spawn(async () => {
        await sleep(50);
        return 'survived';
      });
      await sleep(1);
    });
    await sleep(1000);
  });
  await clock.advance(1);
  outer.cancel();
  await outer.catch(() => {});
  await inner!.catch(() => {});
  assert.equal(outer.state, 'cancelled');
  assert.equal(inner!.state, 'cancelled');
  assertNoTasks();
});

test('a detached task moved up (its shield ended) under an already cancelled task is cancelled: level-triggered', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  let inner: Task<void> | undefined;
  const outer = spawn(async () => {
    await shield(async () => {
      inner = spawn(async () => {
        try {
          await sleep(100);
          log.push('inner finished its sleep');
        } catch (e) {
          log.push(`inner:${codeOf(e)}`);
          throw e;
        }
      });
      await sleep(10);
    });
    await sleep(1000);
  });
  try {
    await clock.advance(1);
    outer.cancel(); // the shield protects inner for now
    await clock.advance(9); // the shield ends: inner now sits under the cancelled outer task
    await outer.catch(() => {});
    assert.equal(inner!.signal.aborted, true, 'an ancestor is cancelled with no shield between');
    await clock.advance(90);
    await inner!.catch(() => {});
    assert.deepEqual(log, ['inner:LOOPWISE_CANCELLED']);
    assert.equal(inner!.state, 'cancelled');
  } finally {
    // Leave nothing behind for the next test, whatever happened above.
    inner?.cancel();
    await Promise.allSettled([outer, inner]);
  }
  assertNoTasks();
});

test('cleanup under cancellation: a finally that awaits without shield throws CancelledError at once', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(async () => {
    try {
      await sleep(1000);
    } finally {
      try {
        await sleep(10); // no shield: this is a checkpoint of a cancelled scope
        log.push('cleanup done');
      } catch (e) {
        log.push(`cleanup interrupted:${codeOf(e)}`);
      }
    }
  });
  await clock.advance(1);
  task.cancel();
  await task.catch(() => {});
  assert.deepEqual(log, ['cleanup interrupted:LOOPWISE_CANCELLED']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('cleanup under cancellation: with shield the async cleanup completes, then the task ends cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(async () => {
    try {
      await sleep(1000);
    } finally {
      await shield(async () => {
        await sleep(10);
        log.push('cleanup done');
      });
    }
  });
  await clock.advance(1);
  task.cancel();
  await clock.advance(9);
  assert.equal(task.state, 'running', 'still cleaning up');
  await clock.advance(1);
  await task.catch((e: unknown) => log.push(`task:${codeOf(e)}`));
  assert.deepEqual(log, ['cleanup done', 'task:LOOPWISE_CANCELLED']);
  assert.equal(task.state, 'cancelled');
  assertNoTasks();
});

test('shielded cleanup can be bounded with a timeout inside the shield', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const task = spawn(async () => {
    try {
      await sleep(1000);
    } finally {
      await shield(() => timeout(50, () => sleep(10_000))).catch((e: { code: string }) => log.push(`cleanup:${e.code}`));
    }
  });
  await clock.advance(1);
  task.cancel();
  await clock.advance(50);
  await task.catch(() => {});
  assert.deepEqual(log, ['cleanup:LOOPWISE_TIMEOUT']);
  assert.equal(task.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('a group inside a shield in a cancelled task runs to completion', async (t) => {
  const clock = install(t);
  const task = spawn(async () => {
    try {
      await sleep(1000);
    } finally {
      // eslint-disable-next-line no-unsafe-finally
      return shield(() =>
        group(async (g) => {
          const a = g.spawn(async () => {
            await sleep(5);
            return 'a';
          });
          return `group:${await a}`;
        }),
      );
    }
  });
  await clock.advance(1);
  task.cancel();
  await clock.advance(5);
  assert.equal(await task, 'group:a');
  assertNoTasks();
});

test('taskTree marks a cancelled scope as cancelling while its body still runs', async () => {
  await scope(async (s) => {
    s.cancel();
    const node = taskTree().children.find((c) => c.kind === 'scope');
    assert.ok(node);
    assert.equal(node.cancelled, true);
    assert.equal(node.state, 'cancelling');
  });
  assertNoTasks();
});

test('scope absorbs Node’s AbortError caused by its own CancelledError', async () => {
  const r = await scope(async (s) => {
    const pending = nodeSleep(60_000, 'never', { signal: s.signal });
    s.cancel();
    return pending;
  });
  assert.equal(r, undefined);
  assertNoTasks();
});

test('scope does not absorb an AbortError caused by something else', async () => {
  const ac = new AbortController();
  const p = scope(async (s) => {
    s.cancel();
    const pending = nodeSleep(60_000, 'never', { signal: ac.signal });
    ac.abort(new Error('foreign abort'));
    return pending;
  });
  await assert.rejects(p, { name: 'AbortError' });
  assertNoTasks();
});
