/**
 * cancellable(): a foreign promise made a checkpoint. Cancellation stops the
 * wait at once; a value arriving late goes to `dispose`; a late rejection is
 * observed; the function form hands the operation the scope's signal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cancellable, currentSignal, scope, spawn, timeout } from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { assertNoTasks } from '../helpers/leaks.js';

const fixture = fileURLToPath(new URL('../../../test/fixtures/core/unhandled.mjs', import.meta.url));

function codeOf(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending callback and reported rejection of this turn run. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

test('resolves the value of the promise when nothing cancels it (in a task and at the root)', async () => {
  const d = deferred<string>();
  const task = spawn(() => cancellable(d.promise));
  d.resolve('value');
  assert.equal(await task, 'value');
  assert.equal(await cancellable(Promise.resolve('root')), 'root');
  assertNoTasks();
});

test('passes the promise’s rejection through unchanged', async () => {
  const err = new Error('db down');
  const task = spawn(() => cancellable(Promise.reject(err)));
  assert.equal(await task.catch((e: unknown) => e), err);
  assertNoTasks();
});

test('accepts any thenable', async () => {
  const thenable: PromiseLike<number> = {
    then(onfulfilled) {
      return Promise.resolve(onfulfilled ? onfulfilled(5) : (5 as never));
    },
  };
  const task = spawn(() => cancellable(thenable));
  assert.equal(await task, 5);
});

test('cancellation stops the wait at once (same tick), without waiting for the promise', async () => {
  const d = deferred<string>();
  const task = spawn(() => cancellable(d.promise));
  await turns(1);
  task.cancel();
  const r = await Promise.race([
    task.then(
      () => 'fulfilled',
      (e: unknown) => codeOf(e),
    ),
    new Promise((res) => setImmediate(() => res('macrotask first'))),
  ]);
  assert.equal(r, 'LOOPWISE_CANCELLED');
  assert.equal(task.state, 'cancelled');
  d.resolve('too late');
  assertNoTasks();
});

test('a value that arrives after cancellation goes to dispose, exactly once', async () => {
  const d = deferred<{ id: number }>();
  const disposed: unknown[] = [];
  const client = { id: 1 };
  const task = spawn(() => cancellable(d.promise, { dispose: (c) => void disposed.push(c) }));
  await turns(1);
  task.cancel();
  await task.catch(() => {});
  assert.deepEqual(disposed, []);
  d.resolve(client);
  await turns();
  assert.equal(disposed.length, 1);
  assert.equal(disposed[0], client);
  assertNoTasks();
});

test('a value that arrives in time is returned, never disposed', async () => {
  const disposed: unknown[] = [];
  const task = spawn(() => cancellable(Promise.resolve('in time'), { dispose: (v) => void disposed.push(v) }));
  assert.equal(await task, 'in time');
  task.cancel();
  await turns();
  assert.deepEqual(disposed, []);
});

test('a promise handed to cancellable in an already cancelled scope: rejects at once, its value is disposed when it comes', async () => {
  const d = deferred<string>();
  const disposed: string[] = [];
  const r = await scope(async (s) => {
    s.cancel();
    return cancellable(d.promise, { dispose: (v) => void disposed.push(v) }).catch((e: unknown) => `rejected:${codeOf(e)}`);
  });
  assert.equal(r, 'rejected:LOOPWISE_CANCELLED');
  d.resolve('orphan');
  await turns();
  assert.deepEqual(disposed, ['orphan']);
});

test('a late rejection is observed: no unhandledRejection, dispose not called', async (t) => {
  const seen: unknown[] = [];
  const onUnhandled = (e: unknown) => seen.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const d = deferred<string>();
  const disposed: string[] = [];
  const task = spawn(() => cancellable(d.promise, { dispose: (v) => void disposed.push(v) }));
  await turns(1);
  task.cancel();
  await task.catch(() => {});
  d.reject(new Error('late failure'));
  await turns();
  // And the already-cancelled path.
  const d2 = deferred<string>();
  await scope(async (s) => {
    s.cancel();
    await cancellable(d2.promise).catch(() => {});
  });
  d2.reject(new Error('late failure 2'));
  await turns();
  assert.deepEqual(seen, []);
  assert.deepEqual(disposed, []);
  assertNoTasks();
});

test('a late rejection does not reach unhandledRejection (child process)', () => {
  const r = spawnSync(process.execPath, [fixture, 'late-rejection'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [['cancellable', 'LOOPWISE_CANCELLED']]);
});

test('a dispose that throws is reported as an unhandledRejection with its error, and the wait still rejects CancelledError', () => {
  const r = spawnSync(process.execPath, [fixture, 'dispose-throws'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    ['cancellable', 'LOOPWISE_CANCELLED'],
    ['dispose', 'late value'],
    ['unhandledRejection', 'Error', 'dispose failed'],
  ]);
});

test('an async dispose that rejects is reported the same way', () => {
  const r = spawnSync(process.execPath, [fixture, 'dispose-rejects'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    ['cancellable', 'LOOPWISE_CANCELLED'],
    ['dispose', 'late value'],
    ['unhandledRejection', 'Error', 'async dispose failed'],
  ]);
});

test('function form: the operation gets the scope’s signal, which aborts with the CancelledError on cancel', async () => {
  let got: AbortSignal | undefined;
  let inside: AbortSignal | undefined;
  const task = spawn(() => {
    inside = currentSignal();
    return cancellable((signal) => {
      got = signal;
      return new Promise<never>(() => {});
    });
  });
  assert.ok(got instanceof AbortSignal);
  assert.equal(got, inside);
  assert.equal(got, task.signal);
  assert.equal(got.aborted, false);
  task.cancel('stop');
  const e = await task.catch((x: unknown) => x);
  assert.equal(got.aborted, true);
  assert.equal(got.reason, e);
  assert.equal((got.reason as { reason: unknown }).reason, 'stop');
  assert.equal(getEventListeners(got, 'abort').length, 0);
  assertNoTasks();
});

test('function form inside a timeout: the signal aborts when the deadline fires', async (t) => {
  const clock = TestClock.install();
  t.after(() => clock.uninstall());
  let aborted: unknown;
  const p = timeout(20, () =>
    cancellable(
      (signal) =>
        new Promise<string>((_, reject) => {
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
            reject(new Error('operation aborted'));
          });
        }),
    ),
  ).catch((e: unknown) => e);
  await clock.advance(20);
  const e = (await p) as { code: string };
  assert.equal(e.code, 'LOOPWISE_TIMEOUT');
  assert.equal((aborted as { reason: unknown }).reason, e);
});

test('function form in an already cancelled scope: the function is not called', async () => {
  let called = false;
  const r = await scope(async (s) => {
    s.cancel();
    return cancellable(async () => {
      called = true;
      return 1;
    }).catch((e: unknown) => codeOf(e));
  });
  assert.equal(r, 'LOOPWISE_CANCELLED');
  assert.equal(called, false);
});

test('function form at the root gets a signal that never aborts', async () => {
  let sig: AbortSignal | undefined;
  const v = await cancellable(async (signal) => {
    sig = signal;
    return 'root';
  });
  assert.equal(v, 'root');
  assert.equal(sig!.aborted, false);
  assert.equal(sig, currentSignal());
});

test('bad arguments throw synchronously', () => {
  assert.throws(() => cancellable(42 as unknown as Promise<number>), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^p must be .*got 42$/ });
  assert.throws(() => cancellable(null as unknown as Promise<number>), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /null/ });
  assert.throws(() => cancellable({ then: 1 } as unknown as Promise<number>), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE' });
  assert.throws(() => cancellable(() => 5 as unknown as Promise<number>), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /got 5$/ });
  assert.throws(() => cancellable(Promise.resolve(1), 'x' as unknown as object), { name: 'TypeError', code: 'LOOPWISE_INVALID_ARG_TYPE', message: /^opts must be an object/ });
  assert.throws(() => cancellable(Promise.resolve(1), { dispose: 'x' as unknown as () => void }), {
    name: 'TypeError',
    code: 'LOOPWISE_INVALID_ARG_TYPE',
    message: /^opts\.dispose must be a function, got "x"$/,
  });
});

test('function form: an operation that throws synchronously rejects the returned promise, as a throwing timeout/scope body does', async () => {
  const boom = new Error('sync in the operation');
  const results = await spawn(async () => {
    const out: string[] = [];
    for (const run of [
      () => cancellable(() => {
        throw boom;
      }),
      () => timeout(1000, () => {
        throw boom;
      }),
    ]) {
      let p: Promise<unknown>;
      try {
        p = run();
      } catch {
        out.push('threw synchronously');
        continue;
      }
      out.push(await p.then(
        () => 'fulfilled',
        (e: unknown) => (e === boom ? 'rejected with the error' : 'rejected with something else'),
      ));
    }
    return out;
  });
  assert.deepEqual(results, ['rejected with the error', 'rejected with the error']);
  assertNoTasks();
});

// The fast path (a native promise, no dispose: the scope's reusable waiter and
// shared reactions) must behave exactly as the general one.

test('concurrent waits in one scope each get their own outcome, whatever order their promises settle in', async () => {
  const a = deferred<string>();
  const b = deferred<string>();
  const c = deferred<string>();
  const boom = new Error('b failed');
  const out = await spawn(async () => {
    const pa = cancellable(a.promise); // takes the scope's reusable waiter
    const pb = cancellable(b.promise); // the general path, while pa waits
    const pc = cancellable(c.promise);
    c.resolve('c');
    b.reject(boom);
    const rc = await pc;
    const rb = await pb.catch((e: unknown) => (e === boom ? 'b rejected' : 'wrong error'));
    a.resolve('a');
    const ra = await pa;
    // The reusable waiter is free again: a later wait reuses it.
    const rd = await cancellable(Promise.resolve('d'));
    const re = await cancellable(Promise.reject(boom)).catch((e: unknown) => (e === boom ? 'e rejected' : 'wrong error'));
    const rf = await cancellable(Promise.resolve('f'));
    return [ra, rb, rc, rd, re, rf];
  });
  assert.deepEqual(out, ['a', 'b rejected', 'c', 'd', 'e rejected', 'f']);
  assertNoTasks();
});

test('a wait cancelled while pending: its late value or rejection changes nothing, and other scopes still wait normally', async (t) => {
  const seen: unknown[] = [];
  const onUnhandled = (e: unknown) => seen.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const d1 = deferred<string>();
  const d2 = deferred<string>();
  const t1 = spawn(() => cancellable(d1.promise));
  const t2 = spawn(() => cancellable(d2.promise));
  await turns(1);
  t1.cancel();
  t2.cancel();
  assert.equal(await t1.catch(codeOf), 'LOOPWISE_CANCELLED');
  assert.equal(await t2.catch(codeOf), 'LOOPWISE_CANCELLED');
  d1.resolve('late');
  d2.reject(new Error('late failure'));
  await turns();
  assert.deepEqual(seen, []);
  // Same scope kind, new scopes: their reusable waiters are their own.
  assert.equal(await spawn(() => cancellable(Promise.resolve('fresh'))), 'fresh');
  const r = await scope(async (s) => {
    const waiting = cancellable(new Promise<string>(() => {}));
    s.cancel();
    return waiting.catch(codeOf);
  });
  assert.equal(r, 'LOOPWISE_CANCELLED');
  assertNoTasks();
});

test('a wait started in a scope that has ended (a callback outliving it) still settles, through the nearest live scope', async () => {
  const d = deferred<string>();
  let later: Promise<string> | undefined;
  const task = spawn(async () => {
    await scope(() => {
      // Runs after the scope has closed, in its async context.
      later = Promise.resolve().then(() => cancellable(d.promise));
    });
    await turns(2);
    d.resolve('value');
    return await later!;
  });
  assert.equal(await task, 'value');
  assertNoTasks();
});
