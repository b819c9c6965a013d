/**
 * DESIGN.md "Semantics to hold": each of the 11 numbered rules as at least
 * one named test. Time comes from TestClock, order from a log.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cancellable,
  checkpoint,
  configure,
  deadline,
  group,
  moveOnAfter,
  Queue,
  scope,
  Semaphore,
  shield,
  sleep,
  spawn,
  timeout,
  type CancelScope,
  type Group,
} from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { activeResources, assertNoNewTimers, assertNoTasks } from '../helpers/leaks.js';

const fixture = fileURLToPath(new URL('../../../test/fixtures/core/unhandled.mjs', import.meta.url));

function codeOf(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function install(t: { after(fn: () => void): void }): TestClock {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  return clock;
}

/** A promise that loopwise does not know about, settled by hand. */
function foreign<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('rule 1: group settles only after the body and every child have settled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = group(async (g) => {
    g.spawn(async () => {
      await sleep(30);
      log.push('child-30');
    });
    g.spawn(async () => {
      await sleep(10);
      log.push('child-10');
    });
    await sleep(20);
    log.push('body');
    return 'value';
  }).then((v) => log.push(`group:${v}`));
  await clock.advance(10);
  assert.deepEqual(log, ['child-10']);
  await clock.advance(10);
  assert.deepEqual(log, ['child-10', 'body']);
  await clock.advance(9);
  assert.deepEqual(log, ['child-10', 'body'], 'the group waits for its last child');
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['child-10', 'body', 'child-30', 'group:value']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('rule 1: a failing group still waits for its children to finish their (shielded) cleanup', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = group(async (g) => {
    g.spawn(async () => {
      try {
        await sleep(1000);
      } finally {
        await shield(() => sleep(50));
        log.push('child-cleanup-done');
      }
    });
    await sleep(10);
    throw new Error('body failed');
  }).catch((e: Error) => log.push(`group:${e.message}`));
  await clock.advance(10);
  assert.deepEqual(log, []);
  await clock.advance(49);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['child-cleanup-done', 'group:body failed']);
  assertNoTasks();
});

test('rule 2: the first failure cancels the body and the other children; the group rejects with that error', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const boom = new Error('boom');
  const p = group(async (g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
        log.push('B finished');
      } catch (e) {
        log.push(`B:${codeOf(e)}`);
        throw e;
      }
    });
    g.spawn(async () => {
      await sleep(10);
      log.push('A throws');
      throw boom;
    });
    try {
      await sleep(100);
      log.push('body finished');
    } catch (e) {
      log.push(`body:${codeOf(e)}`);
      throw e;
    }
  }).then(
    () => 'resolved',
    (e: unknown) => e,
  );
  await clock.advance(10);
  assert.equal(await p, boom);
  assert.equal(log[0], 'A throws');
  assert.deepEqual(log.slice(1).sort(), ['B:LOOPWISE_CANCELLED', 'body:LOOPWISE_CANCELLED']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('rule 2: the body failing cancels the children too', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = group(async (g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
      } catch (e) {
        log.push(`child:${codeOf(e)}`);
        throw e;
      }
    });
    await sleep(5);
    throw new TypeError('body broke');
  }).catch((e: Error) => `${e.name}:${e.message}`);
  await clock.advance(5);
  assert.equal(await p, 'TypeError:body broke');
  assert.deepEqual(log, ['child:LOOPWISE_CANCELLED']);
  assertNoTasks();
});

test('rule 2: several failures reject with an AggregateError, in the order they happened', async (t) => {
  const clock = install(t);
  const first = new Error('first');
  const second = new Error('second (during cancellation)');
  const third = new RangeError('third');
  const p = group(async (g) => {
    g.spawn(async () => {
      try {
        await sleep(100);
      } catch {
        // A child that turns the cancellation into its own failure.
        throw second;
      }
    });
    g.spawn(async () => {
      await sleep(10);
      throw first;
    });
    g.spawn(async () => {
      try {
        await sleep(100);
      } finally {
        await shield(() => sleep(5));
        throw third;
      }
    });
    await sleep(1000);
  }).catch((e: unknown) => e);
  await clock.advance(15);
  const err = (await p) as AggregateError;
  assert.equal(err.name, 'AggregateError');
  assert.ok(err instanceof AggregateError);
  assert.deepEqual(err.errors, [first, second, third]);
  assertNoTasks();
});

test('rule 3: a child ended by its own task.cancel() is not a failure of the group', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const v = await (async () => {
    const p = group(async (g) => {
      const victim = g.spawn(() => sleep(1000), { name: 'victim' });
      g.spawn(async () => {
        await sleep(50);
        log.push('sibling finished');
      });
      await sleep(10);
      victim.cancel('not needed');
      await victim.catch((e: { code: string; reason: unknown }) => log.push(`victim:${e.code}:${String(e.reason)}`));
      log.push(`victim state:${victim.state}`);
      return 'group value';
    });
    await clock.advance(50);
    return p;
  })();
  assert.equal(v, 'group value');
  assert.deepEqual(log, ['victim:LOOPWISE_CANCELLED:not needed', 'victim state:cancelled', 'sibling finished']);
  assertNoTasks();
});

test('rule 3: a child that cancels itself through its own handle does not fail the group', async (t) => {
  install(t);
  const holder: { self?: { cancel(): void } } = {};
  const v = await group(async (g) => {
    holder.self = g.spawn(async () => {
      await checkpoint();
      holder.self!.cancel();
      await checkpoint();
      return 'unreachable';
    });
    return 42;
  });
  assert.equal(v, 42);
  assertNoTasks();
});

test('rule 4: cancelling an outer scope cancels everything inside; the group rejects CancelledError, the scope absorbs it', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  let handle: CancelScope | undefined;
  const p = scope(async (s) => {
    handle = s;
    await group(async (g) => {
      g.spawn(async () => {
        try {
          await sleep(1000);
        } catch (e) {
          log.push(`child:${codeOf(e)}`);
          throw e;
        }
      });
      await sleep(1000);
    }).catch((e: { name: string; code: string }) => {
      log.push(`group:${e.name}:${e.code}`);
      throw e;
    });
    log.push('not reached');
    return 'value';
  });
  await clock.advance(10);
  handle!.cancel();
  assert.equal(await p, undefined);
  assert.deepEqual(log, ['child:LOOPWISE_CANCELLED', 'group:CancelledError:LOOPWISE_CANCELLED']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('rule 4: at each kind of boundary: moveOnAfter resolves undefined, timeout throws TimeoutError, a task ends cancelled', async (t) => {
  const clock = install(t);
  const inner = () =>
    group(async (g) => {
      g.spawn(() => sleep(1000));
      await sleep(1000);
    });
  const moved = moveOnAfter(10, inner);
  const timed = timeout(10, inner).catch((e: { name: string; code: string; ms: number }) => `${e.name}:${e.code}:${e.ms}`);
  const task = spawn(inner, { name: 'outer-task' });
  const joined = task.then(
    () => 'fulfilled',
    (e: { name: string; code: string; reason: unknown }) => `${e.name}:${e.code}:${String(e.reason)}`,
  );
  await clock.advance(5);
  task.cancel('stop');
  await clock.advance(5);
  assert.equal(await moved, undefined);
  assert.equal(await timed, 'TimeoutError:LOOPWISE_TIMEOUT:10');
  assert.equal(await joined, 'CancelledError:LOOPWISE_CANCELLED:stop');
  assert.equal(task.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('rule 5: an inner timeout firing inside an outer one that has not fired is caught by the inner only', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(100, async () => {
    await timeout(10, () => sleep(50)).catch((e: { name: string; ms: number }) => log.push(`inner:${e.name}:${e.ms}`));
    await sleep(20);
    log.push('outer body continues');
    return 'outer value';
  });
  await clock.advance(30);
  assert.equal(await p, 'outer value');
  assert.deepEqual(log, ['inner:TimeoutError:10', 'outer body continues']);
  assertNoTasks();
});

test('rule 5: and vice versa: an outer timeout firing is a CancelledError inside the inner, a TimeoutError only at the outer', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(10, async () => {
    try {
      await timeout(100, () => sleep(50));
    } catch (e) {
      log.push(`inner saw:${(e as Error).name}`);
      throw e;
    }
  }).catch((e: { name: string; code: string; ms: number }) => `${e.name}:${e.code}:${e.ms}`);
  await clock.advance(10);
  assert.equal(await p, 'TimeoutError:LOOPWISE_TIMEOUT:10');
  assert.deepEqual(log, ['inner saw:CancelledError']);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('rule 5: inner moveOnAfter inside an outer timeout: each absorbs only its own firing', async (t) => {
  const clock = install(t);
  const p = timeout(100, async () => {
    const a = await moveOnAfter(10, async () => {
      await sleep(20);
      return 'late';
    });
    const b = await moveOnAfter(200, async () => {
      await sleep(500);
      return 'never';
    });
    return [a, b];
  }).catch((e: { name: string; ms: number }) => `${e.name}:${e.ms}`);
  await clock.advance(100);
  assert.equal(await p, 'TimeoutError:100');
  assertNoTasks();
});

test('rule 6: a body that finishes without reaching a checkpoint after its deadline returns its value', async (t) => {
  const clock = install(t);
  const f = foreign<string>();
  let settled = false;
  const p = timeout(10, async () => {
    const v = await f.promise; // a foreign promise: not a checkpoint
    return `body:${v}`;
  });
  void p.finally(() => (settled = true)).catch(() => {});
  await clock.advance(10);
  await clock.advance(1000);
  assert.equal(settled, false, 'the timeout waits for a body that ignores the cancellation');
  f.resolve('late');
  assert.equal(await p, 'body:late', 'no TimeoutError is invented');
  // The same with a synchronous body and a zero budget, and for moveOnAfter and deadline.
  assert.equal(await timeout(0, () => 'sync'), 'sync');
  assert.equal(await moveOnAfter(0, () => 'sync'), 'sync');
  assert.equal(await deadline(clock.now() - 5, () => 'sync'), 'sync');
  assertNoTasks();
});

test('rule 6: once such a body does reach a checkpoint, the timeout fires', async (t) => {
  const clock = install(t);
  const f = foreign<void>();
  const p = timeout(10, async () => {
    await f.promise;
    await checkpoint();
    return 'unreachable';
  }).catch((e: { code: string }) => e.code);
  await clock.advance(10);
  f.resolve();
  assert.equal(await p, 'LOOPWISE_TIMEOUT');
});

test('rule 7: shield protects its body from outer cancellation; once it returns, the next checkpoint sees it', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = timeout(10, async () => {
    const v = await shield(async () => {
      await sleep(50);
      log.push('shield body done');
      return 'shielded';
    });
    log.push(`after shield:${v}`);
    try {
      await checkpoint();
      log.push('not reached');
    } catch (e) {
      log.push(`next checkpoint:${codeOf(e)}`);
      throw e;
    }
  }).catch((e: { code: string }) => log.push(`timeout:${e.code}`));
  await clock.advance(10);
  assert.deepEqual(log, []);
  await clock.advance(39);
  assert.deepEqual(log, []);
  await clock.advance(1);
  await p;
  assert.deepEqual(log, ['shield body done', 'after shield:shielded', 'next checkpoint:LOOPWISE_CANCELLED', 'timeout:LOOPWISE_TIMEOUT']);
  assertNoTasks();
});

test('rule 8: finally blocks run exactly once on every path, and nothing is left behind', async (t) => {
  const clock = install(t);
  const before = activeResources();
  const runs = new Map<string, number>();
  const signals: AbortSignal[] = [];
  const guarded = (label: string, body: () => Promise<unknown>) => async () => {
    try {
      return await body();
    } finally {
      runs.set(label, (runs.get(label) ?? 0) + 1);
    }
  };
  const fulfil = spawn(guarded('fulfil', async () => sleep(1)));
  const reject = spawn(
    guarded('reject', async () => {
      await sleep(1);
      throw new Error('x');
    }),
  );
  const rejectSeen = reject.catch(() => {}); // observed at once: an unobserved detached failure is reported
  const cancelled = spawn(
    guarded('task.cancel', async () => {
      await sleep(1000);
    }),
  );
  signals.push(cancelled.signal);
  const timedOut = timeout(
    5,
    guarded('timeout', async () => {
      await sleep(1000);
    }),
  ).catch(() => {});
  const moved = moveOnAfter(5, guarded('moveOnAfter', () => sleep(1000)));
  const scoped = scope((s) => {
    signals.push(s.signal);
    return guarded('scope', async () => {
      await sleep(2);
      s.cancel();
      await sleep(1000);
    })();
  });
  const grouped = group((g) => {
    signals.push(g.signal);
    g.spawn(guarded('group sibling', () => sleep(1000)));
    g.spawn(
      guarded('group failing child', async () => {
        await sleep(3);
        throw new Error('y');
      }),
    );
    return guarded('group body', () => sleep(1000))();
  }).catch(() => {});
  const cleanup = spawn(
    guarded('cleanup after cancel', async () => {
      try {
        await sleep(1000);
      } finally {
        await shield(() => sleep(10));
      }
    }),
  );
  await clock.advance(2);
  cancelled.cancel();
  cleanup.cancel();
  await clock.advance(100);
  await Promise.allSettled([fulfil, rejectSeen, cancelled, timedOut, moved, scoped, grouped, cleanup]);
  assert.deepEqual(Object.fromEntries([...runs].sort()), {
    'cleanup after cancel': 1,
    fulfil: 1,
    'group body': 1,
    'group failing child': 1,
    'group sibling': 1,
    moveOnAfter: 1,
    reject: 1,
    scope: 1,
    'task.cancel': 1,
    timeout: 1,
  });
  assert.equal(clock.pendingTimers, 0, 'no timer left');
  for (const s of signals) assert.equal(getEventListeners(s, 'abort').length, 0, 'no abort listener left');
  assertNoTasks();
  assertNoNewTimers(before);
});

test('rule 9: spawn on a group that has finished throws LOOPWISE_GROUP_CLOSED, synchronously', async () => {
  let leaked: Group | undefined;
  await group((g) => {
    leaked = g;
  });
  assert.throws(() => leaked!.spawn(() => 1), { name: 'GroupClosedError', code: 'LOOPWISE_GROUP_CLOSED' });
  // Also after a failed group.
  await group((g) => {
    leaked = g;
    throw new Error('x');
  }).catch(() => {});
  assert.throws(() => leaked!.spawn(() => 1), { code: 'LOOPWISE_GROUP_CLOSED' });
  assertNoTasks();
});

test('rule 9: a child spawned while the group is cancelling starts cancelled', async (t) => {
  const clock = install(t);
  const log: string[] = [];
  const p = group(async (g) => {
    g.spawn(async () => {
      await sleep(10);
      throw new Error('trigger');
    });
    try {
      await sleep(1000);
    } catch {
      const late = g.spawn(async (signal) => {
        log.push(`late started, aborted=${signal.aborted}`);
        try {
          await checkpoint();
          log.push('late passed its checkpoint');
        } catch (e) {
          log.push(`late:${codeOf(e)}`);
          throw e;
        }
      });
      await shield(() => late.catch(() => {}));
      log.push(`late state:${late.state}`);
    }
  }).catch((e: Error) => e.message);
  await clock.advance(10);
  assert.equal(await p, 'trigger', 'the late child is not an extra failure');
  assert.deepEqual(log, ['late started, aborted=true', 'late:LOOPWISE_CANCELLED', 'late state:cancelled']);
  assertNoTasks();
});

test('rule 10: an unobserved failure of a detached spawn task reaches unhandledRejection (child process)', () => {
  const r = spawnSync(process.execPath, [fixture, 'detached'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [['unhandledRejection', 'Error', 'detached boom']]);
  // With no handler, Node's default applies, as for an unawaited rejected promise: the process fails.
  const d = spawnSync(process.execPath, [fixture, 'detached', '--no-handler'], { encoding: 'utf8' });
  assert.equal(d.status, 1);
  assert.match(d.stderr, /detached boom/);
});

test('rule 11: wrong arguments throw TypeError/RangeError synchronously, naming the argument', () => {
  const fn = () => undefined;
  const type = (re: RegExp) => ({ name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: re });
  const range = (re: RegExp) => ({ name: 'RangeError', code: 'LOOPWISE_INVALID_ARG_VALUE', message: re });
  assert.throws(() => sleep(-1), range(/^ms must be a number >= 0, got -1$/));
  assert.throws(() => sleep(NaN), range(/^ms .*got NaN$/));
  assert.throws(() => sleep('5' as unknown as number), type(/^ms .*number.*got "5"$/));
  assert.throws(() => timeout(-1, fn), range(/^ms .*got -1$/));
  assert.throws(() => timeout(NaN, fn), range(/^ms .*got NaN$/));
  assert.throws(() => timeout(10, 42 as unknown as () => void), type(/^body must be a function, got 42$/));
  assert.throws(() => moveOnAfter(-5, fn), range(/^ms .*got -5$/));
  assert.throws(() => moveOnAfter(5, null as unknown as () => void), type(/^body must be a function, got null$/));
  assert.throws(() => deadline('soon' as unknown as number, fn), type(/^at .*got "soon"$/));
  assert.throws(() => deadline(NaN, fn), range(/^at .*NaN$/));
  assert.throws(() => deadline(0, 'f' as unknown as () => void), type(/^body must be a function/));
  assert.throws(() => spawn(42 as unknown as () => void), type(/^fn must be a function, got 42$/));
  assert.throws(() => spawn(fn, { name: 5 as unknown as string }), type(/^opts\.name must be a string, got 5$/));
  assert.throws(() => spawn(fn, 'x' as unknown as { name: string }), type(/^opts must be an object/));
  assert.throws(() => group(42 as unknown as () => void), type(/^body must be a function, got 42$/));
  assert.throws(() => scope(undefined as unknown as () => void), type(/^body must be a function, got undefined$/));
  assert.throws(() => shield({} as unknown as () => void), type(/^body must be a function, got an object$|^body must be a function, got an instance of Object$/));
  assert.throws(() => cancellable(42 as unknown as Promise<number>), type(/^p must be .*got 42$/));
  assert.throws(() => cancellable(Promise.resolve(1), { dispose: 1 as unknown as () => void }), type(/^opts\.dispose must be a function, got 1$/));
  assert.throws(() => configure({ debug: 'yes' as unknown as boolean }), type(/^opts\.debug must be a boolean/));
  assert.throws(() => configure({ cancelWarningMs: -1 }), range(/^opts\.cancelWarningMs .*got -1$/));
  assert.throws(() => new Semaphore(0), range(/^permits .*got 0$/));
  assert.throws(() => new Semaphore(1.5), range(/^permits .*got 1\.5$/));
  assert.throws(() => new Queue({ maxsize: -1 }), range(/^opts\.maxsize .*got -1$/));
  // Infinity is a valid duration for sleep/timeout/moveOnAfter: it means "no deadline".
  const ok = [timeout(Infinity, () => 1), moveOnAfter(Infinity, () => 2)];
  assert.equal(ok.length, 2);
  return Promise.all(ok).then((v) => assert.deepEqual(v, [1, 2]));
});

test('rule 11: group.spawn checks its arguments synchronously too', async () => {
  await group((g) => {
    assert.throws(() => g.spawn(42 as unknown as () => void), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^fn must be a function, got 42$/ });
    assert.throws(() => g.spawn(() => 1, { name: {} as unknown as string }), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^opts\.name/ });
  });
  assertNoTasks();
});

test('rule 11: a bad argument inside a task surfaces there as the same synchronous throw', async () => {
  const t = spawn(async () => {
    try {
      // Not awaited: the throw is synchronous, so no floating rejected promise.
      void sleep(-1);
      return 'no throw';
    } catch (e) {
      return `${(e as Error).name}:${codeOf(e)}`;
    }
  });
  assert.equal(await t, 'RangeError:LOOPWISE_INVALID_ARG_VALUE');
  assertNoTasks();
});
