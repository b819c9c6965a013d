/**
 * Error fidelity across the thread boundary: built-in classes, names,
 * messages, codes, own properties, causes, AggregateError.errors, thrown
 * non-Error values, stacks naming the worker file; values that cannot be
 * cloned.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { WorkerPool } from 'loopwise/workers';
import { assertNoWorkers, closeAfter, fixture, rejection, T } from './helpers.js';

after(assertNoWorkers);

function errorPool(t: Parameters<typeof closeAfter>[0]): WorkerPool {
  const pool = new WorkerPool(fixture('errors.mjs'), { threads: 1 });
  closeAfter(t, pool);
  return pool;
}

test('a thrown TypeError arrives as a TypeError with its message, code and a stack naming the worker file', T, async (t) => {
  const pool = errorPool(t);
  const e = await rejection(pool.run('throwTypeError'));
  assert.equal(e instanceof TypeError, true, `instanceof TypeError, got ${e?.constructor?.name}`);
  assert.equal(e.name, 'TypeError');
  assert.equal(e.message, 'bad type');
  assert.equal(e.code, 'E_BAD_TYPE');
  assert.match(e.stack, /errors\.mjs/);
  assert.match(e.stack, /throwTypeError/);
});

test('a thrown RangeError keeps its class and own properties', T, async (t) => {
  const pool = errorPool(t);
  const e = await rejection(pool.run('throwRangeError'));
  assert.equal(e instanceof RangeError, true);
  assert.equal(e.message, 'out of range');
  assert.equal(e.code, 'E_RANGE');
  assert.equal(e.limit, 10);
});

test('a custom error class arrives as an Error with its custom name, code and nested own properties (sync and async)', T, async (t) => {
  const pool = errorPool(t);
  for (const [fn, message] of [
    ['throwCustom', 'custom failure'],
    ['rejectCustom', 'async custom failure'],
  ] as const) {
    const e = await rejection(pool.run(fn));
    assert.equal(e instanceof Error, true);
    assert.equal(e.name, 'MyError');
    assert.equal(e.message, message);
    assert.equal(e.code, 'E_MINE');
    assert.deepEqual(e.details, { nested: { list: [1, 'two', { three: 3 }] }, at: new Date(0) });
    assert.match(e.stack, /errors\.mjs/);
  }
});

test('cause is carried, itself rebuilt (nested error with its class and code, or a plain value)', T, async (t) => {
  const pool = errorPool(t);
  const e = await rejection(pool.run('throwWithCause'));
  assert.equal(e.message, 'outer problem');
  assert.equal(e.cause instanceof RangeError, true);
  assert.equal(e.cause.message, 'inner problem');
  assert.equal(e.cause.code, 'E_INNER');
  assert.match(e.cause.stack, /errors\.mjs/);
  const v = await rejection(pool.run('throwWithValueCause'));
  assert.deepEqual(v.cause, { why: 'a plain object' });
});

test('an AggregateError keeps its errors (classes, codes, non-Error members)', T, async (t) => {
  const pool = errorPool(t);
  const e = await rejection(pool.run('throwAggregate'));
  assert.equal(e instanceof AggregateError, true);
  assert.equal(e.message, 'several');
  assert.equal(e.errors.length, 3);
  assert.equal(e.errors[0] instanceof TypeError, true);
  assert.equal(e.errors[0].message, 'first');
  assert.equal(e.errors[1].code, 'E_SECOND');
  assert.equal(e.errors[2], 'third');
});

test('a thrown string, number or plain object arrives as itself', T, async (t) => {
  const pool = errorPool(t);
  assert.equal(await rejection(pool.run('throwString')), 'a plain string');
  assert.equal(await rejection(pool.run('throwNumber')), 42);
  assert.deepEqual(await rejection(pool.run('throwObject')), { code: 'E_OBJ', detail: [1, 2] });
});

test('properties that cannot be cloned (a function) are turned into strings, the rest is kept', T, async (t) => {
  const pool = errorPool(t);
  const e = await rejection(pool.run('throwNonCloneable'));
  assert.equal(e instanceof Error, true);
  assert.equal(e.message, 'has a function');
  assert.equal(e.code, 'E_FN');
  assert.equal(e.fine, 'kept');
  assert.equal(typeof e.callback, 'string');
  assert.match(e.callback, /callbackFn/);
});

test('a return value that cannot be cloned rejects that job with a DataCloneError; the pool works on', T, async (t) => {
  const pool = errorPool(t);
  const e = await rejection(pool.run('returnFunction'));
  assert.equal(e.name, 'DataCloneError');
  assert.match(e.message, /could not be cloned/);
  assert.equal(await pool.run('add', [2, 3]), 5);
  const st = pool.stats();
  assert.equal(st.threads, 1);
  assert.equal(st.failed, 1);
  assert.equal(st.completed, 1);
});

test('a failed job does not disturb concurrent ones', T, async (t) => {
  const pool = new WorkerPool(fixture('errors.mjs'), { threads: 2 });
  closeAfter(t, pool);
  const out = await Promise.allSettled([pool.run('add', [1, 1]), pool.run('throwTypeError'), pool.run('add', [2, 2]), pool.run('throwString'), pool.run('add', [3, 3])]);
  assert.deepEqual(
    out.map((o) => o.status),
    ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(
    out.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<number>).value),
    [2, 4, 6],
  );
  assert.equal(pool.stats().threads, 2);
});
